// Activation functions as parameter-free UnaryModules, for use in Sequential (torch.nn.ReLU etc.).
// Each forwards to the pointwise op of the same name (engine/ops.h), which holds the math and backward.
#pragma once

#include <memory>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/layers/module.h"

namespace hf {

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "ReLU"; }
};

// scale * (max(0, x) + min(0, alpha * (exp(x) - 1))) with torch's constants.
class SELU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "SELU"; }
};

// Exact GELU: x * Phi(x) (torch's approximate='none').
class GELU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "GELU"; }
};

class Tanh : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Tanh"; }
};

class Sigmoid : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sigmoid"; }
};

struct LeakyReLUOptions {
  HF_ARG(double, negative_slope) = 0.01;
};

class LeakyReLU : public UnaryModule {
 public:
  explicit LeakyReLU(const LeakyReLUOptions& options = LeakyReLUOptions()) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;

 private:
  LeakyReLUOptions options_;
};

// An activation module by name: relu, selu, gelu, tanh or sigmoid (hf::Error naming the others otherwise).
std::shared_ptr<UnaryModule> make_activation(const std::string& name);

}  // namespace hf
