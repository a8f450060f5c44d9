// The batched Hopfield association core on OpenBLAS (see association.h for the layout).
//
// N batch, H heads, L state patterns, S stored patterns, S' = S (+1 zero association), hd / pd per-head
// association / pattern sizes. Per head h, the (n, h) block of Q is the L x hd matrix at
// q + n*L*H*hd + h*hd with leading dimension H*hd; likewise for K and V. Debian's OpenBLAS has no batched
// gemm, so we loop over (n, h); when K or V is shared by the batch (leading size 1) the N*L query rows of
// one head are contiguous with a uniform stride, so one gemm per head covers the whole batch.
//
// Softmax backward: with y = softmax(z) per row, dz = y * (g - sum_j g_j y_j) (masked entries have y = 0
// and get dz = 0). Logits z = beta * q k^T, so dq = beta dz k and dk = beta dz^T q.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention.html
#include "hopfield/engine/association.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "hopfield/engine/association_detail.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/parallel.h"
#include "hopfield/engine/tape.h"

namespace hf {

namespace {

using detail::fast_expf;
using detail::MaskView;
using detail::ProbsDims;
using detail::ptr;
using detail::read_masks;

// gemm on size_t dimensions, skipping empty products (OpenBLAS rejects some zero leading dimensions).
template <class T>
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const char* op = "association";
  if (k == 0) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  blas::gemm(ta, tb, detail::blas_int(m, op), detail::blas_int(n, op), detail::blas_int(k, op), alpha, a, detail::blas_int(std::max<std::size_t>(lda, 1), op),
             b, detail::blas_int(std::max<std::size_t>(ldb, 1), op), beta, c, detail::blas_int(std::max<std::size_t>(ldc, 1), op));
}

// Uninitialised scratch memory of n elements of T. Taken from the tensor storage (and its buffer cache)
// rather than a std::vector: that would zero it, and a fresh large block page-faults on every call.
template <class T>
Tensor scratch(std::size_t n) {
  return detail::alloc({n}, std::is_same_v<T, float> ? Dtype::Float32 : Dtype::Float64);
}

// ----- float row kernels -----
// Written once on detail::Oct<V> (eight floats per step) and compiled twice: with 4-lane vectors for every
// x86-64 and with 8-lane vectors inside functions built for AVX2, picked per call by detail::use_avx2().
// The two give the same bits (see Oct). The softmax rows and their backward were about a sixth of a
// self-association step (perf, 4-lane build).

// The unmasked float row: the same steps as softmax_row below, in vectors (max and sum as eight partial
// results, exp from fast_expf8). Returns false (y unusable) when a logit is not finite; the caller then
// takes the general path. y may be z (in place).
template <class V>
[[gnu::always_inline]] inline bool softmax_row_plain_lanes(const float* z, float* y, std::size_t s, std::size_t sp) {
  using namespace detail;
  // probe: sum of z * 0, NaN iff some z is infinite or NaN
  Oct<V> mx = splat8<V>(s > 0 ? z[0] : 0.0f), probe = splat8<V>(0.0f);
  const Oct<V> zero = splat8<V>(0.0f);
  std::size_t j = 0;
  for (; j + 8 <= s; j += 8) {
    const Oct<V> a = load8<V>(z + j);
    mx = max8(mx, a);
    probe = probe + a * zero;
  }
  float m = hmax8(mx), bad = hsum8(probe);
  for (; j < s; ++j) {
    m = m < z[j] ? z[j] : m;
    bad += z[j] * 0.0f;
  }
  if (bad != 0.0f) return false;
  if (sp > s) m = m < 0.0f ? 0.0f : m;  // zero association: logit 0
  const Oct<V> mv = splat8<V>(m);
  Oct<V> acc = zero;
  for (j = 0; j + 8 <= s; j += 8) {
    const Oct<V> e = fast_expf8(load8<V>(z + j) - mv);
    store8(y + j, e);
    acc = acc + e;
  }
  float total = hsum8(acc);
  for (; j < s; ++j) total += (y[j] = fast_expf(z[j] - m));
  for (; j < sp; ++j) total += (y[j] = fast_expf(-m));
  const float inv = 1.0f / total;
  const Oct<V> iv = splat8<V>(inv);
  for (j = 0; j + 8 <= sp; j += 8) store8(y + j, load8<V>(y + j) * iv);
  for (; j < sp; ++j) y[j] *= inv;
  return true;
}

// sum_j a[j] b[j] with eight partial sums (a single running sum cannot be vectorised).
template <class V>
[[gnu::always_inline]] inline float row_dot_lanes(const float* a, const float* b, std::size_t n) {
  using namespace detail;
  Oct<V> acc = splat8<V>(0.0f);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) acc = acc + load8<V>(a + j) * load8<V>(b + j);
  float total = hsum8(acc);
  for (; j < n; ++j) total += a[j] * b[j];
  return total;
}

// Softmax backward of one row: o[j] = y[j] (g[j] - sum_i g[i] y[i]) for j < s (the sum over all sp).
template <class V>
[[gnu::always_inline]] inline void softmax_grad_row_lanes(const float* y, const float* g, float* o, std::size_t s,
                                                          std::size_t sp) {
  using namespace detail;
  const float dot = row_dot_lanes<V>(g, y, sp);
  const Oct<V> d = splat8<V>(dot);
  std::size_t j = 0;
  for (; j + 8 <= s; j += 8) store8(o + j, load8<V>(y + j) * (load8<V>(g + j) - d));
  for (; j < s; ++j) o[j] = y[j] * (g[j] - dot);
}

#ifdef HF_HAVE_AVX2_KERNELS
__attribute__((target("avx2"))) bool softmax_row_plain_avx2(const float* z, float* y, std::size_t s, std::size_t sp) {
  return softmax_row_plain_lanes<detail::float8>(z, y, s, sp);
}
__attribute__((target("avx2"))) float row_dot_avx2(const float* a, const float* b, std::size_t n) {
  return row_dot_lanes<detail::float8>(a, b, n);
}
__attribute__((target("avx2"))) void softmax_grad_row_avx2(const float* y, const float* g, float* o, std::size_t s,
                                                           std::size_t sp) {
  softmax_grad_row_lanes<detail::float8>(y, g, o, s, sp);
}
#else  // never called: use_avx2() is false
bool softmax_row_plain_avx2(const float*, float*, std::size_t, std::size_t) { return false; }
float row_dot_avx2(const float*, const float*, std::size_t) { return 0.0f; }
void softmax_grad_row_avx2(const float*, const float*, float*, std::size_t, std::size_t) {}
#endif

inline bool softmax_row_plain(const float* z, float* y, std::size_t s, std::size_t sp) {
  return detail::use_avx2() ? softmax_row_plain_avx2(z, y, s, sp) : softmax_row_plain_lanes<detail::float4>(z, y, s, sp);
}

// Rows of length s per parallel_for chunk: about 16k elements, enough work to pay for a wake-up.
inline std::size_t row_grain(std::size_t s) { return std::max<std::size_t>(1, 16384 / std::max<std::size_t>(s, 1)); }

// sum_j a[j] b[j] with eight partial sums (a single running sum cannot be vectorised).
template <class T>
T row_dot(const T* a, const T* b, std::size_t n) {
  constexpr std::size_t W = 8;
  T acc[W] = {};
  std::size_t j = 0;
  for (; j + W <= n; j += W)
    for (std::size_t t = 0; t < W; ++t) acc[t] += a[j + t] * b[j + t];
  T total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; ++j) total += a[j] * b[j];
  return total;
}

template <>
float row_dot<float>(const float* a, const float* b, std::size_t n) {
  return detail::use_avx2() ? row_dot_avx2(a, b, n) : row_dot_lanes<detail::float4>(a, b, n);
}

