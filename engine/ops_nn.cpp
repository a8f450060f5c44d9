// Neural-network ops with hand-written backward: softmax / log_softmax (max-subtracted, optionally
// masked), layer_norm (llm.c's fused backward), dropout, embedding, conv1d (im2col + gemm), max_pool1d,
// and masked mean / max over an axis.
//
// Legend. Axis ops see x as (outer, n, inner) around their axis (detail::split_at): element j of the
// slice (o, i) sits at o*n*inner + j*inner + i.
//   layer_norm: R rows of M normalised elements.
//   conv1d: N batch, C input channels, L length, O output channels, K kernel taps, Lo output length.
// Reductions inside kernels accumulate in double, also for float32 data.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <memory>

#include "engine/blas.h"
#include "engine/kernel.h"
#include "engine/ops.h"

namespace hf {

using detail::AxisSplit;

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Offset of element j of slice (o, i).
inline std::size_t at(const AxisSplit& s, std::size_t o, std::size_t j, std::size_t i) {
  return (o * s.n + j) * s.inner + i;
}

// Softmax of every slice; mask (may be null) has one byte per element, 1 = excluded. A slice whose
// unmasked entries are all -inf (in particular an entirely masked one) gives zeros instead of NaN.
template <class T>
void softmax_forward(const T* x, const std::uint8_t* mask, T* y, const AxisSplit& s) {
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t i = 0; i < s.inner; ++i) {
      double m = kNegInf;
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = at(s, o, j, i);
        if (!(mask && mask[k])) m = std::max(m, static_cast<double>(x[k]));
      }
      if (m == kNegInf) {
        for (std::size_t j = 0; j < s.n; ++j) y[at(s, o, j, i)] = T(0);
        continue;
      }
      double total = 0.0;
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = at(s, o, j, i);
        const T e = (mask && mask[k]) ? T(0) : static_cast<T>(std::exp(static_cast<double>(x[k]) - m));
        y[k] = e;
        total += e;
      }
      const T inv = static_cast<T>(1.0 / total);
      for (std::size_t j = 0; j < s.n; ++j) y[at(s, o, j, i)] *= inv;
    }
}

// dx = y * (g - sum_j g_j y_j) per slice; masked entries have y = 0 and so get no gradient.
template <class T>
void softmax_backward(const T* y, const T* g, T* gx, const AxisSplit& s) {
  for (std::size_t o = 0; o < s.outer; ++o)
    for (std::size_t i = 0; i < s.inner; ++i) {
      double dot = 0.0;
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = at(s, o, j, i);
        dot += static_cast<double>(g[k]) * y[k];
      }
      for (std::size_t j = 0; j < s.n; ++j) {
        const std::size_t k = at(s, o, j, i);
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

int as_int(std::size_t v, const char* op) {
  HF_CHECK(v <= static_cast<std::size_t>(INT_MAX), op, "dimension " << v << " exceeds the BLAS int range");
  return static_cast<int>(v);
}

// Output shape of a reduction over axis a.
Shape reduced_shape(const Shape& shape, std::size_t a, bool keepdim) {
  Shape out = shape;
  if (keepdim) out[a] = 1;
  else out.erase(out.begin() + static_cast<long>(a));
  return out;
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
        for (std::size_t j = 0; j < s.n; ++j) m = std::max(m, static_cast<double>(px[at(s, o, j, i)]));
        double total = 0.0;
        for (std::size_t j = 0; j < s.n; ++j) total += std::exp(px[at(s, o, j, i)] - m);
        const double lse = m + std::log(total);
        for (std::size_t j = 0; j < s.n; ++j) {
          const std::size_t k = at(s, o, j, i);
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
          for (std::size_t j = 0; j < s.n; ++j) gsum += pg[at(s, o, j, i)];
          for (std::size_t j = 0; j < s.n; ++j) {
            const std::size_t k = at(s, o, j, i);
            o_[k] = static_cast<T>(pg[k] - std::exp(static_cast<double>(py[k])) * gsum);
          }
        }
    });
    accumulate_grad(x, gx);
  });
}

