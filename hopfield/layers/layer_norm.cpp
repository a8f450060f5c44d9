// LayerNorm module: parameters plus a call of the layer_norm op over one trailing axis.
#include "hopfield/layers/layer_norm.h"

#include <cmath>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/init.h"

namespace hf {

LayerNorm::LayerNorm(const LayerNormOptions& options) : options_(options) {
  HF_CHECK(options_.normalized_size() > 0, "LayerNorm", "normalized_size must be positive");
  HF_CHECK(std::isfinite(options_.eps()) && options_.eps() >= 0, "LayerNorm",
           "eps=" << options_.eps() << " must be finite and >= 0");
  if (options_.elementwise_affine()) {
    weight = register_parameter("weight", empty({options_.normalized_size()}));
    bias = register_parameter("bias", empty({options_.normalized_size()}));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  HF_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == options_.normalized_size(), "LayerNorm",
           "input " << (x.defined() ? shape_str(x.shape()) : std::string("undefined"))
                    << " does not end in normalized_size=" << options_.normalized_size());
  HF_CHECK(!weight.defined() || x.dtype() == weight.dtype(), "LayerNorm",
           "input " << shape_str(x.shape()) << " is " << dtype_name(x.dtype()) << " but the weight is "
                    << dtype_name(weight.dtype()) << " (convert the module with to())");
  return layer_norm(x, 1, weight, bias, options_.eps());
}

std::string LayerNorm::extra_repr() const {
  std::ostringstream os;
  os << "(" << options_.normalized_size() << ",), eps=" << options_.eps()
     << ", elementwise_affine=" << (options_.elementwise_affine() ? "True" : "False");
  return os.str();
}

}  // namespace hf