// Softmax backward of one row: o[j] = y[j] (g[j] - sum_i g[i] y[i]) for j < s, the sum over all sp
// entries (a zero-association column included).
template <class T>
void softmax_grad_row(const T* y, const T* g, T* o, std::size_t s, std::size_t sp) {
  if constexpr (std::is_same_v<T, float>) {
    if (detail::use_avx2()) softmax_grad_row_avx2(y, g, o, s, sp);
    else softmax_grad_row_lanes<detail::float4>(y, g, o, s, sp);
  } else {
    const T dot = row_dot(g, y, sp);
    for (std::size_t j = 0; j < s; ++j) o[j] = y[j] * (g[j] - dot);
  }
}

// One row: z (S logits, already times beta) -> y (S' probabilities), masks applied, zero column appended.
// y may be z: every entry is read before it is written.
template <class T>
void softmax_row(const T* z, T* y, std::size_t s, std::size_t sp, const std::uint8_t* pad, const std::uint8_t* forbid,
                 const T* add) {
  if constexpr (std::is_same_v<T, float>) {
    if (!pad && !forbid && !add && softmax_row_plain(z, y, s, sp)) return;
  }
  const T neg_inf = -std::numeric_limits<T>::infinity();
  T m = neg_inf;
  for (std::size_t j = 0; j < s; ++j) {
    T v = z[j];
    if (add) v += add[j];
    if ((pad && pad[j]) || (forbid && forbid[j])) v = neg_inf;
    y[j] = v;
    m = std::max(m, v);
  }
  for (std::size_t j = s; j < sp; ++j) {  // zero association: logit 0, never masked
    y[j] = T(0);
    m = std::max(m, T(0));
  }
  if (m == neg_inf) {  // every entry masked: zeros (hflayers would give NaN)
    std::fill(y, y + sp, T(0));
    return;
  }
  T total = 0;
  for (std::size_t j = 0; j < sp; ++j) {
    const T e = y[j] == neg_inf ? T(0) : std::exp(y[j] - m);
    y[j] = e;
    total += e;
  }
  const T inv = T(1) / total;
  for (std::size_t j = 0; j < sp; ++j) y[j] *= inv;
}

// ----- per-(n, h) block steps, shared by association_probs and fused_association -----
// Block b = n*H + h: rows [b*L, (b+1)*L) of xi (N, H, L, S'). With a single block its rows are split between
// the threads (parallel_for); inside parallel_gemm_for's region they run on the calling thread.

// The block's logits beta * Q K^T go into z (L, S), a scratch block that stays in cache, and their softmax
// into the block's rows of xi right after: a separate softmax pass over all of xi would read and write it
// once more from memory, and the gemm writing xi directly (OpenBLAS clears its output first, then the
// kernel writes it) cost more than the softmax writing it once, row by row.
template <class T>
void logits_softmax_block(const T* pq, const T* pk, T* px, T* z, const ProbsDims& d, const MaskView& mv, const T* padd,
                          double scaling, std::size_t b) {
  const std::size_t n = b / d.h, h = b % d.h, ldq = d.h * d.hd;
  T* block = px + b * d.l * d.sp;
  gemm<T>(false, true, d.l, d.s, d.hd, T(scaling), pq + (d.nq == 1 ? 0 : n) * d.l * ldq + h * d.hd, ldq,
          pk + (d.nk == 1 ? 0 : n) * d.s * ldq + h * d.hd, ldq, T(0), z, d.s);
  parallel_for(d.l, row_grain(d.sp), [&](std::size_t l0, std::size_t l1) {
    for (std::size_t l = l0; l < l1; ++l) {
      const std::size_t mrow = mv.per_entry ? (b * d.l + l) * d.s : l * d.s;
      softmax_row<T>(z + l * d.s, block + l * d.sp, d.s, d.sp, mv.padding.empty() ? nullptr : mv.padding.data() + n * d.s,
                     mv.forbid.empty() ? nullptr : mv.forbid.data() + mrow, padd ? padd + mrow : nullptr);
    }
  });
}

// The block's logit gradient dz (L, S) = y * (g - rowsum(g * y)) from its probabilities y (rows of xi, ld S')
// and their gradient g (ld ldg; the row sums over the first sum_len columns: S', or S when g has no
// zero-association column, whose entries would be 0). dz may be g (in place).
template <class T>
void softmax_grad_block(const T* y, const T* g, std::size_t ldg, std::size_t sum_len, T* dz, const ProbsDims& d) {
  parallel_for(d.l, row_grain(d.sp), [&](std::size_t l0, std::size_t l1) {
    for (std::size_t l = l0; l < l1; ++l) softmax_grad_row(y + l * d.sp, g + l * ldg, dz + l * d.s, d.s, sum_len);
  });
}

// The block's dq (L, hd) = beta dz K and dk (S, hd) = beta dz^T Q, dz (L, S). A q or k shared by the batch
// (leading size 1) sums over the entries: beta 1 after the first, so the caller runs those in order.
template <class T>
void qk_grads_block(const T* dz, const T* pq, const T* pk, T* dq, T* dk, const ProbsDims& d, double scaling,
                    std::size_t b) {
  const std::size_t n = b / d.h, h = b % d.h, ldq = d.h * d.hd;
  const T beta = T(scaling);
  if (dq)
    gemm<T>(false, false, d.l, d.hd, d.s, beta, dz, d.s, pk + (d.nk == 1 ? 0 : n) * d.s * ldq + h * d.hd, ldq,
            T(d.nq == 1 && n > 0 ? 1 : 0), dq + (d.nq == 1 ? 0 : n) * d.l * ldq + h * d.hd, ldq);
  if (dk)
    gemm<T>(true, false, d.s, d.hd, d.l, beta, dz, d.s, pq + (d.nq == 1 ? 0 : n) * d.l * ldq + h * d.hd, ldq,
            T(d.nk == 1 && n > 0 ? 1 : 0), dk + (d.nk == 1 ? 0 : n) * d.s * ldq + h * d.hd, ldq);
}

}  // namespace

