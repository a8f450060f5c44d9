// Masked mean and max over an axis (attention pooling over variable-size bags), with hand-written backward.
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

// ----- masked reductions -----
// Mean / max over `axis` of the entries whose mask is false (mask broadcasts to x; true = padding).
// An all-masked slice gives 0 and passes zero gradient.
Tensor masked_mean(const Tensor& x, const Tensor& mask, int axis, bool keepdim) {
  const char* op = "masked_mean";
  detail::check_float(x, op);
  const std::size_t a = detail::norm_axis(axis, x.dim(), op);
  const AxisSplit s = detail::split_at(x.shape(), a);
  auto m = std::make_shared<std::vector<std::uint8_t>>(detail::mask_as_bytes(mask, x.shape(), op));
  Tensor y = detail::alloc(detail::reduced_shape(x.shape(), a, keepdim), x.dtype());
  auto count = std::make_shared<std::vector<std::size_t>>(s.outer * s.inner, 0);  // unmasked entries per slice
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(x);
    T* py = detail::ptr<T>(y);
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t i = 0; i < s.inner; ++i) {
        double total = 0.0;
        std::size_t c = 0;
        for (std::size_t j = 0; j < s.n; ++j) {
          const std::size_t k = s.at(o, j, i);
          if (!(*m)[k]) {
            total += px[k];
            ++c;
          }
        }
        (*count)[o * s.inner + i] = c;
        py[o * s.inner + i] = c ? static_cast<T>(total / static_cast<double>(c)) : T(0);
      }
  });
  return record(y, op, {x}, [x, m, count, s, op](const Tensor& g) {
    Tensor dx = detail::alloc(x.shape(), x.dtype());
    detail::dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pg = detail::ptr<T>(g);
      T* pd = detail::ptr<T>(dx);
      for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) {
          const std::size_t c = (*count)[o * s.inner + i];
          const T share = c ? static_cast<T>(pg[o * s.inner + i] / static_cast<double>(c)) : T(0);
          for (std::size_t j = 0; j < s.n; ++j) {
            const std::size_t k = s.at(o, j, i);
            pd[k] = (*m)[k] ? T(0) : share;
          }
        }
    });
    accumulate_grad(x, dx);
  });
}

Tensor masked_max(const Tensor& x, const Tensor& mask, int axis, bool keepdim) {
  const char* op = "masked_max";
  detail::check_float(x, op);
  const std::size_t a = detail::norm_axis(axis, x.dim(), op);
  const AxisSplit s = detail::split_at(x.shape(), a);
  const std::vector<std::uint8_t> m = detail::mask_as_bytes(mask, x.shape(), op);
  Tensor y = detail::alloc(detail::reduced_shape(x.shape(), a, keepdim), x.dtype());
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  // Flat input index of each slice's first unmasked maximum, kNone for an all-masked slice.
  auto arg = std::make_shared<std::vector<std::size_t>>(s.outer * s.inner, kNone);
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(x);
    T* py = detail::ptr<T>(y);
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t i = 0; i < s.inner; ++i) {
        std::size_t best = kNone;
        for (std::size_t j = 0; j < s.n; ++j) {
          const std::size_t k = s.at(o, j, i);
          if (!m[k] && (best == kNone || px[k] > px[best] || std::isnan(px[k]))) best = k;
        }
        (*arg)[o * s.inner + i] = best;
        py[o * s.inner + i] = best == kNone ? T(0) : px[best];
      }
  });
  return record(y, op, {x}, [x, arg, op](const Tensor& g) {
    Tensor dx = zeros(x.shape(), x.dtype());
    detail::dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pg = detail::ptr<T>(g);
      T* pd = detail::ptr<T>(dx);
      for (std::size_t i = 0; i < arg->size(); ++i)
        if ((*arg)[i] != kNone) pd[(*arg)[i]] += pg[i];
    });
    accumulate_grad(x, dx);
  });
}

}  // namespace hf
