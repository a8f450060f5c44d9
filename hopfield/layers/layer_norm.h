// LayerNorm over the last axis (torch.nn.LayerNorm(normalized_size)):
//
//   y = (x - mean) / sqrt(var + eps) * weight + bias,  mean/var (biased) over the last axis
//   x (..., normalized_size) -> y (same shape);  weight, bias (normalized_size), absent without affine
#pragma once

#include <cstddef>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/layers/module.h"

namespace hf {

struct LayerNormOptions {
  explicit LayerNormOptions(std::size_t normalized_size) : normalized_size_(normalized_size) {}
  HF_ARG(std::size_t, normalized_size);
  HF_ARG(double, eps) = 1e-5;
  HF_ARG(bool, elementwise_affine) = true;
};

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(const LayerNormOptions& options);

  Tensor forward(const Tensor& x) override;
  void reset_parameters();  // weight = 1, bias = 0 (torch)

  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  const LayerNormOptions& options() const { return options_; }

  Tensor weight;  // (normalized_size), undefined without elementwise_affine
  Tensor bias;    // (normalized_size), undefined without elementwise_affine

 private:
  LayerNormOptions options_;
};

}  // namespace hf