// ----- association_probs -----
Tensor association_probs(const Tensor& q, const Tensor& k, std::size_t num_heads, double scaling,
                         const AssociationMasks& masks, bool add_zero_association) {
  const char* op = "association_probs";
  const ProbsDims d = detail::association_dims(q, k, num_heads, masks, add_zero_association, op);
  const MaskView mv = read_masks(masks, d, q.dtype(), op);

  Tensor xi = detail::alloc({d.n, d.h, d.l, d.sp}, q.dtype());  // (N, H, L, S')
  detail::dispatch_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pq = ptr<T>(q);
    const T* pk = ptr<T>(k);
    T* px = ptr<T>(xi);
    const T* padd = mv.additive.defined() ? ptr<T>(mv.additive) : nullptr;
    const std::size_t ldq = d.h * d.hd;
    const bool fold = d.nk == 1 && d.nq == d.n;  // shared keys: one gemm over all N*L rows
    if (!fold) {
      // Blocks in (n, h) order: one entry's rows of all heads (interleaved in q and k) stay in cache for its heads.
      parallel_gemm_for(d.n * d.h, [&](std::size_t b0, std::size_t b1) {
        Tensor zt = scratch<T>(d.l * d.s);
        for (std::size_t b = b0; b < b1; ++b) logits_softmax_block<T>(pq, pk, px, ptr<T>(zt), d, mv, padd, scaling, b);
      });
      return;
    }
    Tensor zt = scratch<T>(d.n * d.l * d.s);  // logits of one head, (N, L, S)
    T* z = ptr<T>(zt);
    for (std::size_t h = 0; h < d.h; ++h) {
      gemm<T>(false, true, d.n * d.l, d.s, d.hd, T(scaling), pq + h * d.hd, ldq, pk + h * d.hd, ldq, T(0), z, d.s);
      parallel_for(d.n * d.l, row_grain(d.sp), [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {  // r = n*L + l
          const std::size_t n = r / d.l, l = r % d.l;
          const std::size_t mrow = mv.per_entry ? ((n * d.h + h) * d.l + l) * d.s : l * d.s;
          softmax_row<T>(z + r * d.s, px + ((n * d.h + h) * d.l + l) * d.sp, d.s, d.sp,
                         mv.padding.empty() ? nullptr : mv.padding.data() + n * d.s,
                         mv.forbid.empty() ? nullptr : mv.forbid.data() + mrow, padd ? padd + mrow : nullptr);
        }
      });
    }
  });

  Tensor xd = xi.detach();
  return record(xi, op, {q, k}, [q, k, xd, d, scaling, op](const Tensor& g) {
    const bool gq = wants_grad(q), gk = wants_grad(k);
    if (!gq && !gk) return;
    // Every block of dq / dk is written by its first gemm with beta 0 (accumulated with beta 1 after that
    // when q or k is shared by the batch), so no zero fill - except with an empty batch, where nothing runs.
    Tensor dq = gq ? (d.n == 0 ? zeros(q.shape(), q.dtype()) : detail::alloc(q.shape(), q.dtype())) : Tensor();
    Tensor dk = gk ? (d.n == 0 ? zeros(k.shape(), k.dtype()) : detail::alloc(k.shape(), k.dtype())) : Tensor();
    detail::dispatch_float(q.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pq = ptr<T>(q);
      const T* pk = ptr<T>(k);
      const T* py = ptr<T>(xd);
      const T* pg = ptr<T>(g);
      const std::size_t ldq = d.h * d.hd;
      const T beta = T(scaling);
      if (d.nk == 1 && d.nq == d.n) {
        // Shared keys: per head, the logit gradient of all N*L rows, then one gemm each over all of them.
        Tensor dzt = scratch<T>(d.n * d.l * d.s);  // logit gradient of one head, (N, L, S)
        T* dz = ptr<T>(dzt);
        for (std::size_t h = 0; h < d.h; ++h) {
          parallel_for(d.n * d.l, row_grain(d.sp), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {  // r = n*L + l
              const std::size_t row = ((r / d.l * d.h + h) * d.l + r % d.l) * d.sp;
              softmax_grad_row(py + row, pg + row, dz + r * d.s, d.s, d.sp);
            }
          });
          if (gq) gemm<T>(false, false, d.n * d.l, d.hd, d.s, beta, dz, d.s, pk + h * d.hd, ldq, T(0), ptr<T>(dq) + h * d.hd, ldq);
          if (gk) gemm<T>(true, false, d.s, d.hd, d.n * d.l, beta, dz, d.s, pq + h * d.hd, ldq, T(0), ptr<T>(dk) + h * d.hd, ldq);
        }
        return;
      }
      // Per (n, h) block: its logit gradient dz (L, S) into a scratch block that stays in cache for the two
      // gemms after it. A q or k shared by the batch sums over the entries, in order, on one thread.
      auto blocks = [&](std::size_t b0, std::size_t b1) {
        Tensor dzt = scratch<T>(d.l * d.s);
        T* dz = ptr<T>(dzt);
        for (std::size_t b = b0; b < b1; ++b) {  // b = n*H + h
          softmax_grad_block<T>(py + b * d.l * d.sp, pg + b * d.l * d.sp, d.sp, d.sp, dz, d);
          qk_grads_block<T>(dz, pq, pk, gq ? ptr<T>(dq) : nullptr, gk ? ptr<T>(dk) : nullptr, d, scaling, b);
        }
      };
      if (d.nq == d.n && d.nk == d.n) parallel_gemm_for(d.n * d.h, blocks);
      else blocks(0, d.n * d.h);
    });
    if (gq) accumulate_grad(q, dq);
    if (gk) accumulate_grad(k, dk);
  });
}

// ----- associate -----
Tensor associate(const Tensor& xi, const Tensor& v, std::size_t num_heads) {
  const char* op = "associate";
  detail::check_float(xi, op, "xi");
  detail::check_same_dtype(xi, v, op);
  HF_CHECK(xi.dim() == 4 && v.dim() == 3 && num_heads > 0 && xi.size(1) == num_heads && v.size(2) % num_heads == 0 &&
               xi.size(3) >= v.size(1) && (v.size(0) == 1 || v.size(0) == xi.size(0)),
           op,
           "xi " << shape_str(xi.shape()) << " must be (N, H, L, S') and v " << shape_str(v.shape())
                 << " (N or 1, S <= S', H*pd) with H=num_heads=" << num_heads);
  const std::size_t n_ = xi.size(0), h_ = num_heads, l_ = xi.size(2), sp = xi.size(3), nv = v.size(0), s_ = v.size(1);
  const std::size_t pd = v.size(2) / num_heads, ldv = v.size(2);
  const bool fold = nv == 1 && n_ > 1;  // shared patterns: gather one head's xi rows, one gemm per head
  Tensor out = detail::alloc({n_, l_, h_ * pd}, xi.dtype());  // (N, L, H*pd)
  detail::dispatch_float(xi.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(xi);
    const T* pv = ptr<T>(v);
    T* po = ptr<T>(out);
    Tensor rows_t = scratch<T>(fold ? n_ * l_ * s_ : 0);
    T* rows = ptr<T>(rows_t);
    if (!fold) {
      // Blocks in (n, h) order, as xi is laid out: disjoint output blocks.
      parallel_gemm_for(n_ * h_, [&](std::size_t b0, std::size_t b1) {
        for (std::size_t b = b0; b < b1; ++b) {  // b = n*H + h
          const std::size_t n = b / h_, h = b % h_;
          gemm<T>(false, false, l_, pd, s_, T(1), px + b * l_ * sp, sp, pv + (nv == 1 ? 0 : n) * s_ * ldv + h * pd, ldv,
                  T(0), po + n * l_ * ldv + h * pd, ldv);
        }
      });
      return;
    }
    for (std::size_t h = 0; h < h_; ++h) {
      for (std::size_t n = 0; n < n_; ++n)
        for (std::size_t l = 0; l < l_; ++l)
          std::copy_n(px + ((n * h_ + h) * l_ + l) * sp, s_, rows + (n * l_ + l) * s_);
      gemm<T>(false, false, n_ * l_, pd, s_, T(1), rows, s_, pv + h * pd, ldv, T(0), po + h * pd, ldv);
    }
  });
  return record(out, op, {xi, v}, [xi, v, h_, op](const Tensor& g) {
    const bool gx = wants_grad(xi), gv = wants_grad(v);
    if (!gx && !gv) return;
    const std::size_t n_ = xi.size(0), l_ = xi.size(2), sp = xi.size(3), nv = v.size(0), s_ = v.size(1);
    const std::size_t pd = v.size(2) / h_, ldv = v.size(2);
    const bool fold = nv == 1 && n_ > 1;
    // dxi: every (n, h) block's first S columns are overwritten below; only the zero-association columns
    // (S' > S) are cleared here. dv: each block's first gemm has beta 0 (beta 1 after that when v is
    // shared by the batch); an empty batch writes nothing, so it gets zeros.
    Tensor dx = gx ? detail::alloc(xi.shape(), xi.dtype()) : Tensor();
    Tensor dv = gv ? (n_ == 0 ? zeros(v.shape(), v.dtype()) : detail::alloc(v.shape(), v.dtype())) : Tensor();
    detail::dispatch_float(xi.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = ptr<T>(xi);
      const T* pv = ptr<T>(v);
      const T* pg = ptr<T>(g);
      if (gx && sp > s_) {
        T* pdx = ptr<T>(dx);
        for (std::size_t r = 0, nr = n_ * h_ * l_; r < nr; ++r) std::fill(pdx + r * sp + s_, pdx + (r + 1) * sp, T(0));
      }
      if (fold) {
        Tensor rows_t = scratch<T>(n_ * l_ * s_);
        T* rows = ptr<T>(rows_t);
        for (std::size_t h = 0; h < h_; ++h) {
          if (gx) {  // dxi rows (N*L, S) = g_h (N*L, pd) V_h^T, then scattered into (N, H, L, S')
            gemm<T>(false, true, n_ * l_, s_, pd, T(1), pg + h * pd, ldv, pv + h * pd, ldv, T(0), rows, s_);
            T* pdx = ptr<T>(dx);
            for (std::size_t n = 0; n < n_; ++n)
              for (std::size_t l = 0; l < l_; ++l)
                std::copy_n(rows + (n * l_ + l) * s_, s_, pdx + ((n * h_ + h) * l_ + l) * sp);
          }
          if (gv) {  // dV_h (S, pd) = xi_h^T (S, N*L) g_h (N*L, pd): the sum over the batch
            for (std::size_t n = 0; n < n_; ++n)
              for (std::size_t l = 0; l < l_; ++l)
                std::copy_n(px + ((n * h_ + h) * l_ + l) * sp, s_, rows + (n * l_ + l) * s_);
            gemm<T>(true, false, s_, pd, n_ * l_, T(1), rows, s_, pg + h * pd, ldv, T(0), ptr<T>(dv) + h * pd, ldv);
          }
        }
        return;
      }
      // Not folded: v is per entry or the batch is one entry, so every block written is its own. Blocks in
      // (n, h) order, as xi is laid out.
      parallel_gemm_for(n_ * h_, [&](std::size_t b0, std::size_t b1) {
        for (std::size_t b = b0; b < b1; ++b) {  // b = n*H + h
          const std::size_t n = b / h_, h = b % h_;
          const T* gn = pg + n * l_ * ldv + h * pd;
          const std::size_t voff = (nv == 1 ? 0 : n) * s_ * ldv + h * pd;
          if (gx) gemm<T>(false, true, l_, s_, pd, T(1), gn, ldv, pv + voff, ldv, T(0), ptr<T>(dx) + b * l_ * sp, sp);
          if (gv) gemm<T>(true, false, s_, pd, l_, T(1), px + b * l_ * sp, sp, gn, ldv, T(0), ptr<T>(dv) + voff, ldv);
        }
      });
    });
    if (gx) accumulate_grad(xi, dx);
    if (gv) accumulate_grad(v, dv);
  });
}

