// The streaming association core on OpenBLAS (scheme and memory bound in association_streaming.h).
//
// Per (block, head): a block is one batch entry's L query rows, or all N*L rows when K and V are shared by
// the batch (the same folding as association.cpp). Row r of a block holds batch entry n_r and state l_r.
// Online softmax per row: running max m and sum l; a chunk with max m_c gives m' = max(m, m_c),
// l' = l e^(m - m') + sum_j e^(z_j - m'), O' = O e^(m - m') + sum_j e^(z_j - m') v_j; at the end
// O / l is the softmax-weighted sum. The row statistics kept for the backward pass are m and 1 / l (the
// log-sum-exp m + log l in two parts): the backward's P = e^(z - m) / l is then computed exactly as the
// dense softmax computes it, whereas a float32 lse would round by up to |lse| * 6e-8, an error in every P
// that grows with beta. The zero association starts each row at m = 0, l = 1 (its logit 0 and zero
// value). A fully masked row keeps l = 0: its output is 0 and 1 / l is stored as 0, so P is 0 there.
// reference: Dao et al., "FlashAttention" (2022), algorithm 1 and appendix B.4 (backward);
// Rabe and Staats, "Self-attention does not need O(n^2) memory" (2021).
#include "hopfield/engine/association_streaming.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>

#include "hopfield/engine/association_detail.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/tape.h"

