// Conv1d module: options validation, torch's initialisation, and the conv1d op.
#include "hopfield/layers/conv1d.h"

#include <cmath>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/init.h"

namespace hf {

Conv1d::Conv1d(const Conv1dOptions& options, init::Deferred) : options_(options) {
  const auto& o = options_;
  HF_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.kernel_size() > 0, "Conv1d",
           "in_channels=" << o.in_channels() << ", out_channels=" << o.out_channels()
                          << ", kernel_size=" << o.kernel_size() << " must all be positive");
  HF_CHECK(o.stride() > 0 && o.dilation() > 0, "Conv1d",
           "stride=" << o.stride() << " and dilation=" << o.dilation() << " must be positive");
  weight = register_parameter("weight", zeros({o.out_channels(), o.in_channels(), o.kernel_size()}));
  if (o.bias()) bias = register_parameter("bias", zeros({o.out_channels()}));
}

Conv1d::Conv1d(const Conv1dOptions& options, Generator& gen) : Conv1d(options, init::deferred) { reset_parameters(gen); }

void Conv1d::reset_parameters(Generator& gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
  if (bias.defined()) {
    const std::size_t fan_in = init::fan_in_and_fan_out(weight).first;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Conv1d::forward(const Tensor& x) {
  HF_CHECK(x.defined() && x.dim() == 3 && x.size(1) == options_.in_channels(), "Conv1d",
           "input " << (x.defined() ? shape_str(x.shape()) : std::string("undefined"))
                    << " must be (N, in_channels=" << options_.in_channels() << ", L)");
  HF_CHECK(x.dtype() == weight.dtype(), "Conv1d",
           "input " << shape_str(x.shape()) << " is " << dtype_name(x.dtype()) << " but the weight is "
                    << dtype_name(weight.dtype()) << " (convert the module with to())");
  return conv1d(x, weight, bias,
                Conv1dFuncOptions().stride(options_.stride()).padding(options_.padding()).dilation(options_.dilation()));
}

std::string Conv1d::extra_repr() const {
  // torch's format: stride always, padding/dilation only when not the default, bias only when absent.
  const auto& o = options_;
  std::ostringstream os;
  os << o.in_channels() << ", " << o.out_channels() << ", kernel_size=(" << o.kernel_size() << ",), stride=("
     << o.stride() << ",)";
  if (o.padding() != 0) os << ", padding=(" << o.padding() << ",)";
  if (o.dilation() != 1) os << ", dilation=(" << o.dilation() << ",)";
  if (!o.bias()) os << ", bias=False";
  return os.str();
}

}  // namespace hf
