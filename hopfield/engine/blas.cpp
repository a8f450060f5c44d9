// The only translation unit that includes OpenBLAS's <cblas.h> (see blas.h).
#include "hopfield/engine/blas.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include <cblas.h>

namespace hf::blas {

namespace {

std::atomic<std::uint64_t> flop_count{0};

std::atomic<bool> profiling{false};
std::mutex profile_mutex;
using ShapeKey = std::tuple<bool, bool, bool, int, int, int, int, int, int>;
std::map<ShapeKey, GemmShape>& profile_entries() {
  static std::map<ShapeKey, GemmShape> entries;
  return entries;
}

// Times one call into its shape's entry while profiling is on.
template <class T, class F>
void timed(bool ta, bool tb, int m, int n, int k, int lda, int ldb, int ldc, F&& call) {
  if (!profiling.load(std::memory_order_relaxed)) {
    call();
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  call();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool dbl = sizeof(T) == sizeof(double);
  std::lock_guard<std::mutex> lock(profile_mutex);
  GemmShape& e = profile_entries()[ShapeKey{ta, tb, dbl, m, n, k, lda, ldb, ldc}];
  e = GemmShape{ta, tb, dbl, m, n, k, lda, ldb, ldc, e.calls + 1, e.seconds + dt};
}

// Degenerate products go to level-2 BLAS: a gemm with one row, one column or k = 1 is a matrix-vector
// product or a rank-1 update, and OpenBLAS's gemm would still pack the whole large operand first (in
// pooling, a 1 x S logits row against S x Dk stored patterns). Row-major throughout; beta 0 clears C here
// first, so C's old contents never matter (as for gemm).
template <class T, class Gemm, class Gemv, class Ger>
void gemm_any(bool ta, bool tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T beta, T* c,
              int ldc, Gemm gemm_fn, Gemv gemv_fn, Ger ger_fn) {
  flop_count.fetch_add(2ull * static_cast<std::uint64_t>(m) * static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(k),
                       std::memory_order_relaxed);
  auto clear = [&](int rows, int cols) {
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) c[static_cast<long>(i) * ldc + j] = beta == T(0) ? T(0) : beta * c[static_cast<long>(i) * ldc + j];
  };
  if (m == 1 && n > 1 && k > 1) {  // c (1 x n) = alpha a (1 x k) op(B) + beta c
    const int inca = ta ? lda : 1;
    if (beta == T(0)) clear(1, n);
    if (tb) gemv_fn(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, inca, beta == T(0) ? T(1) : beta, c, 1);
    else gemv_fn(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, inca, beta == T(0) ? T(1) : beta, c, 1);
    return;
  }
  if (n == 1 && m > 1 && k > 1) {  // c (m x 1, stride ldc) = alpha op(A) b (k x 1) + beta c
    const int incb = tb ? 1 : ldb;
    if (beta == T(0)) clear(m, 1);
    if (ta) gemv_fn(CblasRowMajor, CblasTrans, k, m, alpha, a, lda, b, incb, beta == T(0) ? T(1) : beta, c, ldc);
    else gemv_fn(CblasRowMajor, CblasNoTrans, m, k, alpha, a, lda, b, incb, beta == T(0) ? T(1) : beta, c, ldc);
    return;
  }
  if (k == 1 && m > 1 && n > 1) {  // C = alpha a b^T + beta C
    if (beta != T(1)) clear(m, n);
    ger_fn(CblasRowMajor, m, n, alpha, a, ta ? 1 : lda, b, tb ? ldb : 1, c, ldc);
    return;
  }
  gemm_fn(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
          beta, c, ldc);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  timed<float>(trans_a, trans_b, m, n, k, lda, ldb, ldc, [&] {
    gemm_any<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, cblas_sgemm, cblas_sgemv, cblas_sger);
  });
}

void gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  timed<double>(trans_a, trans_b, m, n, k, lda, ldb, ldc, [&] {
    gemm_any<double>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, cblas_dgemm, cblas_dgemv, cblas_dger);
  });
}

void set_profiling(bool on) { profiling.store(on, std::memory_order_relaxed); }

std::vector<GemmShape> profile() {
  std::lock_guard<std::mutex> lock(profile_mutex);
  std::vector<GemmShape> out;
  for (const auto& [key, e] : profile_entries()) out.push_back(e);
  return out;
}

void reset_profile() {
  std::lock_guard<std::mutex> lock(profile_mutex);
  profile_entries().clear();
}

std::uint64_t flops() { return flop_count.load(std::memory_order_relaxed); }

void set_num_threads(int n) { openblas_set_num_threads(n); }
int num_threads() { return openblas_get_num_threads(); }

}  // namespace hf::blas