// ----- fused_association -----
// Per block b = n*H + h, forward: logits and softmax (logits_softmax_block), then out[n, :, h] = xi_b V_b
// while xi_b is in cache. Backward from g = dout: dxi_b = g_b V_b^T into a scratch block (the zero-association
// column has no value, so its dxi is 0 and it is left out), the softmax backward in place on it, dV_b =
// xi_b^T g_b, then dq_b and dk_b (qk_grads_block): xi_b is read from memory once and dxi never goes there.
Tensor fused_association(const Tensor& q, const Tensor& k, const Tensor& v, std::size_t num_heads, double scaling,
                         const AssociationMasks& masks, bool add_zero_association, Tensor* xi_out) {
  const char* op = "fused_association";
  detail::check_float(v, op, "v");
  detail::check_same_dtype(q, v, op);
  HF_CHECK(v.dim() == 3, op, "v " << shape_str(v.shape()) << " must be (N, S, H*pd)");
  const ProbsDims d = detail::association_dims(q, k, num_heads, masks, add_zero_association, op, v.size(0));
  HF_CHECK(d.nq == d.n && d.nk == d.n && v.size(0) == d.n && v.size(1) == d.s && v.size(2) % num_heads == 0, op,
           "q " << shape_str(q.shape()) << ", k " << shape_str(k.shape()) << " and v " << shape_str(v.shape())
                << " must be (N, L, H*hd), (N, S, H*hd) and (N, S, H*pd) with N=" << d.n << " (no operand shared by the batch)"
                << " and H=num_heads=" << num_heads);
  const MaskView mv = read_masks(masks, d, q.dtype(), op);
  const std::size_t pd = v.size(2) / num_heads, ldv = v.size(2);
  Tensor xi = detail::alloc({d.n, d.h, d.l, d.sp}, q.dtype());  // (N, H, L, S')
  Tensor out = detail::alloc({d.n, d.l, d.h * pd}, q.dtype());  // (N, L, H*pd)
  detail::dispatch_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T *pq = ptr<T>(q), *pk = ptr<T>(k), *pv = ptr<T>(v);
    const T* padd = mv.additive.defined() ? ptr<T>(mv.additive) : nullptr;
    T *px = ptr<T>(xi), *po = ptr<T>(out);
    parallel_gemm_for(d.n * d.h, [&](std::size_t b0, std::size_t b1) {
      Tensor zt = scratch<T>(d.l * d.s);  // logits of one block (L, S)
      for (std::size_t b = b0; b < b1; ++b) {  // b = n*H + h
        const std::size_t n = b / d.h, h = b % d.h;
        logits_softmax_block<T>(pq, pk, px, ptr<T>(zt), d, mv, padd, scaling, b);
        gemm<T>(false, false, d.l, pd, d.s, T(1), px + b * d.l * d.sp, d.sp, pv + n * d.s * ldv + h * pd, ldv, T(0),
                po + n * d.l * ldv + h * pd, ldv);
      }
    });
  });
  if (xi_out) *xi_out = xi;
  return record(out, op, {q, k, v}, [q, k, v, xi, d, pd, scaling, op](const Tensor& g) {
    const bool gq = wants_grad(q), gk = wants_grad(k), gv = wants_grad(v);
    if (!gq && !gk && !gv) return;
    // Every block of dq / dk / dv is written by one gemm with beta 0 (no operand is shared by the batch).
    auto grad_buffer = [&](bool want, const Tensor& t) {
      return want ? (d.n == 0 ? zeros(t.shape(), t.dtype()) : detail::alloc(t.shape(), t.dtype())) : Tensor();
    };
    Tensor dq = grad_buffer(gq, q), dk = grad_buffer(gk, k), dv = grad_buffer(gv, v);
    detail::dispatch_float(q.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T *pq = ptr<T>(q), *pk = ptr<T>(k), *pv = ptr<T>(v), *px = ptr<T>(xi), *pg = ptr<T>(g);
      const std::size_t ldv = d.h * pd;
      parallel_gemm_for(d.n * d.h, [&](std::size_t b0, std::size_t b1) {
        Tensor dzt = scratch<T>(gq || gk ? d.l * d.s : 0);  // dxi, then dz of one block (L, S)
        T* dz = ptr<T>(dzt);
        for (std::size_t b = b0; b < b1; ++b) {  // b = n*H + h
          const std::size_t n = b / d.h, h = b % d.h;
          const T* gb = pg + n * d.l * ldv + h * pd;
          const T* xb = px + b * d.l * d.sp;
          const std::size_t voff = n * d.s * ldv + h * pd;
          // The softmax backward reads xi_b row by row, which brings it into cache for the dV gemm after it
          // (that gemm reads it column-wise, far slower from memory).
          if (gq || gk) {
            gemm<T>(false, true, d.l, d.s, pd, T(1), gb, ldv, pv + voff, ldv, T(0), dz, d.s);
            softmax_grad_block<T>(xb, dz, d.s, d.s, dz, d);
          }
          if (gv) gemm<T>(true, false, d.s, pd, d.l, T(1), xb, d.sp, gb, ldv, T(0), ptr<T>(dv) + voff, ldv);
          if (gq || gk) qk_grads_block<T>(dz, pq, pk, gq ? ptr<T>(dq) : nullptr, gk ? ptr<T>(dk) : nullptr, d, scaling, b);
        }
      });
    });
    if (gq) accumulate_grad(q, dq);
    if (gk) accumulate_grad(k, dk);
    if (gv) accumulate_grad(v, dv);
  });
}

