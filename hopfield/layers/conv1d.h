// Conv1d (torch.nn.Conv1d, groups = 1, zero padding): a 1-D cross-correlation over the last axis.
//
//   x (N, C_in, L) -> (N, C_out, L_out),  L_out = (L + 2 padding - dilation (K - 1) - 1) / stride + 1
//   weight (C_out, C_in, K), bias (C_out)
//
// Initialised like torch: weight kaiming_uniform_(a = sqrt(5)), bias U(-1/sqrt(C_in K), 1/sqrt(C_in K)).
#pragma once

#include <cstddef>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/module.h"

namespace hf {

struct Conv1dOptions {
  Conv1dOptions(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  HF_ARG(std::size_t, in_channels);
  HF_ARG(std::size_t, out_channels);
  HF_ARG(std::size_t, kernel_size);
  HF_ARG(std::size_t, stride) = 1;
  HF_ARG(std::size_t, padding) = 0;
  HF_ARG(std::size_t, dilation) = 1;
  HF_ARG(bool, bias) = true;
};

class Conv1d : public UnaryModule {
 public:
  // Parameters drawn from gen (reset_parameters(gen)); init::deferred: zeros, the owner draws them.
  explicit Conv1d(const Conv1dOptions& options, Generator& gen = default_generator());
  Conv1d(const Conv1dOptions& options, init::Deferred);

  Tensor forward(const Tensor& x) override;
  void reset_parameters(Generator& gen = default_generator());

  std::string name() const override { return "Conv1d"; }
  std::string extra_repr() const override;
  const Conv1dOptions& options() const { return options_; }

  Tensor weight;  // (out_channels, in_channels, kernel_size)
  Tensor bias;    // (out_channels), undefined when options.bias() is false

 private:
  Conv1dOptions options_;
};

}  // namespace hf
