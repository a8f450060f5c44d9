// Gradient clipping (semantics in optim/clip_grad.h). Norms are accumulated in double whatever the
// gradient dtype, then the scale factor is applied in the gradient's dtype, as torch does.
#include "hopfield/optim/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"

namespace hf {

namespace {
double tensor_norm(const Tensor& g, double p) {
  return detail::dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* x = g.data<T>();
    const std::size_t n = g.numel();
    double acc = 0;
    if (std::isinf(p)) {
      for (std::size_t i = 0; i < n; ++i) acc = std::max(acc, std::abs(static_cast<double>(x[i])));
      return acc;
    }
    if (p == 2) {
      // Eight running sums: one serial sum waits on every add's latency. The order differs from a serial
      // sum only in the last bits of a double (a float's square is exact in double).
      double part[8] = {};
      std::size_t i = 0;
      for (; i + 8 <= n; i += 8)
        for (std::size_t k = 0; k < 8; ++k) part[k] += static_cast<double>(x[i + k]) * static_cast<double>(x[i + k]);
      for (; i < n; ++i) part[0] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
      acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
      return std::sqrt(acc);
    }
    for (std::size_t i = 0; i < n; ++i) acc += std::pow(std::abs(static_cast<double>(x[i])), p);
    return std::pow(acc, 1.0 / p);
  });
}
}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  HF_CHECK(norm_type > 0, "clip_grad_norm", "invalid norm_type " << norm_type << " (must be > 0 or inf)");
  HF_CHECK(max_norm >= 0, "clip_grad_norm", "invalid max_norm " << max_norm << " (must be >= 0)");
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  // Norm of the per-tensor norms, as torch.norm(torch.stack(norms), p).
  double total = 0;
  if (std::isinf(norm_type)) {
    for (const Tensor& g : grads) total = std::max(total, tensor_norm(g, norm_type));
  } else if (norm_type == 2) {
    for (const Tensor& g : grads) {
      const double n = tensor_norm(g, 2);
      total += n * n;
    }
    total = std::sqrt(total);
  } else {
    for (const Tensor& g : grads) total += std::pow(tensor_norm(g, norm_type), norm_type);
    total = std::pow(total, 1.0 / norm_type);
  }
  HF_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm",
           "the total norm of order " << norm_type << " of the gradients is non-finite (" << total
                                      << "); gradients left unchanged");
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);
  for (const Tensor& g : grads) {
    Tensor gg = g;
    const std::size_t n = gg.numel();  // outside the lambda, so the loop vectorises
    detail::dispatch_float(gg.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      T* x = gg.data<T>();
      const T c = static_cast<T>(coef);
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] * c;
    });
  }
  return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
  HF_CHECK(clip_value >= 0, "clip_grad_value", "invalid clip_value " << clip_value << " (must be >= 0)");
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    detail::dispatch_float(g.dtype(), "clip_grad_value", [&](auto tag) {
      using T = decltype(tag);
      T* x = g.data<T>();
      const T c = static_cast<T>(clip_value);
      for (std::size_t i = 0, n = g.numel(); i < n; ++i) x[i] = std::clamp(x[i], -c, c);
    });
  }
}

}  // namespace hf
