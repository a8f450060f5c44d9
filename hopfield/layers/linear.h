// Linear: y = x W^T + b over the last axis (torch.nn.Linear).
//
//   x (..., in_features) -> y (..., out_features);  weight (out_features, in_features), bias (out_features)
//
// The product runs as one gemm with W transposed by flag (matmul_nt), the batch axes folded into rows.
#pragma once

#include <cstddef>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/module.h"

namespace hf {

struct LinearOptions {
  LinearOptions(std::size_t in_features, std::size_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  HF_ARG(std::size_t, in_features);
  HF_ARG(std::size_t, out_features);
  HF_ARG(bool, bias) = true;
};

class Linear : public UnaryModule {
 public:
  // Parameters drawn from gen (reset_parameters(gen)); init::deferred: zeros, the owner draws them.
  explicit Linear(const LinearOptions& options, Generator& gen = default_generator());
  Linear(const LinearOptions& options, init::Deferred);

  Tensor forward(const Tensor& x) override;
  // torch's reset_parameters: weight kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)),
  // bias U(-1/sqrt(in), 1/sqrt(in)).
  void reset_parameters(Generator& gen = default_generator());

  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;
  const LinearOptions& options() const { return options_; }

  Tensor weight;  // (out_features, in_features)
  Tensor bias;    // (out_features), undefined when options.bias() is false

 private:
  LinearOptions options_;
};

}  // namespace hf
