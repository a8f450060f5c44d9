// torch.nn.init equivalents. Every initialiser reduces to "fill with draws from a distribution"; the
// fan computations are torch's, so bounds agree with PyTorch for every weight layout.
#include "hopfield/layers/init.h"

#include <cmath>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"

namespace hf::init {

namespace {

// Writes draw() into every element of t, in row-major order (the draw order is part of reproducibility).
template <class F>
void fill_with(Tensor& t, const char* op, F&& draw) {
  HF_CHECK(t.defined(), op, "the tensor is undefined");
  detail::dispatch_float(t.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* p = detail::ptr<T>(t);
    for (std::size_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(draw());
  });
}

}  // namespace

std::pair<std::size_t, std::size_t> fan_in_and_fan_out(const Tensor& t) {
  HF_CHECK(t.defined() && t.dim() >= 2, "fan_in_and_fan_out",
           "fan in and fan out need a tensor with at least 2 dimensions, got "
               << (t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor")));
  const Shape& s = t.shape();
  std::size_t receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= s[i];
  return {s[1] * receptive, s[0] * receptive};
}

double leaky_relu_gain(double a) { return std::sqrt(2.0 / (1.0 + a * a)); }

void uniform_(Tensor& t, double low, double high, Generator& gen) {
  HF_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, "init::uniform_",
           "low=" << low << " high=" << high << ": need finite low <= high");
  fill_with(t, "init::uniform_", [&] { return low + (high - low) * gen.uniform(); });
}

void normal_(Tensor& t, double mean, double std, Generator& gen) {
  HF_CHECK(std::isfinite(mean) && std::isfinite(std) && std >= 0, "init::normal_",
           "mean=" << mean << " std=" << std << ": need finite values and std >= 0");
  fill_with(t, "init::normal_", [&] { return mean + std * gen.normal(); });
}

void constant_(Tensor& t, double value) {
  fill_with(t, "init::constant_", [value] { return value; });
}
void zeros_(Tensor& t) { constant_(t, 0.0); }
void ones_(Tensor& t) { constant_(t, 1.0); }

void xavier_uniform_(Tensor& t, double gain, Generator& gen) {
  if (t.defined() && t.numel() == 0) return;  // torch: zero-element tensors are a no-op
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  HF_CHECK(fan_in + fan_out > 0, "init::xavier_uniform_", "tensor " << shape_str(t.shape()) << " has no fan");
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(Tensor& t, double gain, Generator& gen) {
  if (t.defined() && t.numel() == 0) return;  // torch: zero-element tensors are a no-op
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  HF_CHECK(fan_in + fan_out > 0, "init::xavier_normal_", "tensor " << shape_str(t.shape()) << " has no fan");
  normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

void kaiming_uniform_(Tensor& t, double a, Generator& gen) {
  if (t.defined() && t.numel() == 0) return;  // torch: zero-element tensors are a no-op
  const std::size_t fan_in = fan_in_and_fan_out(t).first;
  HF_CHECK(fan_in > 0, "init::kaiming_uniform_", "tensor " << shape_str(t.shape()) << " has fan_in 0");
  const double bound = leaky_relu_gain(a) * std::sqrt(3.0 / static_cast<double>(fan_in));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, double a, Generator& gen) {
  if (t.defined() && t.numel() == 0) return;  // torch: zero-element tensors are a no-op
  const std::size_t fan_in = fan_in_and_fan_out(t).first;
  HF_CHECK(fan_in > 0, "init::kaiming_normal_", "tensor " << shape_str(t.shape()) << " has fan_in 0");
  normal_(t, 0.0, leaky_relu_gain(a) / std::sqrt(static_cast<double>(fan_in)), gen);
}

}  // namespace hf::init
