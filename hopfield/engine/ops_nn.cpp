// Neural-network ops with hand-written backward: layer_norm (llm.c's fused backward), dropout, embedding.
//
// Legend. layer_norm: R rows of M normalised elements.
// Reductions inside kernels accumulate in double, also for float32 data.
#include <algorithm>
#include <cmath>
#include <memory>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/parallel.h"

namespace hf {

namespace {

// Sum of v[k] and of (v[k] - mu)^2 over a row in double, with eight partial sums so that the float ->
// double conversions and additions vectorise.
template <class T>
double row_sum_d(const T* v, std::size_t m) {
  constexpr std::size_t W = 8;
  double acc[W] = {};
  std::size_t k = 0;
  for (; k + W <= m; k += W)
    for (std::size_t t = 0; t < W; ++t) acc[t] += static_cast<double>(v[k + t]);
  for (; k < m; ++k) acc[0] += static_cast<double>(v[k]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <class T>
double row_sq_dev_d(const T* v, std::size_t m, double mu) {
  constexpr std::size_t W = 8;
  double acc[W] = {};
  std::size_t k = 0;
  for (; k + W <= m; k += W)
    for (std::size_t t = 0; t < W; ++t) {
      const double d = static_cast<double>(v[k + t]) - mu;
      acc[t] += d * d;
    }
  for (; k < m; ++k) acc[0] += (static_cast<double>(v[k]) - mu) * (static_cast<double>(v[k]) - mu);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <class T>
double row_dot_d(const T* a, const T* b, std::size_t m) {
  constexpr std::size_t W = 8;
  double acc[W] = {};
  std::size_t k = 0;
  for (; k + W <= m; k += W)
    for (std::size_t t = 0; t < W; ++t) acc[t] += static_cast<double>(a[k + t]) * static_cast<double>(b[k + t]);
  for (; k < m; ++k) acc[0] += static_cast<double>(a[k]) * static_cast<double>(b[k]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
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
    // Row statistics in double; the elementwise part in T with mean and 1/std rounded to T once, so that
    // the float32 loops run on float lanes (as torch's float32 layer_norm does).
    parallel_for(R, std::max<std::size_t>(1, 8192 / M), [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const T* xr = px + r * M;
      const double mu = row_sum_d(xr, M) / static_cast<double>(M);
      const double var = row_sq_dev_d(xr, M, mu) / static_cast<double>(M);
      const double rs = 1.0 / std::sqrt(var + eps);
      const T mt = static_cast<T>(mu), rt = static_cast<T>(rs);
      T* __restrict yr = py + r * M;
      // Separate branch-free loops per affine variant, so each one vectorises.
      if (pw && pb) {
        for (std::size_t k = 0; k < M; ++k) yr[k] = (xr[k] - mt) * rt * pw[k] + pb[k];
      } else if (pw) {
        for (std::size_t k = 0; k < M; ++k) yr[k] = (xr[k] - mt) * rt * pw[k];
      } else if (pb) {
        for (std::size_t k = 0; k < M; ++k) yr[k] = (xr[k] - mt) * rt + pb[k];
      } else {
        for (std::size_t k = 0; k < M; ++k) yr[k] = (xr[k] - mt) * rt;
      }
      pm[r] = mt;
      prs[r] = rt;
    }
    });
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
      // Rows in C chunks fixed by the shape (not by the thread count, so results do not depend on it); each
      // chunk sums its weight and bias gradients apart, and the chunk sums are added in order afterwards.
      const std::size_t C = std::min<std::size_t>({R, 64, std::max<std::size_t>(1, R * M / 32768)});
      std::vector<T> part_w(pdw ? C * M : 0), part_b(pdb ? C * M : 0);
      parallel_for(C, 1, [&](std::size_t c0, std::size_t c1) {
        std::vector<T> xhat(M), dnorm(M);  // of one row
        T* __restrict xh = xhat.data();
        T* __restrict dn = dnorm.data();
        for (std::size_t c = c0; c < c1; ++c) {
          T* __restrict cw = pdw ? part_w.data() + c * M : nullptr;
          T* __restrict cb = pdb ? part_b.data() + c * M : nullptr;
          for (std::size_t r = c * R / C; r < (c + 1) * R / C; ++r) {
            const T* xr = px + r * M;
            const T* gr = pg + r * M;
            const T mu = pm[r], rs = prs[r];
            for (std::size_t k = 0; k < M; ++k) xh[k] = (xr[k] - mu) * rs;
            if (pw) {
              for (std::size_t k = 0; k < M; ++k) dn[k] = gr[k] * pw[k];
            } else {
              for (std::size_t k = 0; k < M; ++k) dn[k] = gr[k];
            }
            if (cw)
              for (std::size_t k = 0; k < M; ++k) cw[k] += gr[k] * xh[k];
            if (cb)
              for (std::size_t k = 0; k < M; ++k) cb[k] += gr[k];
            if (!pdx) continue;
            // term 1: mean(dnorm); term 2: mean(dnorm * xhat) (row sums in double)
            const T dnorm_mean = static_cast<T>(row_sum_d(dn, M) / static_cast<double>(M));
            const T dnorm_xhat_mean = static_cast<T>(row_dot_d(dn, xh, M) / static_cast<double>(M));
            T* __restrict dxr = pdx + r * M;
            for (std::size_t k = 0; k < M; ++k) dxr[k] = (dn[k] - dnorm_mean - xh[k] * dnorm_xhat_mean) * rs;
          }
        }
      });
      for (std::size_t c = 0; c < C; ++c) {
        if (pdw)
          for (std::size_t k = 0; k < M; ++k) pdw[k] += part_w[c * M + k];
        if (pdb)
          for (std::size_t k = 0; k < M; ++k) pdb[k] += part_b[c * M + k];
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

}  // namespace hf