// ----- select_heads -----
Tensor select_heads(const std::vector<Tensor>& xis, const std::vector<std::size_t>& step) {
  const char* op = "select_heads";
  HF_CHECK(!xis.empty(), op, "no association matrices given");
  const Tensor& x0 = xis[0];
  detail::check_float(x0, op, "xi");
  HF_CHECK(x0.dim() == 4 && step.size() == x0.size(1), op,
           "association matrices " << shape_str(x0.shape()) << " need one step index per head, got " << step.size());
  for (const Tensor& x : xis)
    HF_CHECK(x.shape() == x0.shape() && x.dtype() == x0.dtype(), op,
             "association matrices differ: " << shape_str(x.shape()) << " vs " << shape_str(x0.shape()));
  for (std::size_t s : step) HF_CHECK(s < xis.size(), op, "step " << s << " out of range (" << xis.size() << " matrices)");
  const std::size_t n_ = x0.size(0), h_ = x0.size(1), block = x0.size(2) * x0.size(3);
  Tensor out = detail::alloc(x0.shape(), x0.dtype());
  detail::dispatch_float(x0.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t n = 0; n < n_; ++n)
      for (std::size_t h = 0; h < h_; ++h)
        std::copy_n(ptr<T>(xis[step[h]]) + (n * h_ + h) * block, block, ptr<T>(out) + (n * h_ + h) * block);
  });
  return record(out, op, xis, [xis, step, n_, h_, block, op](const Tensor& g) {
    for (std::size_t i = 0; i < xis.size(); ++i) {
      if (!wants_grad(xis[i]) || std::find(step.begin(), step.end(), i) == step.end()) continue;
      Tensor gi = zeros(g.shape(), g.dtype());
      detail::dispatch_float(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        for (std::size_t n = 0; n < n_; ++n)
          for (std::size_t h = 0; h < h_; ++h)
            if (step[h] == i) std::copy_n(ptr<T>(g) + (n * h_ + h) * block, block, ptr<T>(gi) + (n * h_ + h) * block);
      });
      accumulate_grad(xis[i], gi);
    }
  });
}

std::vector<double> association_change(const Tensor& a, const Tensor& b) {
  const char* op = "association_change";
  detail::check_same_dtype(a, b, op);
  HF_CHECK(a.dim() == 4 && a.shape() == b.shape(), op,
           "association matrices " << shape_str(a.shape()) << " and " << shape_str(b.shape()) << " must be equal (N, H, L, S)");
  const std::size_t n_ = a.size(0), h_ = a.size(1), block = a.size(2) * a.size(3);
  std::vector<double> d(h_, 0.0);
  detail::dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t n = 0; n < n_; ++n)
      for (std::size_t h = 0; h < h_; ++h) {
        const T* pa = ptr<T>(a) + (n * h_ + h) * block;
        const T* pb = ptr<T>(b) + (n * h_ + h) * block;
        // In double: the decision must not depend on float32 accumulation order. Four partial sums (a
        // single running sum cannot be vectorised; the order only moves the result by rounding in double).
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        std::size_t i = 0;
        for (; i + 4 <= block; i += 4) {
          const double t0 = static_cast<double>(pa[i]) - static_cast<double>(pb[i]);
          const double t1 = static_cast<double>(pa[i + 1]) - static_cast<double>(pb[i + 1]);
          const double t2 = static_cast<double>(pa[i + 2]) - static_cast<double>(pb[i + 2]);
          const double t3 = static_cast<double>(pa[i + 3]) - static_cast<double>(pb[i + 3]);
          s0 += t0 * t0;
          s1 += t1 * t1;
          s2 += t2 * t2;
          s3 += t3 * t3;
        }
        for (; i < block; ++i) {
          const double t = static_cast<double>(pa[i]) - static_cast<double>(pb[i]);
          s0 += t * t;
        }
        d[h] = std::max(d[h], std::sqrt((s0 + s1) + (s2 + s3)));
      }
  });
  return d;
}

// ----- row_projection -----
Tensor row_projection(const Tensor& x, const Tensor& weight, std::size_t row_begin, std::size_t rows, const Tensor& bias,
                      std::size_t bias_begin) {
  const char* op = "row_projection";
  detail::check_float(x, op, "x");
  detail::check_same_dtype(x, weight, op);
  HF_CHECK(x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1) && row_begin + rows <= weight.size(0), op,
           "x " << shape_str(x.shape()) << " and weight " << shape_str(weight.shape()) << " rows [" << row_begin << ", "
                << row_begin + rows << ") do not fit");
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, op);
    HF_CHECK(bias.dim() == 1 && bias_begin + rows <= bias.size(0), op,
             "bias " << shape_str(bias.shape()) << " has no entries [" << bias_begin << ", " << bias_begin + rows << ")");
  }
  const std::size_t in = weight.size(1);
  const std::size_t mrows = x.numel() / std::max<std::size_t>(x.size(-1), 1);
  Shape out_shape = x.shape();
  out_shape.back() = rows;
  Tensor y = detail::alloc(out_shape, x.dtype());
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* py = ptr<T>(y);
    // The bias goes in first and the gemm adds onto it (beta 1): one pass over y instead of two.
    // The rows are filled by doubling the filled prefix (log2(mrows) copies, not one short copy per row).
    if (bias.defined() && mrows > 0) {
      std::copy_n(ptr<T>(bias) + bias_begin, rows, py);
      for (std::size_t done = 1; done < mrows;) {
        const std::size_t n = std::min(done, mrows - done);
        std::copy_n(py, n * rows, py + done * rows);
        done += n;
      }
    }
    gemm<T>(false, true, mrows, rows, in, T(1), ptr<T>(x), in, ptr<T>(weight) + row_begin * in, in,
            T(bias.defined() ? 1 : 0), py, rows);
  });
  return record(y, op, {x, weight, bias}, [x, weight, bias, row_begin, rows, bias_begin, mrows, in, op](const Tensor& g) {
    detail::dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pg = ptr<T>(g);
      if (wants_grad(x)) {
        Tensor dx = detail::alloc(x.shape(), x.dtype());
        gemm<T>(false, false, mrows, in, rows, T(1), pg, rows, ptr<T>(weight) + row_begin * in, in, T(0), ptr<T>(dx), in);
        accumulate_grad(x, dx);
      }
      if (wants_grad(weight)) {
        // Only the selected rows get a gradient: the rest is cleared, the selected rows are written by the gemm.
        Tensor dw = detail::alloc(weight.shape(), weight.dtype());
        T* pdw = ptr<T>(dw);
        std::fill(pdw, pdw + row_begin * in, T(0));
        std::fill(pdw + (row_begin + rows) * in, pdw + weight.numel(), T(0));
        gemm<T>(true, false, rows, in, mrows, T(1), pg, rows, ptr<T>(x), in, T(0), ptr<T>(dw) + row_begin * in, in);
        accumulate_grad(weight, dw);
      }
      if (bias.defined() && wants_grad(bias)) {
        Tensor db = zeros(bias.shape(), bias.dtype());
        T* pdb = ptr<T>(db) + bias_begin;
        for (std::size_t i = 0; i < mrows; ++i)
          for (std::size_t j = 0; j < rows; ++j) pdb[j] += pg[i * rows + j];
        accumulate_grad(bias, db);
      }
    });
  });
}

