// conv1d (im2col + gemm) and max_pool1d, with hand-written backward.
//
// Legend. conv1d: N batch, C input channels, L length, O output channels, K kernel taps, Lo output length.
#include <algorithm>
#include <cmath>
#include <memory>

#include "hopfield/engine/blas.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

// ----- conv1d -----
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv1d.html
// Lo = (L + 2 padding - dilation (K - 1) - 1) / stride + 1. Per batch entry, im2col builds
// col (C*K, Lo) with col[c*K + k][t] = x[c][t*stride + k*dilation - padding] (0 outside), and
//   out_n (O, Lo) = W (O, C*K) col,  dW += g_n col^T,  dcol = W^T g_n  (scattered back by col2im).
namespace {
struct ConvGeom {
  std::size_t N, C, L, O, K, Lo, stride, padding, dilation;
};

template <class T>
void im2col(const T* x, T* col, const ConvGeom& q) {
  for (std::size_t c = 0; c < q.C; ++c)
    for (std::size_t k = 0; k < q.K; ++k) {
      T* row = col + (c * q.K + k) * q.Lo;
      for (std::size_t t = 0; t < q.Lo; ++t) {
        const std::size_t pos = t * q.stride + k * q.dilation;  // position in the padded input
        row[t] = (pos < q.padding || pos - q.padding >= q.L) ? T(0) : x[c * q.L + pos - q.padding];
      }
    }
}

template <class T>
void col2im_add(const T* col, T* dx, const ConvGeom& q) {
  for (std::size_t c = 0; c < q.C; ++c)
    for (std::size_t k = 0; k < q.K; ++k) {
      const T* row = col + (c * q.K + k) * q.Lo;
      for (std::size_t t = 0; t < q.Lo; ++t) {
        const std::size_t pos = t * q.stride + k * q.dilation;
        if (pos >= q.padding && pos - q.padding < q.L) dx[c * q.L + pos - q.padding] += row[t];
      }
    }
}
}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dFuncOptions& options) {
  const char* op = "conv1d";
  detail::check_same_dtype(x, weight, op);
  HF_CHECK(x.dim() == 3, op, "input must be (N, C_in, L), got " << shape_str(x.shape()));
  HF_CHECK(weight.dim() == 3, op, "weight must be (C_out, C_in, K), got " << shape_str(weight.shape()));
  HF_CHECK(weight.shape()[1] == x.shape()[1], op,
           "input " << shape_str(x.shape()) << " has " << x.shape()[1] << " channels but weight "
                    << shape_str(weight.shape()) << " expects " << weight.shape()[1]);
  HF_CHECK(options.stride() >= 1, op, "option stride must be >= 1, got " << options.stride());
  HF_CHECK(options.dilation() >= 1, op, "option dilation must be >= 1, got " << options.dilation());
  ConvGeom q{x.shape()[0], x.shape()[1], x.shape()[2], weight.shape()[0], weight.shape()[2], 0,
             options.stride(), options.padding(), options.dilation()};
  HF_CHECK(q.C > 0 && q.K > 0 && q.O > 0, op, "empty channel or kernel dimension in input "
                                                  << shape_str(x.shape()) << " / weight " << shape_str(weight.shape()));
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, op);
    HF_CHECK(bias.shape() == Shape{q.O}, op,
             "bias " << shape_str(bias.shape()) << " must be " << shape_str(Shape{q.O}) << " for weight " << shape_str(weight.shape()));
  }
  const std::size_t span = q.dilation * (q.K - 1) + 1;  // receptive field of one output
  HF_CHECK(q.L + 2 * q.padding >= span, op,
           "input " << shape_str(x.shape()) << " with padding " << q.padding << " is shorter than the dilated kernel ("
                    << span << ") of weight " << shape_str(weight.shape()));
  q.Lo = (q.L + 2 * q.padding - span) / q.stride + 1;
  const std::size_t CK = q.C * q.K;
  Tensor y = detail::alloc({q.N, q.O, q.Lo}, x.dtype());
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> col(CK * q.Lo);  // (C*K, Lo)
    const T* pb = bias.defined() ? detail::ptr<T>(bias) : nullptr;
    for (std::size_t n = 0; n < q.N; ++n) {
      im2col(detail::ptr<T>(x) + n * q.C * q.L, col.data(), q);
      T* yn = detail::ptr<T>(y) + n * q.O * q.Lo;
      blas::gemm(false, false, detail::blas_int(q.O, op), detail::blas_int(q.Lo, op), detail::blas_int(CK, op), T(1), detail::ptr<T>(weight),
                 detail::blas_int(CK, op), col.data(), detail::blas_int(q.Lo, op), T(0), yn, detail::blas_int(q.Lo, op));
      if (pb)
        for (std::size_t o = 0; o < q.O; ++o)
          for (std::size_t t = 0; t < q.Lo; ++t) yn[o * q.Lo + t] += pb[o];
    }
  });
  Tensor xd = x.detach(), wd = weight.detach();
  return record(y, op, {x, weight, bias}, [x, weight, bias, xd, wd, q, CK, op](const Tensor& g) {
    const bool gx_on = wants_grad(x), gw_on = wants_grad(weight), gb_on = wants_grad(bias);
    Tensor dx = gx_on ? zeros(x.shape(), x.dtype()) : Tensor();
    Tensor dw = gw_on ? zeros(weight.shape(), x.dtype()) : Tensor();
    Tensor db = gb_on ? zeros(bias.shape(), x.dtype()) : Tensor();
    detail::dispatch_float(xd.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      std::vector<T> col(CK * q.Lo);  // (C*K, Lo): im2col of x_n, or dcol
      const int o_ = detail::blas_int(q.O, op), lo = detail::blas_int(q.Lo, op), ck = detail::blas_int(CK, op);
      for (std::size_t n = 0; n < q.N; ++n) {
        const T* gn = detail::ptr<T>(g) + n * q.O * q.Lo;  // (O, Lo)
        if (gw_on) {
          im2col(detail::ptr<T>(xd) + n * q.C * q.L, col.data(), q);
          blas::gemm(false, true, o_, ck, lo, T(1), gn, lo, col.data(), lo, T(1), detail::ptr<T>(dw), ck);
        }
        if (gx_on) {
          blas::gemm(true, false, ck, lo, o_, T(1), detail::ptr<T>(wd), ck, gn, lo, T(0), col.data(), lo);
          col2im_add(col.data(), detail::ptr<T>(dx) + n * q.C * q.L, q);
        }
        if (gb_on)
          for (std::size_t o = 0; o < q.O; ++o)
            for (std::size_t t = 0; t < q.Lo; ++t) detail::ptr<T>(db)[o] += gn[o * q.Lo + t];
      }
    });
    if (gx_on) accumulate_grad(x, dx);
    if (gw_on) accumulate_grad(weight, dw);
    if (gb_on) accumulate_grad(bias, db);
  });
}

