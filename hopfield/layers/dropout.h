// Dropout (torch.nn.Dropout): in training, zeroes each element with probability p and scales the
// survivors by 1 / (1 - p); in eval mode it is the identity.
//
// Each Dropout owns its Generator so a run is repeatable regardless of what else draws random numbers.
// Without an explicit seed, the seed is drawn from default_generator() at construction: manual_seed()
// then fixes every layer's stream, and two layers never share a mask sequence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/module.h"

namespace hf {

struct DropoutOptions {
  DropoutOptions() = default;
  DropoutOptions(double p) : p_(p) {}  // NOLINT: implicit, so Dropout(0.1) reads like torch
  HF_ARG(double, p) = 0.5;
  HF_ARG(std::optional<std::uint64_t>, seed);
};

class Dropout : public UnaryModule {
 public:
  explicit Dropout(const DropoutOptions& options = DropoutOptions());

  Tensor forward(const Tensor& x) override;

  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  const DropoutOptions& options() const { return options_; }
  Generator& generator() { return gen_; }  // e.g. to save and restore its state in a checkpoint

 private:
  DropoutOptions options_;
  Generator gen_;
};

}  // namespace hf