// ----- affine_row_projection -----
Tensor affine_row_projection(const Tensor& xhat, const Tensor& gamma, const Tensor& beta, const Tensor& weight,
                             std::size_t row_begin, std::size_t rows, const Tensor& bias, std::size_t bias_begin) {
  const char* op = "affine_row_projection";
  detail::check_float(xhat, op, "xhat");
  detail::check_same_dtype(xhat, weight, op);
  detail::check_same_dtype(xhat, gamma, op);
  HF_CHECK(xhat.dim() >= 1 && weight.dim() == 2 && xhat.size(-1) == weight.size(1) && row_begin + rows <= weight.size(0),
           op, "xhat " << shape_str(xhat.shape()) << " and weight " << shape_str(weight.shape()) << " rows [" << row_begin
                       << ", " << row_begin + rows << ") do not fit");
  HF_CHECK(gamma.dim() == 1 && gamma.size(0) == weight.size(1), op,
           "gamma " << shape_str(gamma.shape()) << " must be (" << weight.size(1) << ") for weight " << shape_str(weight.shape()));
  if (beta.defined()) {
    detail::check_same_dtype(xhat, beta, op);
    HF_CHECK(beta.dim() == 1 && beta.size(0) == weight.size(1), op,
             "beta " << shape_str(beta.shape()) << " must be (" << weight.size(1) << ") for weight " << shape_str(weight.shape()));
  }
  if (bias.defined()) {
    detail::check_same_dtype(xhat, bias, op);
    HF_CHECK(bias.dim() == 1 && bias_begin + rows <= bias.size(0), op,
             "bias " << shape_str(bias.shape()) << " has no entries [" << bias_begin << ", " << bias_begin + rows << ")");
  }
  const std::size_t in = weight.size(1);
  const std::size_t mrows = xhat.numel() / std::max<std::size_t>(xhat.size(-1), 1);
  Shape out_shape = xhat.shape();
  out_shape.back() = rows;
  Tensor y = detail::alloc(out_shape, xhat.dtype());
  // The folded weight W * gamma (rows, in), kept for the input gradient.
  Tensor wg = detail::alloc({rows, in}, xhat.dtype());
  detail::dispatch_float(xhat.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pw = ptr<T>(weight) + row_begin * in;
    const T* pgam = ptr<T>(gamma);
    const T* pbeta = beta.defined() ? ptr<T>(beta) : nullptr;
    T* pwg = ptr<T>(wg);
    T* py = ptr<T>(y);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < in; ++j) pwg[i * in + j] = pw[i * in + j] * pgam[j];
    if (mrows > 0 && (pbeta || bias.defined())) {
      // The shift row c = W beta + bias (summed in double), then copied into every row by doubling the filled
      // prefix; the gemm adds onto it (beta 1).
      for (std::size_t i = 0; i < rows; ++i) {
        double c = bias.defined() ? static_cast<double>(ptr<T>(bias)[bias_begin + i]) : 0.0;
        if (pbeta)
          for (std::size_t j = 0; j < in; ++j) c += static_cast<double>(pw[i * in + j]) * static_cast<double>(pbeta[j]);
        py[i] = static_cast<T>(c);
      }
      for (std::size_t done = 1; done < mrows;) {
        const std::size_t n = std::min(done, mrows - done);
        std::copy_n(py, n * rows, py + done * rows);
        done += n;
      }
      gemm<T>(false, true, mrows, rows, in, T(1), ptr<T>(xhat), in, pwg, in, T(1), py, rows);
    } else {
      gemm<T>(false, true, mrows, rows, in, T(1), ptr<T>(xhat), in, pwg, in, T(0), py, rows);
    }
  });
  return record(y, op, {xhat, gamma, beta, weight, bias},
                [xhat, gamma, beta, weight, bias, wg, row_begin, rows, bias_begin, mrows, in, op](const Tensor& g) {
    detail::dispatch_float(xhat.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pg = ptr<T>(g);
      const T* pw = ptr<T>(weight) + row_begin * in;
      if (wants_grad(xhat)) {
        Tensor dx = detail::alloc(xhat.shape(), xhat.dtype());
        gemm<T>(false, false, mrows, in, rows, T(1), pg, rows, ptr<T>(wg), in, T(0), ptr<T>(dx), in);
        accumulate_grad(xhat, dx);
      }
      const bool gw = wants_grad(weight), ggam = wants_grad(gamma);
      const bool gbeta = beta.defined() && wants_grad(beta), gbias = bias.defined() && wants_grad(bias);
      // Column sums of g (the shift's gradient), in double.
      std::vector<double> colsum(rows, 0.0);
      if (gw || gbeta || gbias)
        for (std::size_t r = 0; r < mrows; ++r)
          for (std::size_t i = 0; i < rows; ++i) colsum[i] += static_cast<double>(pg[r * rows + i]);
      if (gw || ggam) {
        Tensor gx_t = scratch<T>(rows * in);  // g^T xhat (rows, in)
        T* gx = ptr<T>(gx_t);
        gemm<T>(true, false, rows, in, mrows, T(1), pg, rows, ptr<T>(xhat), in, T(0), gx, in);
        const T* pgam = ptr<T>(gamma);
        const T* pbeta = beta.defined() ? ptr<T>(beta) : nullptr;
        if (gw) {
          // Only the selected rows get a gradient.
          Tensor dw = zeros(weight.shape(), weight.dtype());
          T* pdw = ptr<T>(dw) + row_begin * in;
          for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < in; ++j)
              pdw[i * in + j] = gx[i * in + j] * pgam[j] + (pbeta ? static_cast<T>(colsum[i]) * pbeta[j] : T(0));
          accumulate_grad(weight, dw);
        }
        if (ggam) {
          std::vector<double> dg(in, 0.0);
          for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < in; ++j) dg[j] += static_cast<double>(pw[i * in + j]) * static_cast<double>(gx[i * in + j]);
          Tensor dgam = detail::alloc(gamma.shape(), gamma.dtype());
          std::transform(dg.begin(), dg.end(), ptr<T>(dgam), [](double v) { return static_cast<T>(v); });
          accumulate_grad(gamma, dgam);
        }
      }
      if (gbeta) {
        std::vector<double> db(in, 0.0);
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t j = 0; j < in; ++j) db[j] += static_cast<double>(pw[i * in + j]) * colsum[i];
        Tensor dbeta = detail::alloc(beta.shape(), beta.dtype());
        std::transform(db.begin(), db.end(), ptr<T>(dbeta), [](double v) { return static_cast<T>(v); });
        accumulate_grad(beta, dbeta);
      }
      if (gbias) {
        Tensor dbias = zeros(bias.shape(), bias.dtype());
        T* pdb = ptr<T>(dbias) + bias_begin;
        for (std::size_t i = 0; i < rows; ++i) pdb[i] = static_cast<T>(colsum[i]);
        accumulate_grad(bias, dbias);
      }
    });
  });
}

Tensor split_heads_copy(const Tensor& v, std::size_t num_heads, std::size_t extra_zero_rows) {
  const char* op = "split_heads_copy";
  detail::check_float(v, op, "v");
  HF_CHECK(v.dim() == 3 && num_heads > 0 && v.size(2) % num_heads == 0, op,
           "v " << shape_str(v.shape()) << " must be (N, S, H*pd) with H=num_heads=" << num_heads);
  const std::size_t n_ = v.size(0), s_ = v.size(1), pd = v.size(2) / num_heads, sp = s_ + extra_zero_rows;
  Tensor out = zeros({n_, num_heads, sp, pd}, v.dtype());  // (N, H, S', pd)
  detail::dispatch_float(v.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pv = ptr<T>(v);
    T* po = ptr<T>(out);
    for (std::size_t n = 0; n < n_; ++n)
      for (std::size_t h = 0; h < num_heads; ++h)
        for (std::size_t s = 0; s < s_; ++s)
          std::copy_n(pv + (n * s_ + s) * v.size(2) + h * pd, pd, po + ((n * num_heads + h) * sp + s) * pd);
  });
  return out;
}