namespace {

// Sum of f(v[k]) over a row in double, with four partial sums: without -ffast-math a single running sum
// cannot be vectorised (the additions must stay in order), four independent ones can.
template <class T, class F>
double row_sum(const T* v, std::size_t m, F f) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t k = 0;
  for (; k + 4 <= m; k += 4) {
    s0 += f(static_cast<double>(v[k]));
    s1 += f(static_cast<double>(v[k + 1]));
    s2 += f(static_cast<double>(v[k + 2]));
    s3 += f(static_cast<double>(v[k + 3]));
  }
  for (; k < m; ++k) s0 += f(static_cast<double>(v[k]));
  return (s0 + s1) + (s2 + s3);
}

inline double row_dot(const double* a, const double* b, std::size_t m) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t k = 0;
  for (; k + 4 <= m; k += 4) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
    s2 += a[k + 2] * b[k + 2];
    s3 += a[k + 3] * b[k + 3];
  }
  for (; k < m; ++k) s0 += a[k] * b[k];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

// ----- layer_norm -----
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.layer_norm.html
// y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps) with the biased variance.
// Backward as llm.c layernorm_backward: with xhat = (x - mean) * rstd and dnorm = g * weight,
//   dx = rstd * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)),
//   dweight += sum over rows of g * xhat, dbias += sum over rows of g.
Tensor layer_norm(const Tensor& x, std::size_t normalized_dims, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "layer_norm";
  detail::check_float(x, op);
  HF_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(), op,
           "normalized_dims " << normalized_dims << " must be in [1, " << x.dim() << "] for input "
                              << shape_str(x.shape()));
  HF_CHECK(std::isfinite(eps) && eps >= 0, op, "eps " << eps << " must be finite and >= 0");
  const Shape norm_shape(x.shape().end() - static_cast<long>(normalized_dims), x.shape().end());
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    const char* what = p == &weight ? "weight" : "bias";
    detail::check_float(*p, op, what);
    HF_CHECK(p->dtype() == x.dtype(), op,
             what << " is " << dtype_name(p->dtype()) << " but input is " << dtype_name(x.dtype()));
    HF_CHECK(p->shape() == norm_shape, op,
             what << " of shape " << shape_str(p->shape()) << " does not match the normalised shape "
                  << shape_str(norm_shape) << " of input " << shape_str(x.shape()));
  }
  const std::size_t M = shape_numel(norm_shape);
  HF_CHECK(M > 0, op, "the normalised shape " << shape_str(norm_shape) << " is empty");
  const std::size_t R = x.numel() / M;
  Tensor y = detail::alloc(x.shape(), x.dtype());
  Tensor mean_t = detail::alloc({R}, x.dtype()), rstd_t = detail::alloc({R}, x.dtype());  // (R), for backward
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(x);
    const T* pw = weight.defined() ? detail::ptr<T>(weight) : nullptr;
    const T* pb = bias.defined() ? detail::ptr<T>(bias) : nullptr;
    T* py = detail::ptr<T>(y);
    T* pm = detail::ptr<T>(mean_t);
    T* prs = detail::ptr<T>(rstd_t);
    for (std::size_t r = 0; r < R; ++r) {
      const T* xr = px + r * M;
      const double mu = row_sum(xr, M, [](double v) { return v; }) / static_cast<double>(M);
      const double var = row_sum(xr, M, [mu](double v) { return (v - mu) * (v - mu); }) / static_cast<double>(M);
      const double rs = 1.0 / std::sqrt(var + eps);
      T* __restrict yr = py + r * M;
      // Separate branch-free loops per affine variant, so each one vectorises.
      if (pw && pb) {
        for (std::size_t k = 0; k < M; ++k) yr[k] = static_cast<T>((xr[k] - mu) * rs * pw[k] + pb[k]);
      } else if (pw) {
        for (std::size_t k = 0; k < M; ++k) yr[k] = static_cast<T>((xr[k] - mu) * rs * pw[k]);
      } else if (pb) {
        for (std::size_t k = 0; k < M; ++k) yr[k] = static_cast<T>((xr[k] - mu) * rs + pb[k]);
      } else {
        for (std::size_t k = 0; k < M; ++k) yr[k] = static_cast<T>((xr[k] - mu) * rs);
      }
      pm[r] = static_cast<T>(mu);
      prs[r] = static_cast<T>(rs);
    }
  });
  Tensor xd = x.detach(), wd = weight.defined() ? weight.detach() : Tensor();
  return record(y, op, {x, weight, bias}, [x, weight, bias, xd, wd, mean_t, rstd_t, R, M, op](const Tensor& g) {
    const bool gx_on = wants_grad(x), gw_on = wants_grad(weight), gb_on = wants_grad(bias);
    Tensor dx = gx_on ? detail::alloc(xd.shape(), xd.dtype()) : Tensor();
    Tensor dw = gw_on ? zeros(weight.shape(), xd.dtype()) : Tensor();
    Tensor db = gb_on ? zeros(bias.shape(), xd.dtype()) : Tensor();
    detail::dispatch_float(xd.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = detail::ptr<T>(xd);
      const T* pg = detail::ptr<T>(g);
      const T* pw = wd.defined() ? detail::ptr<T>(wd) : nullptr;
      const T* pm = detail::ptr<T>(mean_t);
      const T* prs = detail::ptr<T>(rstd_t);
      T* __restrict pdw = gw_on ? detail::ptr<T>(dw) : nullptr;
      T* __restrict pdb = gb_on ? detail::ptr<T>(db) : nullptr;
      T* __restrict pdx = gx_on ? detail::ptr<T>(dx) : nullptr;
      std::vector<double> xhat(M), dnorm(M);  // of one row
      double* __restrict xh = xhat.data();
      double* __restrict dn = dnorm.data();
      for (std::size_t r = 0; r < R; ++r) {
        const T* xr = px + r * M;
        const T* gr = pg + r * M;
        const double mu = pm[r], rs = prs[r];
        for (std::size_t k = 0; k < M; ++k) xh[k] = (xr[k] - mu) * rs;
        if (pw) {
          for (std::size_t k = 0; k < M; ++k) dn[k] = static_cast<double>(gr[k]) * pw[k];
        } else {
          for (std::size_t k = 0; k < M; ++k) dn[k] = static_cast<double>(gr[k]);
        }
        if (pdw)
          for (std::size_t k = 0; k < M; ++k) pdw[k] += static_cast<T>(gr[k] * xh[k]);
        if (pdb)
          for (std::size_t k = 0; k < M; ++k) pdb[k] += gr[k];
        if (!pdx) continue;
        // term 1: mean(dnorm); term 2: mean(dnorm * xhat)
        const double dnorm_mean = row_sum(dn, M, [](double v) { return v; }) / static_cast<double>(M);
        const double dnorm_xhat_mean = row_dot(dn, xh, M) / static_cast<double>(M);
        T* dxr = pdx + r * M;
        for (std::size_t k = 0; k < M; ++k) dxr[k] = static_cast<T>((dn[k] - dnorm_mean - xh[k] * dnorm_xhat_mean) * rs);
      }
    });
    if (gx_on) accumulate_grad(x, dx);
    if (gw_on) accumulate_grad(weight, dw);
    if (gb_on) accumulate_grad(bias, db);
  });
}

