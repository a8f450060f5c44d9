// The module system: parameters, buffers and child modules registered by name, so optimizers,
// save/load and the reference tests need no bookkeeping (libtorch's register_parameter /
// named_parameters, without the Impl/Holder double class: modules are plain classes held by shared_ptr).
//
//   class Linear : public UnaryModule {
//     Linear(LinearOptions o) { weight = register_parameter("weight", empty({out, in})); ... }
//     Tensor forward(const Tensor& x) override;
//     Tensor weight, bias;
//   };
//
// The Tensor members and the registry share one TensorImpl, so in-place updates by an optimizer,
// load_state_dict and to(dtype) are seen through both.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;

  // Dotted names through children ("association_core.in_proj_weight"), in registration order.
  NamedTensors named_parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;  // all of them, trainable or not
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }

  // Parameters and buffers by dotted name.
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in (casting dtype). strict: a missing or unknown key throws naming it; a shape mismatch
  // always throws naming the key and both shapes.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);
  // NumPy-readable .npz, one array per dotted name; written to a temporary file and renamed.
  void save(const std::string& path) const;
  void load(const std::string& path, bool strict = true);

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();
  std::size_t num_parameters(bool trainable_only = false) const;
  // Converts every parameter and buffer in place (float32 <-> float64); gradients are dropped.
  void to(Dtype dtype);
  Dtype dtype() const;  // of the first parameter (Float32 for a module without parameters)

  virtual std::string name() const { return "Module"; }
  virtual std::string extra_repr() const { return ""; }
  std::string pretty_print(int indent = 0) const;  // like Python's repr of an nn.Module

 protected:
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  // Replaces a registered parameter's tensor (same name), e.g. in reset().
  void replace_parameter(const std::string& name, const Tensor& t);

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module with one tensor in and one out (what Sequential chains).
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace hf
