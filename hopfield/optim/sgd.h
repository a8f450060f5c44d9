// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay: torch.optim.SGD
// (1.13 / 2.x single-tensor path), per element:
//   d = grad (negated if maximize);  d += weight_decay * p
//   momentum != 0:  b = d on the first step, else b = momentum * b + (1 - dampening) * d
//                   d = nesterov ? d + momentum * b : b
//   p -= lr * d
// reference: https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
#pragma once

#include "hopfield/engine/arg.h"
#include "hopfield/optim/optimizer.h"

namespace hf {

struct SGDOptions {
  static constexpr const char* kName = "SGD";
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit from a learning rate, as in libtorch
  void validate(const char* where) const;
  HF_ARG(double, lr);
  HF_ARG(double, momentum) = 0;
  HF_ARG(double, dampening) = 0;
  HF_ARG(double, weight_decay) = 0;
  HF_ARG(bool, nesterov) = false;
  HF_ARG(bool, maximize) = false;
};

class SGD : public OptimizerWith<SGDOptions> {
 public:
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults) : OptimizerWith(std::move(groups), defaults) {}
  SGD(const std::vector<Tensor>& params, const SGDOptions& defaults) : OptimizerWith(params, defaults) {}
  SGD(const Module& module, const SGDOptions& defaults) : OptimizerWith(module, defaults) {}
  void step() override;
  std::string name() const override { return "SGD"; }
};

}  // namespace hf