namespace hf {

namespace {

using detail::fast_expf;
using detail::MaskView;
using detail::ptr;

std::atomic<std::size_t> g_budget{std::size_t{64} << 20};
std::atomic<std::size_t> g_chunk{0};
// Automatic chunk: about this many bytes per R x C buffer (two live in the backward pass). Large enough for
// efficient gemm panels, small enough to stay mostly in the last-level cache between the gemm and the
// row pass.
constexpr std::size_t kChunkBytes = std::size_t{2} << 20;

// gemm on size_t dimensions; every caller has m, n, k > 0.
template <class T>
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda, const T* b,
          std::size_t ldb, T beta, T* c, std::size_t ldc) {
  const char* op = "association_streaming";
  blas::gemm(ta, tb, detail::blas_int(m, op), detail::blas_int(n, op), detail::blas_int(k, op), alpha, a,
             detail::blas_int(lda, op), b, detail::blas_int(ldb, op), beta, c, detail::blas_int(ldc, op));
}

// The sizes of association_probs (n, nq, nk, h, l, s, sp, hd) and those of the values and the chunking.
struct Dims : detail::ProbsDims {
  std::size_t nv = 1, pd = 0, chunk = 1;
  bool zero = false;
  bool fold = false;  // K and V shared, Q per batch entry: one block of N*L rows per head
  std::size_t blocks() const { return fold ? 1 : n; }
  std::size_t rows() const { return fold ? n * l : l; }
  std::size_t ldq() const { return h * hd; }
  std::size_t ldv() const { return h * pd; }
  std::size_t batch_of(std::size_t b, std::size_t r) const { return fold ? r / l : b; }
  std::size_t state_of(std::size_t r) const { return fold ? r % l : r; }
  // Offsets (in elements) of block b's rows of q / out, and of its stored patterns in k / v, for head h.
  std::size_t q_at(std::size_t b, std::size_t hh) const { return (nq == 1 ? 0 : b) * l * ldq() + hh * hd; }
  std::size_t k_at(std::size_t b, std::size_t hh) const { return (nk == 1 ? 0 : b) * s * ldq() + hh * hd; }
  std::size_t v_at(std::size_t b, std::size_t hh) const { return (nv == 1 ? 0 : b) * s * ldv() + hh * pd; }
  std::size_t out_at(std::size_t b, std::size_t hh) const { return b * l * ldv() + hh * pd; }
  // Offset of row r's statistics (m, 1 / l) in the (N, H, L, 2) statistics tensor.
  std::size_t stat_at(std::size_t b, std::size_t hh, std::size_t r) const {
    return 2 * ((batch_of(b, r) * h + hh) * l + state_of(r));
  }
};

Dims make_dims(const Tensor& q, const Tensor& k, const Tensor* v, std::size_t num_heads, const AssociationMasks& masks,
               bool zero, std::size_t chunk, const char* op) {
  if (v) {
    detail::check_float(q, op, "q");
    detail::check_same_dtype(q, *v, op);
    HF_CHECK(v->dim() == 3 && v->size(2) % std::max<std::size_t>(num_heads, 1) == 0 && v->size(2) > 0 &&
                 (k.dim() != 3 || v->size(1) == k.size(1)),
             op, "v " << shape_str(v->shape()) << " must be (N, S, H*pd) with S=" << (k.dim() == 3 ? k.size(1) : 0)
                      << " and H=num_heads=" << num_heads);
  }
  const detail::ProbsDims p = detail::association_dims(q, k, num_heads, masks, zero, op, v ? v->size(0) : 1);
  HF_CHECK(p.hd > 0, op, "q " << shape_str(q.shape()) << " has no features");
  Dims d;
  static_cast<detail::ProbsDims&>(d) = p;
  d.zero = zero;
  d.nv = v ? v->size(0) : 1;
  d.pd = v ? v->size(2) / num_heads : 0;
  HF_CHECK(d.nv == 1 || d.nv == d.n, op, "batch size of v " << (v ? shape_str(v->shape()) : std::string()) << " must be 1 or N=" << d.n);
  d.fold = d.n > 1 && d.nq == d.n && d.nk == 1 && d.nv == 1;
  if (chunk == 0) chunk = g_chunk.load();
  if (chunk == 0) {
    const std::size_t elem = q.dtype() == Dtype::Float32 ? 4 : 8;
    chunk = std::max<std::size_t>(64, kChunkBytes / (std::max<std::size_t>(d.rows(), 1) * elem));
  }
  d.chunk = std::max<std::size_t>(1, std::min(chunk, d.s));
  return d;
}


// Every element finite (float32 only: the vectorised exp assumes finite logits; a non-finite input takes
// the std::exp path, which propagates NaN like the dense core).
bool all_finite(const Tensor& t) {
  if (!t.defined() || t.dtype() != Dtype::Float32) return true;
  const float* p = ptr<float>(t);
  float probe = 0.0f;
  for (std::size_t i = 0, n = t.numel(); i < n; ++i) probe += p[i] * 0.0f;
  return probe == 0.0f;
}

// No NaN and no +inf (float32 only): a float association mask may hold -inf (masked entries), which the
// vectorised exp maps to 0 like std::exp.
bool no_nan_or_pos_inf(const Tensor& t) {
  if (!t.defined() || t.dtype() != Dtype::Float32) return true;
  const float* p = ptr<float>(t);
  const float inf = std::numeric_limits<float>::infinity();
  bool bad = false;
  for (std::size_t i = 0, n = t.numel(); i < n; ++i) bad |= std::isnan(p[i]) || p[i] == inf;
  return !bad;
}

// max_j z[j] (-inf for an empty or fully masked row); eight partial maxima so that the float loop vectorises.
template <class T>
T row_max(const T* z, std::size_t c) {
  constexpr std::size_t W = 8;
  T mx[W];
  for (std::size_t t = 0; t < W; ++t) mx[t] = -std::numeric_limits<T>::infinity();
  std::size_t j = 0;
  for (; j + W <= c; j += W)
    for (std::size_t t = 0; t < W; ++t) mx[t] = mx[t] < z[j + t] ? z[j + t] : mx[t];
  for (; j < c; ++j) mx[0] = mx[0] < z[j] ? z[j] : mx[0];
  T m = mx[0];
  for (std::size_t t = 1; t < W; ++t) m = m < mx[t] ? mx[t] : m;
  return m;
}

// The stopping statistic ||p_a - p_b|| of two states a, b streamed together (association_change_streaming):
// the a side is the row's own online softmax (max m, sum l); this holds the b side's max and sum and, in
// double, A2 = sum_j e_aj^2, B2 = sum_j e_bj^2, AB = sum_j e_aj e_bj (e_j = e^(z_j - m), rescaled like the
// sums when a max grows). Then ||p_a - p_b||^2 = A2 / l_a^2 + B2 / l_b^2 - 2 AB / (l_a l_b): the terms are
// at most 1 and the stopping threshold is about 1e-4 on the norm (1e-8 on the square), far above the
// double rounding of the difference.
struct PairRow {
  double mb = -std::numeric_limits<double>::infinity(), lb = 0, a2 = 0, b2 = 0, ab = 0;
};

// The read-only state of one streaming call: dims, masks, pointers, beta.
template <class T>
struct Stream {
  const Dims& d;
  const MaskView& mv;
  const T* k;
  T beta;
  bool fast;  // float with finite inputs: fast_expf in vectorisable loops

