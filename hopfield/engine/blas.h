// Thin wrappers over OpenBLAS gemm. The raw cblas calls live alone in blas.cpp: OpenBLAS's <cblas.h>
// clashes with the FLENS cblas declarations that xtensor-blas bundles.
#pragma once

#include <cstdint>

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

void set_num_threads(int n);  // OpenBLAS threads (also OPENBLAS_NUM_THREADS)
int num_threads();

}  // namespace hf::blas
