// hf::blas::gemm against a plain triple loop in every transpose combination, for ordinary shapes and the
// degenerate ones it routes to gemv / ger (one row, one column, k = 1), with padded leading dimensions, beta
// 0 over a C full of NaN (must not leak) and beta 0.5; and the flop counter.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "hopfield/engine/blas.h"
#include "hopfield/engine/random.h"

namespace {

template <class T>
void check_gemm(bool ta, bool tb, int m, int n, int k, T beta) {
  hf::Generator g(static_cast<std::uint64_t>(m * 131 + n * 17 + k * 3 + (ta ? 1 : 0) + (tb ? 2 : 0)));
  const int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
  std::vector<T> a(static_cast<std::size_t>((ta ? k : m) * lda)), b(static_cast<std::size_t>((tb ? n : k) * ldb));
  std::vector<T> c(static_cast<std::size_t>(m * ldc));
  for (T& v : a) v = static_cast<T>(g.normal());
  for (T& v : b) v = static_cast<T>(g.normal());
  for (T& v : c) v = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(g.normal());
  std::vector<T> want = c;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p)
        s += static_cast<double>(ta ? a[p * lda + i] : a[i * lda + p]) * static_cast<double>(tb ? b[j * ldb + p] : b[p * ldb + j]);
      want[i * ldc + j] = static_cast<T>(0.75 * s + (beta == T(0) ? 0.0 : static_cast<double>(beta) * c[i * ldc + j]));
    }
  hf::blas::gemm(ta, tb, m, n, k, T(0.75), a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-12;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      INFO("m " << m << " n " << n << " k " << k << " ta " << ta << " tb " << tb << " beta " << beta << " at " << i << "," << j);
      REQUIRE(std::abs(static_cast<double>(c[i * ldc + j]) - static_cast<double>(want[i * ldc + j])) <= tol * (1 + std::abs(static_cast<double>(want[i * ldc + j]))));
    }
}

}  // namespace

TEST_CASE("blas::gemm equals a triple loop, also where it runs as gemv or ger") {
  const int shapes[][3] = {{5, 7, 4}, {1, 9, 6}, {8, 1, 5}, {6, 7, 1}, {1, 1, 4}, {1, 5, 1}};
  for (const auto& sh : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_gemm<float>(ta, tb, sh[0], sh[1], sh[2], 0.0f);
        check_gemm<float>(ta, tb, sh[0], sh[1], sh[2], 0.5f);
        check_gemm<double>(ta, tb, sh[0], sh[1], sh[2], 0.0);
        check_gemm<double>(ta, tb, sh[0], sh[1], sh[2], 0.5);
      }
}

TEST_CASE("blas::flops counts 2 m n k per gemm") {
  std::vector<double> a(6, 1.0), b(12, 1.0), c(8, 0.0);
  const std::uint64_t before = hf::blas::flops();
  hf::blas::gemm(false, false, 2, 4, 3, 1.0, a.data(), 3, b.data(), 4, 0.0, c.data(), 4);
  CHECK(hf::blas::flops() - before == 2u * 2u * 4u * 3u);
  CHECK(c[5] == 3.0);
}

TEST_CASE("blas profile: per-shape calls while on, nothing while off") {
  std::vector<float> a(6, 1.0f), b(12, 1.0f), c(12, 0.0f);
  hf::blas::reset_profile();
  hf::blas::gemm(false, false, 2, 4, 3, 1.0f, a.data(), 3, b.data(), 4, 0.0f, c.data(), 4);  // off: not counted
  CHECK(hf::blas::profile().empty());
  hf::blas::set_profiling(true);
  for (int i = 0; i < 3; ++i) hf::blas::gemm(false, false, 2, 4, 3, 1.0f, a.data(), 3, b.data(), 4, 0.0f, c.data(), 4);
  hf::blas::gemm(true, false, 3, 4, 2, 1.0f, a.data(), 3, b.data(), 4, 0.0f, c.data(), 4);
  hf::blas::set_profiling(false);
  const auto p = hf::blas::profile();
  REQUIRE(p.size() == 2);
  for (const auto& e : p) {
    CHECK(e.calls == (e.trans_a ? 1u : 3u));
    CHECK(e.m == (e.trans_a ? 3 : 2));
    CHECK(e.seconds >= 0.0);
  }
  hf::blas::reset_profile();
  CHECK(hf::blas::profile().empty());
}