// ----- pooled_association -----
// Dk / Dv: feature sizes of the stored patterns y and of the projection inputs x. Kept for backward:
// qk (Nq, H, L, Dk) = q_h Wk_h, c (Nq, H, L) = q_h . bk_h, xi (N, H, L, S'), u (N, H, L, Dv) = xi_h x and
// sigma (N, H, L) = sum_{s<S} xi_h (the weight of bv_h: the zero-association column has no value).
// Logits: beta * (y qk + c) = beta * q (y Wk^T + bk)^T. Backward, per (n, h): du = g Wv_h, dWv_h += g^T u,
// dbv_h += g sigma; dxi = du x^T + g . bv_h; dx += xi^T du; dz = beta * xi * (dxi - sum_j xi_j dxi_j);
// dy += dz^T qk; dqk += dz y, dc += sum_s dz; then dq_h = dqk Wk_h^T + dc bk_h, dWk_h += q_h^T dqk,
// dbk_h += dc q_h.
Tensor pooled_association(const Tensor& q, const Tensor& y, const Tensor& x, const Tensor& wk, std::size_t wk_row,
                          const Tensor& bk, std::size_t bk_off, const Tensor& wv, std::size_t wv_row, const Tensor& bv,
                          std::size_t bv_off, std::size_t num_heads, std::size_t pattern_dim, double scaling,
                          const AssociationMasks& masks, bool add_zero_association, Tensor* xi_out) {
  const char* op = "pooled_association";
  detail::check_float(q, op, "q");
  for (const Tensor* t : {&y, &x, &wk, &wv}) detail::check_same_dtype(q, *t, op);
  HF_CHECK(q.dim() == 3 && y.dim() == 3 && x.dim() == 3, op,
           "q " << shape_str(q.shape()) << ", y " << shape_str(y.shape()) << " and x " << shape_str(x.shape())
                << " must be (N, L, H*hd), (N, S, Dk) and (N, S, Dv)");
  HF_CHECK(num_heads > 0 && pattern_dim > 0 && q.size(2) % num_heads == 0, op,
           "q " << shape_str(q.shape()) << " needs a feature size divisible by num_heads=" << num_heads
                << " (pattern_dim " << pattern_dim << " must be positive)");
  const std::size_t H = num_heads, hd = q.size(2) / H, pd = pattern_dim, L = q.size(1), S = y.size(1);
  const std::size_t Dk = y.size(2), Dv = x.size(2), nq = q.size(0), ny = y.size(0), nx = x.size(0);
  HF_CHECK(x.size(1) == S, op, "y " << shape_str(y.shape()) << " and x " << shape_str(x.shape()) << " need the same S");
  HF_CHECK(wk.dim() == 2 && wk.size(1) == Dk && wk_row + H * hd <= wk.size(0), op,
           "wk " << shape_str(wk.shape()) << " has no rows [" << wk_row << ", " << wk_row + H * hd << ") of size Dk=" << Dk);
  HF_CHECK(wv.dim() == 2 && wv.size(1) == Dv && wv_row + H * pd <= wv.size(0), op,
           "wv " << shape_str(wv.shape()) << " has no rows [" << wv_row << ", " << wv_row + H * pd << ") of size Dv=" << Dv);
  for (const Tensor* b : {&bk, &bv}) {
    if (!b->defined()) continue;
    detail::check_same_dtype(q, *b, op);
    const std::size_t need = b == &bk ? bk_off + H * hd : bv_off + H * pd;
    HF_CHECK(b->dim() == 1 && need <= b->size(0), op,
             (b == &bk ? "bk " : "bv ") << shape_str(b->shape()) << " has no entries up to " << need);
  }
  ProbsDims d;
  d.nq = nq;
  d.nk = ny;
  d.h = H;
  d.l = L;
  d.s = S;
  d.sp = S + (add_zero_association ? 1 : 0);
  d.hd = hd;
  d.n = std::max({nq, ny, nx});
  if (masks.stored_pattern_padding_mask.defined() && masks.stored_pattern_padding_mask.dim() == 2)
    d.n = std::max(d.n, masks.stored_pattern_padding_mask.size(0));
  if (masks.association_mask.defined() && masks.association_mask.dim() == 3)
    d.n = std::max(d.n, masks.association_mask.size(0) / H);
  const std::size_t N = d.n, sp = d.sp;
  HF_CHECK((nq == 1 || nq == N) && (ny == 1 || ny == N) && (nx == 1 || nx == N), op,
           "batch sizes of q " << shape_str(q.shape()) << ", y " << shape_str(y.shape()) << " and x "
                               << shape_str(x.shape()) << " must be 1 or N=" << N);
  const MaskView mv = read_masks(masks, d, q.dtype(), op);

  Tensor out = detail::alloc({N, L, H * pd}, q.dtype());
  Tensor xi = detail::alloc({N, H, L, sp}, q.dtype());
  Tensor qk = detail::alloc({nq, H, L, Dk}, q.dtype());
  Tensor c = bk.defined() ? detail::alloc({nq, H, L}, q.dtype()) : Tensor();
  Tensor u = detail::alloc({N, H, L, Dv}, q.dtype());
  Tensor sigma = detail::alloc({N, H, L}, q.dtype());
  detail::dispatch_float(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T *pq = ptr<T>(q), *py = ptr<T>(y), *px = ptr<T>(x), *pwk = ptr<T>(wk), *pwv = ptr<T>(wv);
    const T* padd = mv.additive.defined() ? ptr<T>(mv.additive) : nullptr;
    T *pqk = ptr<T>(qk), *pxi = ptr<T>(xi), *pu = ptr<T>(u), *psig = ptr<T>(sigma), *po = ptr<T>(out);
    T* pc = c.defined() ? ptr<T>(c) : nullptr;
    const std::size_t ldq = H * hd, ldo = H * pd;
    for (std::size_t a = 0; a < nq; ++a)
      for (std::size_t h = 0; h < H; ++h) {  // qk[a, h] (L, Dk) = q[a, :, h] (L, hd) Wk_h (hd, Dk)
        const T* qa = pq + a * L * ldq + h * hd;
        gemm<T>(false, false, L, Dk, hd, T(1), qa, ldq, pwk + (wk_row + h * hd) * Dk, Dk, T(0),
                pqk + (a * H + h) * L * Dk, Dk);
        if (pc)
          for (std::size_t l = 0; l < L; ++l) pc[(a * H + h) * L + l] = row_dot(qa + l * ldq, ptr<T>(bk) + bk_off + h * hd, hd);
      }
    const T beta = T(scaling);
    Tensor zt = scratch<T>(H * L * S);  // logits of one batch entry, (H*L, S)
    T* z = ptr<T>(zt);
    for (std::size_t n = 0; n < N; ++n) {
      const std::size_t a = nq == 1 ? 0 : n;
      const T* yn = py + (ny == 1 ? 0 : n) * S * Dk;
      const T* xn = px + (nx == 1 ? 0 : n) * S * Dv;
      gemm<T>(false, true, H * L, S, Dk, beta, pqk + a * H * L * Dk, Dk, yn, Dk, T(0), z, S);
      for (std::size_t r = 0; r < H * L; ++r) {  // r = h*L + l
        const std::size_t h = r / L, l = r % L;
        T* zr = z + r * S;
        if (pc) {
          const T shift = beta * pc[a * H * L + r];
          for (std::size_t j = 0; j < S; ++j) zr[j] += shift;
        }
        const std::size_t mrow = mv.per_entry ? ((n * H + h) * L + l) * S : l * S;
        T* xr = pxi + (n * H * L + r) * sp;
        softmax_row<T>(zr, xr, S, sp, mv.padding.empty() ? nullptr : mv.padding.data() + n * S,
                       mv.forbid.empty() ? nullptr : mv.forbid.data() + mrow, padd ? padd + mrow : nullptr);
        T tot = 0;
        for (std::size_t j = 0; j < S; ++j) tot += xr[j];
        psig[n * H * L + r] = tot;
      }
      // u[n] (H*L, Dv) = xi[n] (H*L, S) x_n (S, Dv)
      gemm<T>(false, false, H * L, Dv, S, T(1), pxi + n * H * L * sp, sp, xn, Dv, T(0), pu + n * H * L * Dv, Dv);
      for (std::size_t h = 0; h < H; ++h) {  // out[n, :, h] (L, pd) = u[n, h] Wv_h^T + bv_h sigma
        T* on = po + n * L * ldo + h * pd;
        if (bv.defined()) {
          const T* b = ptr<T>(bv) + bv_off + h * pd;
          for (std::size_t l = 0; l < L; ++l)
            for (std::size_t p = 0; p < pd; ++p) on[l * ldo + p] = b[p] * psig[(n * H + h) * L + l];
        }
        gemm<T>(false, true, L, pd, Dv, T(1), pu + (n * H + h) * L * Dv, Dv, pwv + (wv_row + h * pd) * Dv, Dv,
                T(bv.defined() ? 1 : 0), on, ldo);
      }
    }
  });
  if (xi_out) *xi_out = xi.detach();

  Tensor xid = xi.detach();
  return record(out, op, {q, y, x, wk, bk, wv, bv},
                [=](const Tensor& g) {
    const bool gq = wants_grad(q), gy = wants_grad(y), gx = wants_grad(x), gwk = wants_grad(wk), gwv = wants_grad(wv);
    const bool gbk = wants_grad(bk), gbv = wants_grad(bv);
    const bool same_w = wk.impl() == wv.impl(), same_b = bk.defined() && bv.defined() && bk.impl() == bv.impl();
    const bool need_dqk = gq || gwk || gbk;
    Tensor dq = gq ? zeros(q.shape(), q.dtype()) : Tensor();
    // dy / dx: each batch block's gemm writes it with beta 0 (beta 1 after that when shared by the batch).
    Tensor dy = gy ? (N == 0 ? zeros(y.shape(), y.dtype()) : detail::alloc(y.shape(), y.dtype())) : Tensor();
    Tensor dx = gx ? (N == 0 ? zeros(x.shape(), x.dtype()) : detail::alloc(x.shape(), x.dtype())) : Tensor();
    Tensor dwk = gwk ? zeros(wk.shape(), wk.dtype()) : Tensor();
    Tensor dwv = gwv ? (same_w ? dwk : zeros(wv.shape(), wv.dtype())) : Tensor();
    Tensor dbk = gbk ? zeros(bk.shape(), bk.dtype()) : Tensor();
    Tensor dbv = gbv ? (same_b ? dbk : zeros(bv.shape(), bv.dtype())) : Tensor();
    Tensor dqk = need_dqk ? zeros(qk.shape(), qk.dtype()) : Tensor();
    Tensor dc = need_dqk ? zeros({nq, H, L}, q.dtype()) : Tensor();
    detail::dispatch_float(q.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T *pq = ptr<T>(q), *py = ptr<T>(y), *px = ptr<T>(x), *pwk = ptr<T>(wk), *pwv = ptr<T>(wv);
      const T *pqk = ptr<T>(qk), *pxi = ptr<T>(xid), *pu = ptr<T>(u), *psig = ptr<T>(sigma), *pg = ptr<T>(g);
      const T* pbv = bv.defined() ? ptr<T>(bv) + bv_off : nullptr;
      const std::size_t ldq = H * hd, ldo = H * pd;
      const T beta = T(scaling);
      Tensor dut = scratch<T>(H * L * Dv), dzt = scratch<T>(H * L * S), dst = scratch<T>(H * L);
      T *du = ptr<T>(dut), *dz = ptr<T>(dzt), *dsig = ptr<T>(dst);
      for (std::size_t n = 0; n < N; ++n) {
        const std::size_t a = nq == 1 ? 0 : n;
        const T* yn = py + (ny == 1 ? 0 : n) * S * Dk;
        const T* xn = px + (nx == 1 ? 0 : n) * S * Dv;
        const T* gn = pg + n * L * ldo;
        const T* xin = pxi + n * H * L * sp;
        for (std::size_t h = 0; h < H; ++h) {
          // du[h] (L, Dv) = g[n, :, h] (L, pd) Wv_h (pd, Dv)
          gemm<T>(false, false, L, Dv, pd, T(1), gn + h * pd, ldo, pwv + (wv_row + h * pd) * Dv, Dv, T(0), du + h * L * Dv, Dv);
          if (gwv)  // dWv_h (pd, Dv) += g[n, :, h]^T u[n, h]
            gemm<T>(true, false, pd, Dv, L, T(1), gn + h * pd, ldo, pu + (n * H + h) * L * Dv, Dv, T(1),
                    ptr<T>(dwv) + (wv_row + h * pd) * Dv, Dv);
          for (std::size_t l = 0; l < L; ++l) {
            const T* gl = gn + l * ldo + h * pd;
            dsig[h * L + l] = pbv ? row_dot(gl, pbv + h * pd, pd) : T(0);
            if (gbv) {
              T* db = ptr<T>(dbv) + bv_off + h * pd;
              const T sg = psig[(n * H + h) * L + l];
              for (std::size_t p = 0; p < pd; ++p) db[p] += gl[p] * sg;
            }
          }
        }
        // dxi (H*L, S) = du x_n^T + dsigma; then the softmax backward in place: dz = beta xi (dxi - xi . dxi)
        gemm<T>(false, true, H * L, S, Dv, T(1), du, Dv, xn, Dv, T(0), dz, S);
        if (gx)  // dx_n (S, Dv) += xi[n]^T du
          gemm<T>(true, false, S, Dv, H * L, T(1), xin, sp, du, Dv, T(nx == 1 && n > 0 ? 1 : 0),
                  ptr<T>(dx) + (nx == 1 ? 0 : n) * S * Dv, Dv);
        for (std::size_t r = 0; r < H * L; ++r) {
          T* dr = dz + r * S;
          const T* xr = xin + r * sp;
          for (std::size_t j = 0; j < S; ++j) dr[j] += dsig[r];
          const T dot = row_dot(dr, xr, S);  // the zero-association column has dxi = 0
          T tot = 0;
          for (std::size_t j = 0; j < S; ++j) {
            dr[j] = beta * xr[j] * (dr[j] - dot);
            tot += dr[j];
          }
          if (need_dqk) ptr<T>(dc)[a * H * L + r] += tot;
        }
        if (gy)  // dy_n (S, Dk) += dz^T qk[a]
          gemm<T>(true, false, S, Dk, H * L, T(1), dz, S, pqk + a * H * L * Dk, Dk, T(ny == 1 && n > 0 ? 1 : 0),
                  ptr<T>(dy) + (ny == 1 ? 0 : n) * S * Dk, Dk);
        if (need_dqk)  // dqk[a] (H*L, Dk) += dz y_n
          gemm<T>(false, false, H * L, Dk, S, T(1), dz, S, yn, Dk, T(1), ptr<T>(dqk) + a * H * L * Dk, Dk);
      }
      if (!need_dqk) return;
      const T* pdqk = ptr<T>(dqk);
      const T* pdc = ptr<T>(dc);
      for (std::size_t a = 0; a < nq; ++a)
        for (std::size_t h = 0; h < H; ++h) {
          const T* dqkh = pdqk + (a * H + h) * L * Dk;
          const T* qa = pq + a * L * ldq + h * hd;
          const T* dca = pdc + (a * H + h) * L;
          if (gq) {  // dq[a, :, h] (L, hd) = dqk[a, h] Wk_h^T + dc bk_h
            T* dqa = ptr<T>(dq) + a * L * ldq + h * hd;
            gemm<T>(false, true, L, hd, Dk, T(1), dqkh, Dk, pwk + (wk_row + h * hd) * Dk, Dk, T(0), dqa, ldq);
            if (bk.defined()) {
              const T* b = ptr<T>(bk) + bk_off + h * hd;
              for (std::size_t l = 0; l < L; ++l)
                for (std::size_t j = 0; j < hd; ++j) dqa[l * ldq + j] += dca[l] * b[j];
            }
          }
          if (gwk)  // dWk_h (hd, Dk) += q[a, :, h]^T dqk[a, h]
            gemm<T>(true, false, hd, Dk, L, T(1), qa, ldq, dqkh, Dk, T(1), ptr<T>(dwk) + (wk_row + h * hd) * Dk, Dk);
          if (gbk) {
            T* db = ptr<T>(dbk) + bk_off + h * hd;
            for (std::size_t l = 0; l < L; ++l)
              for (std::size_t j = 0; j < hd; ++j) db[j] += dca[l] * qa[l * ldq + j];
          }
        }
    });
    if (gq) accumulate_grad(q, dq);
    if (gy) accumulate_grad(y, dy);
    if (gx) accumulate_grad(x, dx);
    if (gwk) accumulate_grad(wk, dwk);
    if (gwv && !same_w) accumulate_grad(wv, dwv);
    if (gbk) accumulate_grad(bk, dbk);
    if (gbv && !same_b) accumulate_grad(bv, dbv);
  });
}

}  // namespace hf
