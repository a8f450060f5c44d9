// Thin wrappers over OpenBLAS gemm. The raw cblas calls live alone in blas.cpp: OpenBLAS's <cblas.h>
// clashes with the FLENS cblas declarations that xtensor-blas bundles.
#pragma once

#include <cstdint>
#include <vector>

namespace hf::blas {

// C (m x n, leading dim ldc) = alpha * op(A) op(B) + beta * C, row-major; op(X) = X^T when trans_x.
// A product with one row, one column or k = 1 runs as gemv / ger (no packing of the large operand).
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);
void gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc);

// Multiply-add work done by gemm so far in this process, as 2 m n k per call (all threads): benchmarks
// divide its change over a timed region by the time.
std::uint64_t flops();

// Per-shape gemm profile, off by default (one relaxed atomic load per call when off). While on, every gemm
// call (float and double, including the gemv/ger routes) adds its wall time to its shape's entry: where a
// step's gemm time goes, shape by shape (hopfield_bench --gemm-shapes).
struct GemmShape {
  bool trans_a = false, trans_b = false, is_double = false;
  int m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  std::uint64_t calls = 0;
  double seconds = 0;
};
void set_profiling(bool on);
std::vector<GemmShape> profile();  // the entries so far, in no particular order
void reset_profile();

void set_num_threads(int n);  // OpenBLAS threads (also OPENBLAS_NUM_THREADS)
int num_threads();

}  // namespace hf::blas
