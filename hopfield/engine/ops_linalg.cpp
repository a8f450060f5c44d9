// Matrix products on OpenBLAS gemm, forward and backward.
//
//   A: (..., m, k) or, transposed, (..., k, m)     B: (..., k, n) or, transposed, (..., n, k)
//   C = op(A) op(B): (batch..., m, n) with the batch axes broadcast (NumPy rules).
//
// Transposes are gemm flags, never copies. When B has no batch axes (a weight matrix) and A is not
// transposed, A's batch axes are folded into m: one big gemm instead of one per batch entry, and B's
// gradient is one gemm summing over the whole batch.
#include <algorithm>

#include "hopfield/engine/blas.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

namespace {

struct MatDims {
  std::size_t rows, cols;  // of the stored matrix
};

MatDims mat_dims(const Tensor& t) {
  const Shape& s = t.shape();
  return {s[s.size() - 2], s[s.size() - 1]};
}

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

// The bare batched product, no autograd. Both operands have rank >= 2.
Tensor bmm_raw(const Tensor& a, bool ta, const Tensor& b, bool tb, const char* op) {
  MatDims da = mat_dims(a), db = mat_dims(b);
  const std::size_t m = ta ? da.cols : da.rows, k = ta ? da.rows : da.cols;
  const std::size_t kb = tb ? db.cols : db.rows, n = tb ? db.rows : db.cols;
  HF_CHECK(k == kb, op,
           shape_str(a.shape()) << (ta ? "^T" : "") << " x " << shape_str(b.shape()) << (tb ? "^T" : "")
                                << ": inner dimensions differ (" << k << " vs " << kb << ")");
  Shape ba = batch_of(a), bb = batch_of(b);
  Shape batch = detail::broadcast_shapes(ba, bb, op);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = detail::alloc(out_shape, a.dtype());
  if (out.numel() == 0) return out;
  detail::dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = detail::ptr<T>(a);
    const T* pb = detail::ptr<T>(b);
    T* pc = detail::ptr<T>(out);
    const int lda = detail::blas_int(da.cols, op), ldb = detail::blas_int(db.cols, op);
    if (k == 0) {
      std::fill(pc, pc + out.numel(), T(0));
      return;
    }
    if (bb.empty() && !ta) {
      // Fold A's batch into m: (batch*m, k) x op(B).
      const std::size_t rows = shape_numel(batch) * m;
      blas::gemm(false, tb, detail::blas_int(rows, op), detail::blas_int(n, op), detail::blas_int(k, op), T(1), pa, lda, pb, ldb, T(0), pc,
                 detail::blas_int(n, op));
      return;
    }
    auto oa = detail::broadcast_offsets(ba, batch);
    auto ob = detail::broadcast_offsets(bb, batch);
    const std::size_t sa = da.rows * da.cols, sb = db.rows * db.cols, sc = m * n;
    // Debian's OpenBLAS 0.3.21 has no batched gemm: one call per batch entry.
    for (std::size_t i = 0; i < oa.size(); ++i)
      blas::gemm(ta, tb, detail::blas_int(m, op), detail::blas_int(n, op), detail::blas_int(k, op), T(1), pa + oa[i] * sa, lda, pb + ob[i] * sb,
                 ldb, T(0), pc + i * sc, detail::blas_int(n, op));
  });
  return out;
}

Tensor fold2d(const Tensor& t) {
  // (..., r, c) -> (prod(...) * r, c), sharing storage.
  Tensor v = t.detach();
  const Shape& s = t.shape();
  v.impl()->shape = {shape_numel(s) / s.back(), s.back()};
  return v;
}

// Differentiable C = op(A) op(B).
Tensor bmm(const Tensor& a, bool ta, const Tensor& b, bool tb, const char* op) {
  detail::check_same_dtype(a, b, op);
  HF_CHECK(a.dim() >= 2 && b.dim() >= 2, op,
           "operands need rank >= 2 here, got " << shape_str(a.shape()) << " and " << shape_str(b.shape()));
  Tensor out = bmm_raw(a, ta, b, tb, op);
  Tensor ad = a.detach(), bd = b.detach();
  return record(out, op, {a, b}, [a, b, ad, bd, ta, tb, op](const Tensor& g) {
    if (wants_grad(a)) {
      // dA = dC op(B)^T, or for a transposed A, op(B) dC^T.
      Tensor ga = ta ? bmm_raw(bd, tb, g, true, op) : bmm_raw(g, false, bd, !tb, op);
      accumulate_grad(a, detail::sum_to(ga, a.shape()));
    }
    if (wants_grad(b)) {
      Tensor gb;
      if (b.dim() == 2 && !ta && a.dim() > 2) {
        // B is shared by the whole batch: one gemm over the folded batch sums its gradient.
        Tensor a2 = fold2d(ad), g2 = fold2d(g);
        gb = tb ? bmm_raw(g2, true, a2, false, op) : bmm_raw(a2, true, g2, false, op);
      } else {
        // dB = op(A)^T dC, or for a transposed B, dC^T op(A).
        gb = tb ? bmm_raw(g, true, ad, ta, op) : bmm_raw(ad, !ta, g, false, op);
      }
      accumulate_grad(b, detail::sum_to(gb, b.shape()));
    }
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "matmul");
  HF_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul",
           "operands must have rank >= 1, got " << shape_str(a.shape()) << " x " << shape_str(b.shape()));
  if (a.dim() >= 2 && b.dim() >= 2) return bmm(a, false, b, false, "matmul");
  // 1-D operands: (k) acts as (1, k) on the left and (k, 1) on the right; the added axis is dropped.
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor out = bmm(a2, false, b2, false, "matmul");
  if (b.dim() == 1) out = squeeze(out, -1);
  if (a.dim() == 1) out = squeeze(out, -1 - (b.dim() == 1 ? 0 : 1));
  return out;
}

Tensor matmul_nt(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "matmul_nt");
  HF_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul_nt",
           "operands need rank >= 2, got " << shape_str(a.shape()) << " x " << shape_str(b.shape()) << "^T");
  return bmm(a, false, b, true, "matmul_nt");
}

}  // namespace hf
