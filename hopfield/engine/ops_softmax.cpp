// softmax and log_softmax over an axis, max-subtracted, optionally masked, with hand-written backward.
//
// Legend. Axis ops see x as (outer, n, inner) around their axis (detail::split_at): element j of the
// slice (o, i) sits at o*n*inner + j*inner + i (AxisSplit::at).
// Reductions inside kernels accumulate in double, also for float32 data.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

using detail::AxisSplit;

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Softmax of every slice; mask (may be null) has one byte per element, 1 = excluded. A slice whose
// unmasked entries are all -inf (in particular an entirely masked one) gives zeros instead of NaN.
template <class T>
void softmax_forward(const T* x, const std::uint8_t* mask, T* y, const AxisSplit& s) {
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t i = 0; i < s.inner; ++i) {
      double m = kNegInf;
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = s.at(o, j, i);
        if (!(mask && mask[k])) m = std::max(m, static_cast<double>(x[k]));
      }
      if (m == kNegInf) {
        for (std::size_t j = 0; j < s.n; ++j) y[s.at(o, j, i)] = T(0);
        continue;
      }
      double total = 0.0;
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = s.at(o, j, i);
        const T e = (mask && mask[k]) ? T(0) : static_cast<T>(std::exp(static_cast<double>(x[k]) - m));
        y[k] = e;
        total += e;
      }
      const T inv = static_cast<T>(1.0 / total);
      for (std::size_t j = 0; j < s.n; ++j) y[s.at(o, j, i)] *= inv;
    }
}

// dx = y * (g - sum_j g_j y_j) per slice; masked entries have y = 0 and so get no gradient.
template <class T>
void softmax_backward(const T* y, const T* g, T* gx, const AxisSplit& s) {
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t i = 0; i < s.inner; ++i) {
      double dot = 0.0;
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = s.at(o, j, i);
        dot += static_cast<double>(g[k]) * y[k];
      }
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = s.at(o, j, i);
        gx[k] = static_cast<T>(y[k] * (g[k] - dot));
      }
    }
}

Tensor softmax_impl(const Tensor& x, int axis, const Tensor* mask, const char* op) {
  detail::check_float(x, op);
  const AxisSplit s = detail::split_at(x.shape(), detail::norm_axis(axis, x.dim(), op));
  std::vector<std::uint8_t> m;
  if (mask) m = detail::mask_as_bytes(*mask, x.shape(), op);
  Tensor y = detail::alloc(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    softmax_forward(detail::ptr<T>(x), m.empty() ? nullptr : m.data(), detail::ptr<T>(y), s);
  });
  Tensor yd = y.detach();
  return record(y, op, {x}, [x, yd, s, op](const Tensor& g) {
    Tensor gx = detail::alloc(yd.shape(), yd.dtype());
    detail::dispatch_float(yd.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      softmax_backward(detail::ptr<T>(yd), detail::ptr<T>(g), detail::ptr<T>(gx), s);
    });
    accumulate_grad(x, gx);
  });
}

}  // namespace

// ----- softmax family -----
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html
Tensor softmax(const Tensor& x, int axis) { return softmax_impl(x, axis, nullptr, "softmax"); }

Tensor softmax(const Tensor& x, int axis, const Tensor& mask) { return softmax_impl(x, axis, &mask, "softmax"); }

// y = x - max - log(sum exp(x - max)); dx = g - exp(y) * sum_j g_j.
Tensor log_softmax(const Tensor& x, int axis) {
  const char* op = "log_softmax";
  detail::check_float(x, op);
  const AxisSplit s = detail::split_at(x.shape(), detail::norm_axis(axis, x.dim(), op));
  Tensor y = detail::alloc(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(x);
    T* py = detail::ptr<T>(y);
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t i = 0; i < s.inner; ++i) {
        double m = kNegInf;
        for (std::size_t j = 0; j < s.n; ++j) m = std::max(m, static_cast<double>(px[s.at(o, j, i)]));
        double total = 0.0;
        for (std::size_t j = 0; j < s.n; ++j) total += std::exp(px[s.at(o, j, i)] - m);
        const double lse = m + std::log(total);
        for (std::size_t j = 0; j < s.n; ++j) {
          const std::size_t k = s.at(o, j, i);
          py[k] = static_cast<T>(px[k] - lse);
        }
      }
  });
  Tensor yd = y.detach();
  return record(y, op, {x}, [x, yd, s, op](const Tensor& g) {
    Tensor gx = detail::alloc(yd.shape(), yd.dtype());
    detail::dispatch_float(yd.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* py = detail::ptr<T>(yd);
      const T* pg = detail::ptr<T>(g);
      T* o_ = detail::ptr<T>(gx);
      for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) {
          double gsum = 0.0;
          for (std::size_t j = 0; j < s.n; ++j) gsum += pg[s.at(o, j, i)];
          for (std::size_t j = 0; j < s.n; ++j) {
            const std::size_t k = s.at(o, j, i);
            o_[k] = static_cast<T>(pg[k] - std::exp(static_cast<double>(py[k])) * gsum);
          }
        }
    });
    accumulate_grad(x, gx);
  });
}

}  // namespace hf