  // z (R x c) = beta * Q_b,h K_b,h[s0 : s0 + c]^T, then the masks: the float mask added, -inf where
  // forbidden (the order of association_probs).
  void scores(const T* q, std::size_t b, std::size_t hh, std::size_t s0, std::size_t c, T* z) const {
    const std::size_t rows = d.rows(), ld = d.ldq(), sl = d.s;
    gemm<T>(false, true, rows, c, d.hd, beta, q + d.q_at(b, hh), ld, k + d.k_at(b, hh) + s0 * ld, ld, T(0), z, c);
    const T* add = mv.additive.defined() ? ptr<T>(mv.additive) : nullptr;
    if (mv.padding.empty() && mv.forbid.empty() && !add) return;
    const T neg_inf = -std::numeric_limits<T>::infinity();
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t n = d.batch_of(b, r), l = d.state_of(r);
      const std::size_t mrow = (mv.per_entry ? (n * d.h + hh) * d.l + l : l) * sl + s0;
      T* zr = z + r * c;
      if (add)
        for (std::size_t j = 0; j < c; ++j) zr[j] += add[mrow + j];
      if (!mv.forbid.empty()) {
        const std::uint8_t* f = mv.forbid.data() + mrow;
        for (std::size_t j = 0; j < c; ++j)
          if (f[j]) zr[j] = neg_inf;
      }
      if (!mv.padding.empty()) {
        const std::uint8_t* p = mv.padding.data() + n * sl + s0;
        for (std::size_t j = 0; j < c; ++j)
          if (p[j]) zr[j] = neg_inf;
      }
    }
  }

  // One row of a chunk: z -> e^(z - m') in place with m' = max(m, max_j z_j); m and sum are updated.
  // Returns e^(m - m'), the factor for the row's earlier output (0 while the row had no entry yet).
  T online_row(T* z, std::size_t c, T& m, double& sum) const {
    const T neg_inf = -std::numeric_limits<T>::infinity();
    const T mn = std::max(m, row_max(z, c));
    if (mn == neg_inf) {  // nothing unmasked so far
      std::fill(z, z + c, T(0));
      return T(0);
    }
    const T scale = m == neg_inf ? T(0) : std::exp(m - mn);
    double chunk_sum = 0;
    if constexpr (std::is_same_v<T, float>) {
      if (fast && mn < std::numeric_limits<float>::infinity()) {
        constexpr std::size_t W = 8;
        float acc[W] = {};
        std::size_t j = 0;
        for (; j + W <= c; j += W)
          for (std::size_t t = 0; t < W; ++t) {
            z[j + t] = fast_expf(z[j + t] - mn);
            acc[t] += z[j + t];
          }
        for (; j < c; ++j) {
          z[j] = fast_expf(z[j] - mn);
          acc[0] += z[j];
        }
        chunk_sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        sum = sum * static_cast<double>(scale) + chunk_sum;
        m = mn;
        return scale;
      }
    }
    for (std::size_t j = 0; j < c; ++j) {
      z[j] = z[j] == neg_inf ? T(0) : std::exp(z[j] - mn);
      chunk_sum += z[j];
    }
    sum = sum * static_cast<double>(scale) + chunk_sum;
    m = mn;
    return scale;
  }

