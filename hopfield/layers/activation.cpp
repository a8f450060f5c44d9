// Activation modules: thin wrappers over the pointwise ops.
#include "hopfield/layers/activation.h"

#include <sstream>

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

}  // namespace hf
