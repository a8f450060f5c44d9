// Sequential (torch.nn.Sequential): UnaryModules applied in order, registered as children "0", "1", ...
// so their parameters appear as "0.weight", "2.bias", ... exactly like torch's state-dict keys.
//
//   auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
//       std::make_shared<Linear>(LinearOptions(4, 8)), std::make_shared<Tanh>(),
//       std::make_shared<Linear>(LinearOptions(8, 2))});
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/layers/module.h"

namespace hf {

class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(const std::vector<std::shared_ptr<UnaryModule>>& modules);

  // Appends under the next index as name ("0", "1", ...), or under an explicit name.
  void push_back(std::shared_ptr<UnaryModule> m);
  void push_back(const std::string& name, std::shared_ptr<UnaryModule> m);

  Tensor forward(const Tensor& x) override;  // the empty Sequential is the identity, like torch

  std::size_t size() const { return modules_.size(); }
  const std::shared_ptr<UnaryModule>& operator[](std::size_t i) const;
  // The i-th module as its concrete type; throws when it is of another type.
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!m) throw_wrong_type(i);
    return m;
  }

  std::string name() const override { return "Sequential"; }

 private:
  [[noreturn]] void throw_wrong_type(std::size_t i) const;
  std::vector<std::shared_ptr<UnaryModule>> modules_;
};

}  // namespace hf
