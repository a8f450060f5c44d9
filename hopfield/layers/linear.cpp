// Linear layer: forward as one transposed-B gemm plus a broadcast bias add.
#include "hopfield/layers/linear.h"

#include <cmath>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/init.h"

namespace hf {

Linear::Linear(const LinearOptions& options, init::Deferred) : options_(options) {
  weight = register_parameter("weight", zeros({options_.out_features(), options_.in_features()}));
  if (options_.bias()) bias = register_parameter("bias", zeros({options_.out_features()}));
}

Linear::Linear(const LinearOptions& options, Generator& gen) : Linear(options, init::deferred) { reset_parameters(gen); }

void Linear::reset_parameters(Generator& gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
  if (bias.defined()) {
    const std::size_t fan_in = options_.in_features();
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) {
  HF_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == options_.in_features(), "Linear",
           "input " << (x.defined() ? shape_str(x.shape()) : std::string("undefined"))
                    << " does not end in in_features=" << options_.in_features() << " (weight "
                    << shape_str(weight.shape()) << ")");
  HF_CHECK(x.dtype() == weight.dtype(), "Linear",
           "input " << shape_str(x.shape()) << " is " << dtype_name(x.dtype()) << " but the weight is "
                    << dtype_name(weight.dtype()) << " (convert the module with to())");
  // matmul_nt wants rank >= 2: a single vector is a batch of one.
  Tensor y = x.dim() == 1 ? squeeze(matmul_nt(unsqueeze(x, 0), weight), 0) : matmul_nt(x, weight);
  return bias.defined() ? add(y, bias) : y;
}

std::string Linear::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << options_.in_features() << ", out_features=" << options_.out_features()
     << ", bias=" << (options_.bias() ? "True" : "False");
  return os.str();
}

}  // namespace hf