  // z -> e^(z - m) inv in place: the probabilities of a row with known statistics (m, inv = 1 / l).
  void probs_row(T* z, std::size_t c, const T* stat) const {
    const T m = stat[0], inv = stat[1];
    if constexpr (std::is_same_v<T, float>) {
      if (fast && m < std::numeric_limits<float>::infinity()) {
        for (std::size_t j = 0; j < c; ++j) z[j] = fast_expf(z[j] - m) * inv;
        return;
      }
    }
    for (std::size_t j = 0; j < c; ++j) z[j] = z[j] == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(z[j] - m) * inv;
  }

  // One row of a chunk for the stopping statistic: ea = the a side's e^(z - m) after online_row (which
  // returned sa), zb = the b side's scores (overwritten by its exponentials).
  void pair_row(const T* ea, T sa, T* zb, std::size_t c, PairRow& w) const {
    const double neg_inf = -std::numeric_limits<double>::infinity();
    const double mnb = std::max(w.mb, static_cast<double>(row_max(zb, c)));
    if (mnb == neg_inf) return;  // nothing unmasked so far (the masks of a and b are the same)
    const double sad = static_cast<double>(sa), sb = w.mb == neg_inf ? 0.0 : std::exp(w.mb - mnb);
    w.lb *= sb;
    w.a2 *= sad * sad;
    w.b2 *= sb * sb;
    w.ab *= sad * sb;
    w.mb = mnb;
    const T stat_b[2] = {static_cast<T>(mnb), T(1)};
    probs_row(zb, c, stat_b);
    // Eight partial sums per quantity, so that the loop vectorises.
    constexpr std::size_t W = 8;
    double lb[W] = {}, a2[W] = {}, b2[W] = {}, ab[W] = {};
    std::size_t j = 0;
    for (; j + W <= c; j += W)
      for (std::size_t t = 0; t < W; ++t) {
        const double ea_ = ea[j + t], eb = zb[j + t];
        lb[t] += eb;
        a2[t] += ea_ * ea_;
        b2[t] += eb * eb;
        ab[t] += ea_ * eb;
      }
    for (; j < c; ++j) {
      const double ea_ = ea[j], eb = zb[j];
      lb[0] += eb;
      a2[0] += ea_ * ea_;
      b2[0] += eb * eb;
      ab[0] += ea_ * eb;
    }
    for (std::size_t t = 0; t < W; ++t) {
      w.lb += lb[t];
      w.a2 += a2[t];
      w.b2 += b2[t];
      w.ab += ab[t];
    }
  }

  // Row statistics of block b, head hh for queries q: stat[2r], stat[2r+1] = m, 1 / l (0, 0 when the row
  // is fully masked). When v and out are given, also out rows = softmax-weighted sums of v (out must hold
  // zeros). When qb is given (a second state, same layout as q; zb a second chunk buffer), also
  // d2[r] = ||softmax row r of q - that of qb||^2 over the stored patterns and the zero association.
  void forward(const T* q, const T* v, T* out, std::size_t b, std::size_t hh, T* z, T* stat, const T* qb = nullptr,
               T* zb = nullptr, double* d2 = nullptr) const {
    const std::size_t rows = d.rows(), ldv = d.ldv();
    const T neg_inf = -std::numeric_limits<T>::infinity();
    std::vector<T> m(rows, d.zero ? T(0) : neg_inf);
    std::vector<double> sum(rows, d.zero ? 1.0 : 0.0);
    PairRow start;
    if (d.zero) {  // the zero association: logit 0 in both states, e = 1
      start.mb = 0;
      start.lb = start.a2 = start.b2 = start.ab = 1;
    }
    std::vector<PairRow> pairs(qb ? rows : 0, start);
    T* o = out ? out + d.out_at(b, hh) : nullptr;
    for (std::size_t s0 = 0; s0 < d.s; s0 += d.chunk) {
      const std::size_t c = std::min(d.chunk, d.s - s0);
      scores(q, b, hh, s0, c, z);
      if (qb) scores(qb, b, hh, s0, c, zb);
      for (std::size_t r = 0; r < rows; ++r) {
        const bool had = m[r] != neg_inf;
        const T scale = online_row(z + r * c, c, m[r], sum[r]);
        if (qb) pair_row(z + r * c, scale, zb + r * c, c, pairs[r]);
        if (o && had && scale != T(1))
          for (std::size_t p = 0; p < d.pd; ++p) o[r * ldv + p] *= scale;
      }
      if (o) gemm<T>(false, false, rows, d.pd, c, T(1), z, c, v + d.v_at(b, hh) + s0 * ldv, ldv, T(1), o, ldv);
    }
    if (qb)
      for (std::size_t r = 0; r < rows; ++r) {
        const PairRow& x = pairs[r];
        const double la = sum[r];
        d2[r] = la == 0 || x.lb == 0 ? 0.0  // fully masked: both rows are zeros
                                     : std::max(0.0, x.a2 / (la * la) + x.b2 / (x.lb * x.lb) - 2 * x.ab / (la * x.lb));
      }
    for (std::size_t r = 0; r < rows; ++r) {
      if (sum[r] == 0) {
        stat[2 * r] = stat[2 * r + 1] = T(0);
        continue;
      }
      const T inv = static_cast<T>(1.0 / sum[r]);
      stat[2 * r] = m[r];
      stat[2 * r + 1] = inv;
      if (o)
        for (std::size_t p = 0; p < d.pd; ++p) o[r * ldv + p] *= inv;
    }
  }
};

