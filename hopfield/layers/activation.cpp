// Activation modules: thin wrappers over the pointwise ops.
#include "hopfield/layers/activation.h"

#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

namespace hf {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor SELU::forward(const Tensor& x) { return selu(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, options_.negative_slope()); }

std::string LeakyReLU::extra_repr() const {
  std::ostringstream os;
  os << "negative_slope=" << options_.negative_slope();
  return os.str();
}

std::shared_ptr<UnaryModule> make_activation(const std::string& name) {
  if (name == "relu") return std::make_shared<ReLU>();
  if (name == "selu") return std::make_shared<SELU>();
  if (name == "gelu") return std::make_shared<GELU>();
  if (name == "tanh") return std::make_shared<Tanh>();
  if (name == "sigmoid") return std::make_shared<Sigmoid>();
  HF_FAIL("make_activation", "unknown activation '" << name << "' (relu, selu, gelu, tanh, sigmoid)");
}

}  // namespace hf