// ----- max_pool1d -----
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.max_pool1d.html
// Over the last axis of (N, C, L) or (C, L); Lo = (L + 2 padding - kernel) / stride + 1, padded
// positions count as -inf. The gradient goes to the first maximum of each window.
Tensor max_pool1d(const Tensor& x, std::size_t kernel_size, std::size_t stride, std::size_t padding) {
  const char* op = "max_pool1d";
  detail::check_float(x, op);
  HF_CHECK(x.dim() == 2 || x.dim() == 3, op, "input must be (N, C, L) or (C, L), got " << shape_str(x.shape()));
  HF_CHECK(kernel_size >= 1, op, "option kernel_size must be >= 1, got " << kernel_size);
  if (stride == 0) stride = kernel_size;
  HF_CHECK(2 * padding <= kernel_size, op,
           "option padding " << padding << " must be at most half of kernel_size " << kernel_size);
  const std::size_t L = x.shape().back(), rows = L ? x.numel() / L : 0;
  HF_CHECK(L + 2 * padding >= kernel_size, op,
           "input " << shape_str(x.shape()) << " with padding " << padding << " is shorter than kernel_size "
                    << kernel_size);
  const std::size_t Lo = (L + 2 * padding - kernel_size) / stride + 1;
  Shape out_shape = x.shape();
  out_shape.back() = Lo;
  Tensor y = detail::alloc(out_shape, x.dtype());
  auto arg = std::make_shared<std::vector<std::size_t>>(rows * Lo);  // flat input index of each maximum
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(x);
    T* py = detail::ptr<T>(y);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t t = 0; t < Lo; ++t) {
        // The window [t*stride - padding, + kernel) clipped to [0, L); never empty since padding <= kernel/2.
        const std::size_t lo = t * stride > padding ? t * stride - padding : 0;
        const std::size_t hi = std::min(L, t * stride + kernel_size - padding);
        std::size_t best = lo;
        for (std::size_t p = lo + 1; p < hi; ++p)
          if (px[r * L + p] > px[r * L + best] || std::isnan(px[r * L + p])) best = p;
        py[r * Lo + t] = px[r * L + best];
        (*arg)[r * Lo + t] = r * L + best;
      }
  });
  return record(y, op, {x}, [x, arg, op](const Tensor& g) {
    Tensor dx = zeros(x.shape(), x.dtype());
    detail::dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pg = detail::ptr<T>(g);
      T* pd = detail::ptr<T>(dx);
      for (std::size_t i = 0; i < arg->size(); ++i) pd[(*arg)[i]] += pg[i];
    });
    accumulate_grad(x, dx);
  });
}

}  // namespace hf