template <class T>
Dtype dtype_of() {
  return std::is_same_v<T, float> ? Dtype::Float32 : Dtype::Float64;
}

}  // namespace

std::size_t default_association_memory_budget() { return g_budget.load(); }
void set_default_association_memory_budget(std::size_t bytes) { g_budget.store(bytes); }
std::size_t default_association_chunk() { return g_chunk.load(); }
void set_default_association_chunk(std::size_t chunk) { g_chunk.store(chunk); }

std::size_t association_matrix_bytes(std::size_t batch, std::size_t heads, std::size_t states, std::size_t stored,
                                     bool add_zero_association, Dtype dtype) {
  const long double bytes = static_cast<long double>(batch) * heads * states * (stored + (add_zero_association ? 1 : 0)) *
                            (dtype == Dtype::Float64 ? 8 : 4);
  const long double cap = static_cast<long double>(std::numeric_limits<std::size_t>::max());
  return bytes >= cap ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(bytes);
}

// ----- association_streaming -----
namespace {

// association_streaming, and with previous (a state of q's shape, no gradient) also change[h] = the
// stopping statistic between the association of q and that of previous, from the same pass over the keys.
Tensor stream_op(const Tensor& q, const Tensor& k, const Tensor& v, std::size_t num_heads, double scaling,
                 const AssociationMasks& masks, bool add_zero_association, std::size_t chunk, const char* op,
                 const Tensor* previous = nullptr, std::vector<double>* change = nullptr) {
  HF_CHECK(v.defined(), op, "v is undefined");
  const Dims d = make_dims(q, k, &v, num_heads, masks, add_zero_association, chunk, op);
  if (previous) {
    detail::check_same_dtype(q, *previous, op);
    HF_CHECK(previous->shape() == q.shape(), op,
             "states " << shape_str(q.shape()) << " and " << shape_str(previous->shape()) << " differ");
    change->assign(d.h, 0.0);
  }
  auto mv = std::make_shared<const MaskView>(detail::read_masks(masks, d, q.dtype(), op));
  const bool fast = all_finite(q) && all_finite(k) && no_nan_or_pos_inf(mv->additive) && (!previous || all_finite(*previous));
  Tensor out = zeros({d.n, d.l, d.h * d.pd}, q.dtype());  // (N, L, H*pd)
  Tensor stats = detail::alloc({d.n, d.h, d.l, 2}, q.dtype());  // row (m, 1 / l), kept for the backward pass
  if (d.rows() > 0) {
    detail::dispatch_float(q.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const Stream<T> st{d, *mv, ptr<T>(k), T(scaling), fast};
      Tensor zt = detail::alloc({d.rows() * d.chunk}, dtype_of<T>());
      Tensor zbt = detail::alloc({previous ? d.rows() * d.chunk : 0}, dtype_of<T>());
      std::vector<T> row_stat(2 * d.rows());
      std::vector<double> d2(previous ? d.rows() : 0);
      for (std::size_t hh = 0; hh < d.h; ++hh) {
        std::vector<double> sq(d.n, 0.0);  // per batch entry: squared Frobenius norm of the difference
        for (std::size_t b = 0; b < d.blocks(); ++b) {
          st.forward(ptr<T>(q), ptr<T>(v), ptr<T>(out), b, hh, ptr<T>(zt), row_stat.data(),
                     previous ? ptr<T>(*previous) : nullptr, ptr<T>(zbt), d2.data());
          for (std::size_t r = 0; r < d.rows(); ++r) {
            std::copy_n(row_stat.data() + 2 * r, 2, ptr<T>(stats) + d.stat_at(b, hh, r));
            if (previous) sq[d.batch_of(b, r)] += d2[r];
          }
        }
        if (previous)
          for (double s2 : sq) (*change)[hh] = std::max((*change)[hh], std::sqrt(s2));
      }
    });
  }
  return record(out, op, {q, k, v}, [q, k, v, stats, o = out.detach(), d, mv, scaling, fast, op](const Tensor& g) {
    const bool gq = wants_grad(q), gk = wants_grad(k), gv = wants_grad(v);
    if (!gq && !gk && !gv) return;
    Tensor dq = gq ? zeros(q.shape(), q.dtype()) : Tensor();
    Tensor dk = gk ? zeros(k.shape(), k.dtype()) : Tensor();
    Tensor dv = gv ? zeros(v.shape(), v.dtype()) : Tensor();
    if (d.rows() > 0 && d.s > 0) {
      detail::dispatch_float(q.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const Stream<T> st{d, *mv, ptr<T>(k), T(scaling), fast};
        const std::size_t rows = d.rows(), ldq = d.ldq(), ldv = d.ldv();
        Tensor pt = detail::alloc({rows * d.chunk}, dtype_of<T>());   // P of a chunk
        Tensor dst = detail::alloc({rows * d.chunk}, dtype_of<T>());  // dP, then dS, of a chunk
        T* p = ptr<T>(pt);
        T* ds = ptr<T>(dst);
        std::vector<T> dot(rows), row_stat(2 * rows);
        const T beta = T(scaling);
        for (std::size_t hh = 0; hh < d.h; ++hh)
          for (std::size_t b = 0; b < d.blocks(); ++b) {
            const T* go = ptr<T>(g) + d.out_at(b, hh);
            const T* oo = ptr<T>(o) + d.out_at(b, hh);
            for (std::size_t r = 0; r < rows; ++r) {
              T acc = 0;  // D = rowsum(dO * O) = sum_j P_j dP_j
              for (std::size_t c = 0; c < d.pd; ++c) acc += go[r * ldv + c] * oo[r * ldv + c];
              dot[r] = acc;
              std::copy_n(ptr<T>(stats) + d.stat_at(b, hh, r), 2, row_stat.data() + 2 * r);
            }
            for (std::size_t s0 = 0; s0 < d.s; s0 += d.chunk) {
              const std::size_t c = std::min(d.chunk, d.s - s0);
              st.scores(ptr<T>(q), b, hh, s0, c, p);
              for (std::size_t r = 0; r < rows; ++r) st.probs_row(p + r * c, c, row_stat.data() + 2 * r);
              const T* vc = ptr<T>(v) + d.v_at(b, hh) + s0 * ldv;
              if (gv) gemm<T>(true, false, c, d.pd, rows, T(1), p, c, go, ldv, T(1), ptr<T>(dv) + d.v_at(b, hh) + s0 * ldv, ldv);
              if (!gq && !gk) continue;
              gemm<T>(false, true, rows, c, d.pd, T(1), go, ldv, vc, ldv, T(0), ds, c);  // dP = dO V_c^T
              for (std::size_t r = 0; r < rows; ++r) {
                T* dr = ds + r * c;
                const T* pr = p + r * c;
                const T dr0 = dot[r];
                for (std::size_t j = 0; j < c; ++j) dr[j] = pr[j] * (dr[j] - dr0);
              }
              if (gq)
                gemm<T>(false, false, rows, d.hd, c, beta, ds, c, ptr<T>(k) + d.k_at(b, hh) + s0 * ldq, ldq, T(1),
                        ptr<T>(dq) + d.q_at(b, hh), ldq);
              if (gk)
                gemm<T>(true, false, c, d.hd, rows, beta, ds, c, ptr<T>(q) + d.q_at(b, hh), ldq, T(1),
                        ptr<T>(dk) + d.k_at(b, hh) + s0 * ldq, ldq);
            }
          }
      });
    }
    if (gq) accumulate_grad(q, dq);
    if (gk) accumulate_grad(k, dk);
    if (gv) accumulate_grad(v, dv);
  });
}

}  // namespace

