// Optimizer base: parameter groups (each with its own options), zero_grad / step, per-parameter state
// keyed by position (the n-th parameter over all groups, never by address, so a state saved by one
// process loads into a freshly built model), and state export/import for checkpoints.
//
//   SGD opt(model, SGDOptions(0.1).momentum(0.9));   // a Module (its trainable parameters) or a std::vector<Tensor>
//   SGD opt({trainable_parameters(model)}, ...);     // or ParamGroups, each may override lr / weight_decay
//   opt.add_param_group(ParamGroup{{head_w, head_b}}, SGDOptions(0.01));   // a group with its own options
//   for (...) { opt.zero_grad(); loss.backward(); opt.step(); }
//
// Concrete optimizers (optim/sgd.h, optim/adam.h) derive from OptimizerWith<Options>, which stores one
// Options value per group; the base class sees only lr and weight_decay (what schedulers and
// checkpoints touch).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hopfield/engine/check.h"
#include "hopfield/engine/tensor.h"

namespace hf {

class Module;

// Parameters optimized together. names are optional (empty when built from plain tensors); lr and
// weight_decay, when set, override the optimizer's defaults for this group.
struct ParamGroup {
  std::vector<Tensor> params;
  std::vector<std::string> names;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

// The parameters of `module` that require a gradient, with their dotted names, as one group.
ParamGroup trainable_parameters(const Module& module);

// Per-parameter state: named tensors ("exp_avg", "momentum_buffer", "step", ...).
using ParamState = std::map<std::string, Tensor>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Drops every parameter's gradient (like torch's set_to_none=True).
  void zero_grad();
  // One update of every parameter that has a gradient (parameters without one are skipped, as in torch).
  virtual void step() = 0;
  virtual std::string name() const = 0;

  std::size_t num_groups() const { return groups_.size(); }
  const ParamGroup& group(std::size_t g) const;
  std::size_t num_params() const;  // over all groups
  virtual double lr(std::size_t g = 0) const = 0;
  virtual void set_lr(std::size_t g, double lr) = 0;
  virtual double weight_decay(std::size_t g = 0) const = 0;
  virtual void set_weight_decay(std::size_t g, double wd) = 0;
  void set_lr(double lr);  // every group

  // The lr a scheduler started from (torch's group["initial_lr"]): set by the first scheduler built on
  // this optimizer, kept by later ones (so chained schedules share one base).
  std::optional<double> initial_lr(std::size_t g) const { return initial_lr_.at(g); }
  void set_initial_lr(std::size_t g, double lr) { initial_lr_.at(g) = lr; }

  // The state of the parameter at flat position i (empty before its first step).
  const ParamState& state(std::size_t i) const { return state_.at(i); }

  // Checkpoint form:
  //   "num_params" (Int64 0-d), "group.<g>.lr", "group.<g>.weight_decay", "group.<g>.initial_lr" (if set),
  //   "state.<i>.<key>" for every per-parameter state tensor.
  // Every value is a tensor so the whole thing fits one .npz (see optim/checkpoint.h).
  std::map<std::string, Tensor> state_dict() const;
  // Checks the parameter count and every state tensor's shape against this optimizer's parameters
  // before changing anything; throws naming the key.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  Optimizer() = default;
  // Appends a group (its parameters must be distinct leaves not already in another group). `who` names
  // the optimizer in errors (name() is not callable while the derived class is being constructed).
  void add_group(ParamGroup group, const std::string& who);
  // Visits every parameter that has a gradient: f(group index, flat index, param, grad, state).
  template <class F>
  void for_each_with_grad(F&& f) {
    std::size_t flat = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g)
      for (Tensor& p : groups_[g].params) {
        Tensor grad = p.grad();
        if (grad.defined()) {
          HF_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(), (name() + ".step").c_str(),
                   "gradient " << shape_str(grad.shape()) << " " << dtype_name(grad.dtype()) << " does not match parameter "
                               << flat << " " << shape_str(p.shape()) << " " << dtype_name(p.dtype()));
          f(g, flat, p, grad, state_[flat]);
        }
        ++flat;
      }
  }

  std::vector<ParamGroup> groups_;
  std::vector<ParamState> state_;
  std::vector<std::optional<double>> initial_lr_;
};

// Stores one Options value per group. Options must have lr(), weight_decay() (getter and setter) and
// validate(where) (throws hf::Error naming the bad option and its value).
template <class Options>
class OptimizerWith : public Optimizer {
 public:
  const Options& options(std::size_t g = 0) const { return options_.at(g); }
  Options& options(std::size_t g = 0) { return options_.at(g); }
  double lr(std::size_t g = 0) const override { return options_.at(g).lr(); }
  void set_lr(std::size_t g, double lr) override { options_.at(g).lr(lr); }
  using Optimizer::set_lr;
  double weight_decay(std::size_t g = 0) const override { return options_.at(g).weight_decay(); }
  void set_weight_decay(std::size_t g, double wd) override { options_.at(g).weight_decay(wd); }

  // A group with fully custom options (validated).
  void add_param_group(ParamGroup group, Options options) {
    if (group.lr) options.lr(*group.lr);
    if (group.weight_decay) options.weight_decay(*group.weight_decay);
    options.validate(Options::kName);
    add_group(std::move(group), Options::kName);
    options_.push_back(options);
  }

 protected:
  OptimizerWith(std::vector<ParamGroup> groups, const Options& defaults) {
    defaults.validate(Options::kName);
    for (auto& g : groups) add_param_group(std::move(g), defaults);
  }
  OptimizerWith(const std::vector<Tensor>& params, const Options& defaults)
      : OptimizerWith(std::vector<ParamGroup>{ParamGroup{params, {}, {}, {}}}, defaults) {}
  OptimizerWith(const Module& module, const Options& defaults)
      : OptimizerWith(std::vector<ParamGroup>{trainable_parameters(module)}, defaults) {}

  std::vector<Options> options_;
};

namespace detail {
// A 0-d float64 tensor holding v / the value of a 0-d tensor under `key` (throws naming where and key).
Tensor scalar64(double v);
double scalar_at(const std::map<std::string, Tensor>& m, const std::string& key, const std::string& where);
}  // namespace detail

}  // namespace hf
