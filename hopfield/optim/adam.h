// Adam and AdamW, exactly torch.optim's single-tensor formulas (1.13 / 2.x), per element, t = step (from 1):
//   g = grad (negated if maximize)
//   Adam:  g += weight_decay * p                (L2, coupled into the moments)
//   AdamW: p *= 1 - lr * weight_decay           (decoupled, before the update)
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
//   amsgrad: vmax = max(vmax, v) and vmax replaces v below
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps;  p -= (lr / (1 - beta1^t)) * m / denom
// (eps sits outside the bias-corrected root, unlike some older C++ ports.)
// reference: https://pytorch.org/docs/stable/generated/torch.optim.Adam.html, .../torch.optim.AdamW.html
#pragma once

#include <utility>

#include "hopfield/engine/arg.h"
#include "hopfield/optim/optimizer.h"

namespace hf {

using Betas = std::pair<double, double>;  // (beta1, beta2)

struct AdamOptions {
  static constexpr const char* kName = "Adam";
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit from a learning rate
  void validate(const char* where) const;
  HF_ARG(double, lr);
  HF_ARG(Betas, betas) = {0.9, 0.999};
  HF_ARG(double, eps) = 1e-8;
  HF_ARG(double, weight_decay) = 0;
  HF_ARG(bool, amsgrad) = false;
  HF_ARG(bool, maximize) = false;
};

// Same fields; torch's AdamW default weight_decay is 1e-2.
struct AdamWOptions {
  static constexpr const char* kName = "AdamW";
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT
  void validate(const char* where) const;
  HF_ARG(double, lr);
  HF_ARG(Betas, betas) = {0.9, 0.999};
  HF_ARG(double, eps) = 1e-8;
  HF_ARG(double, weight_decay) = 1e-2;
  HF_ARG(bool, amsgrad) = false;
  HF_ARG(bool, maximize) = false;
};

class Adam : public OptimizerWith<AdamOptions> {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults) : OptimizerWith(std::move(groups), defaults) {}
  Adam(const std::vector<Tensor>& params, const AdamOptions& defaults) : OptimizerWith(params, defaults) {}
  Adam(const Module& module, const AdamOptions& defaults) : OptimizerWith(module, defaults) {}
  void step() override;
  std::string name() const override { return "Adam"; }
};

class AdamW : public OptimizerWith<AdamWOptions> {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults) : OptimizerWith(std::move(groups), defaults) {}
  AdamW(const std::vector<Tensor>& params, const AdamWOptions& defaults) : OptimizerWith(params, defaults) {}
  AdamW(const Module& module, const AdamWOptions& defaults) : OptimizerWith(module, defaults) {}
  void step() override;
  std::string name() const override { return "AdamW"; }
};

}  // namespace hf