Tensor association_streaming(const Tensor& q, const Tensor& k, const Tensor& v, std::size_t num_heads, double scaling,
                             const AssociationMasks& masks, bool add_zero_association, std::size_t chunk) {
  return stream_op(q, k, v, num_heads, scaling, masks, add_zero_association, chunk, "association_streaming");
}

Tensor association_streaming_update(const Tensor& q, const Tensor& previous, const Tensor& k, std::size_t num_heads,
                                    double scaling, const AssociationMasks& masks, bool add_zero_association,
                                    std::vector<double>& change, std::size_t chunk) {
  HF_CHECK(previous.defined(), "association_streaming_update", "previous is undefined");
  const Tensor prev = previous.detach();
  return stream_op(q, k, k, num_heads, scaling, masks, add_zero_association, chunk, "association_streaming_update", &prev,
                   &change);
}

// ----- association_change_streaming -----
std::vector<double> association_change_streaming(const Tensor& qa, const Tensor& qb, const Tensor& k,
                                                 std::size_t num_heads, double scaling, const AssociationMasks& masks,
                                                 bool add_zero_association, std::size_t chunk) {
  const char* op = "association_change_streaming";
  const Dims d = make_dims(qa, k, nullptr, num_heads, masks, add_zero_association, chunk, op);
  detail::check_same_dtype(qa, qb, op);
  HF_CHECK(qa.shape() == qb.shape(), op, "states " << shape_str(qa.shape()) << " and " << shape_str(qb.shape()) << " differ");
  const MaskView mv = detail::read_masks(masks, d, qa.dtype(), op);
  const bool fast = all_finite(qa) && all_finite(qb) && all_finite(k) && no_nan_or_pos_inf(mv.additive);
  std::vector<double> change(d.h, 0.0);
  if (d.rows() == 0) return change;
  detail::dispatch_float(qa.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const Stream<T> st{d, mv, ptr<T>(k), T(scaling), fast};
    const std::size_t rows = d.rows();
    Tensor zat = detail::alloc({rows * d.chunk}, dtype_of<T>()), zbt = detail::alloc({rows * d.chunk}, dtype_of<T>());
    std::vector<T> stat(2 * rows);
    std::vector<double> d2(rows);
    for (std::size_t hh = 0; hh < d.h; ++hh) {
      std::vector<double> sq(d.n, 0.0);  // per batch entry: squared Frobenius norm of the difference
      for (std::size_t b = 0; b < d.blocks(); ++b) {
        st.forward(ptr<T>(qa), nullptr, nullptr, b, hh, ptr<T>(zat), stat.data(), ptr<T>(qb), ptr<T>(zbt), d2.data());
        for (std::size_t r = 0; r < rows; ++r) sq[d.batch_of(b, r)] += d2[r];
      }
      for (double s2 : sq) change[hh] = std::max(change[hh], std::sqrt(s2));
    }
  });
  return change;
}


}  // namespace hf