// ----- dropout -----
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.dropout.html
// Training: each element is kept with probability 1 - p (one gen.uniform() draw per element, row-major)
// and scaled by 1 / (1 - p); p = 1 zeroes everything. Eval or p = 0: the input itself.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  const char* op = "dropout";
  detail::check_float(x, op);
  HF_CHECK(p >= 0.0 && p <= 1.0, op, "option p = " << p << " is out of range [0, 1] (input " << shape_str(x.shape())
                                                    << ")");
  if (!training || p == 0.0) return x;
  Tensor scale = detail::alloc(x.shape(), x.dtype());  // 0 or 1 / (1 - p) per element
  Tensor y = detail::alloc(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T keep_scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
    const T* px = detail::ptr<T>(x);
    T* ps = detail::ptr<T>(scale);
    T* py = detail::ptr<T>(y);
    for (std::size_t i = 0, n = x.numel(); i < n; ++i) {
      ps[i] = (p < 1.0 && gen.uniform() >= p) ? keep_scale : T(0);
      py[i] = px[i] * ps[i];
    }
  });
  return record(y, op, {x}, [x, scale](const Tensor& g) { accumulate_grad(x, mul(g, scale)); });
}

// ----- embedding -----
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.embedding.html
// out[..., :] = weight[indices[...], :]; backward scatter-adds rows (repeated indices accumulate).
Tensor embedding(const Tensor& weight, const Tensor& indices) {
  const char* op = "embedding";
  detail::check_float(weight, op, "weight");
  HF_CHECK(weight.dim() == 2, op, "weight must be (num_embeddings, dim), got " << shape_str(weight.shape()));
  HF_CHECK(indices.defined() && indices.dtype() == Dtype::Int64, op,
           "indices must be Int64, got " << (indices.defined() ? dtype_name(indices.dtype()) : "undefined"));
  const std::size_t V = weight.shape()[0], D = weight.shape()[1];
  const std::int64_t* idx = indices.data<std::int64_t>();
  for (std::size_t i = 0, n = indices.numel(); i < n; ++i)
    HF_CHECK(idx[i] >= 0 && static_cast<std::size_t>(idx[i]) < V, op,
             "index " << idx[i] << " at position " << i << " of indices " << shape_str(indices.shape())
                      << " is out of range for weight " << shape_str(weight.shape()) << " (" << V
                      << " embeddings)");
  Shape out_shape = indices.shape();
  out_shape.push_back(D);
  Tensor y = detail::alloc(out_shape, weight.dtype());
  detail::dispatch_float(weight.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pw = detail::ptr<T>(weight);
    T* py = detail::ptr<T>(y);
    for (std::size_t i = 0, n = indices.numel(); i < n; ++i)
      std::copy(pw + static_cast<std::size_t>(idx[i]) * D, pw + (static_cast<std::size_t>(idx[i]) + 1) * D, py + i * D);
  });
  Tensor ind = indices.detach();
  return record(y, op, {weight}, [weight, ind, D, op](const Tensor& g) {
    Tensor dw = zeros(weight.shape(), weight.dtype());
    detail::dispatch_float(weight.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const std::int64_t* pi = ind.data<std::int64_t>();
      const T* pg = detail::ptr<T>(g);
      T* pd = detail::ptr<T>(dw);
      for (std::size_t i = 0, n = ind.numel(); i < n; ++i) {
        T* row = pd + static_cast<std::size_t>(pi[i]) * D;
        for (std::size_t k = 0; k < D; ++k) row[k] += pg[i * D + k];
      }
    });
    accumulate_grad(weight, dw);
  });
}

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
      blas::gemm(false, false, as_int(q.O, op), as_int(q.Lo, op), as_int(CK, op), T(1), detail::ptr<T>(weight),
                 as_int(CK, op), col.data(), as_int(q.Lo, op), T(0), yn, as_int(q.Lo, op));
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
      const int o_ = as_int(q.O, op), lo = as_int(q.Lo, op), ck = as_int(CK, op);
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

// ----- masked reductions -----
// Mean / max over `axis` of the entries whose mask is false (mask broadcasts to x; true = padding).
// An all-masked slice gives 0 and passes zero gradient.
Tensor masked_mean(const Tensor& x, const Tensor& mask, int axis, bool keepdim) {
  const char* op = "masked_mean";
  detail::check_float(x, op);
  const std::size_t a = detail::norm_axis(axis, x.dim(), op);
  const AxisSplit s = detail::split_at(x.shape(), a);
  auto m = std::make_shared<std::vector<std::uint8_t>>(detail::mask_as_bytes(mask, x.shape(), op));
  Tensor y = detail::alloc(reduced_shape(x.shape(), a, keepdim), x.dtype());
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
          const std::size_t k = at(s, o, j, i);
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
            const std::size_t k = at(s, o, j, i);
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
  Tensor y = detail::alloc(reduced_shape(x.shape(), a, keepdim), x.dtype());
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
          const std::size_t k = at(s, o, j, i);
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
