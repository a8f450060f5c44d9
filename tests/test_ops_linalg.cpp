// matmul / matmul_nt (engine/ops_linalg.cpp): every rank combination against a naive triple loop written
// here, float64 gradient checks (permuted operands included), and the float32 (sgemm) path.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"
#include "tests/support.h"

using namespace hf;
using hf::test::rnd;
using hf::test::expect_gradcheck;

namespace {

// Reference matmul with NumPy semantics: 1-D operands promoted and their axis dropped, batch axes
// broadcast; plain loops over flat indices, no BLAS.
Tensor naive_matmul(const Tensor& a, const Tensor& b, bool b_transposed = false) {
  Shape sa = a.shape(), sb = b.shape();
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const std::size_t m = sa[sa.size() - 2], k = sa.back();
  const std::size_t n = b_transposed ? sb[sb.size() - 2] : sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const std::size_t r = std::max(ba.size(), bb.size());
  ba.insert(ba.begin(), r - ba.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  Shape batch(r);
  for (std::size_t d = 0; d < r; ++d) batch[d] = std::max(ba[d], bb[d]);
  const std::size_t nb = shape_numel(batch);
  auto va = a.to_vector(), vb = b.to_vector();
  std::vector<double> out(nb * m * n, 0.0);
  for (std::size_t bi = 0; bi < nb; ++bi) {
    // Batch offsets of a and b (broadcast axes stay at 0).
    std::size_t rem = bi, oa = 0, ob = 0, stride_a = 1, stride_b = 1;
    for (std::size_t d = r; d-- > 0;) {
      const std::size_t idx = rem % batch[d];
      rem /= batch[d];
      oa += (ba[d] == 1 ? 0 : idx) * stride_a;
      ob += (bb[d] == 1 ? 0 : idx) * stride_b;
      stride_a *= ba[d];
      stride_b *= bb[d];
    }
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::size_t p = 0; p < k; ++p) {
          const double bv = b_transposed ? vb[ob * n * k + j * k + p] : vb[ob * k * n + p * n + j];
          s += va[oa * m * k + i * k + p] * bv;
        }
        out[(bi * m + i) * n + j] = s;
      }
  }
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(m);
  if (b.dim() > 1) shape.push_back(n);
  return from_vector(out, shape, Dtype::Float64);
}

void check_against_naive(const Tensor& a, const Tensor& b) {
  Tensor c = matmul(a, b), ref = naive_matmul(a, b);
  INFO(shape_str(a.shape()) << " x " << shape_str(b.shape()));
  REQUIRE(c.shape() == ref.shape());
  auto vc = c.to_vector(), vr = ref.to_vector();
  for (std::size_t i = 0; i < vc.size(); ++i) CHECK(vc[i] == doctest::Approx(vr[i]).epsilon(1e-12));
}

}  // namespace

TEST_CASE("matmul 1-D x 1-D is a dot product") {
  Tensor a = rnd({5}, 1), b = rnd({5}, 2);
  check_against_naive(a, b);
  CHECK(matmul(a, b).shape() == Shape{});
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
}

TEST_CASE("matmul 1-D x 2-D and 2-D x 1-D drop the promoted axis") {
  Tensor v = rnd({4}, 3), m = rnd({4, 3}, 4), w = rnd({3}, 5);
  check_against_naive(v, m);
  check_against_naive(m, w);
  CHECK(matmul(v, m).shape() == Shape{3});
  CHECK(matmul(m, w).shape() == Shape{4});
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], transpose(in[1], 0, 1)); },
                   {rnd({4}, 6), rnd({3, 4}, 7)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {rnd({4, 3}, 8), rnd({3}, 9)});
  // 1-D against a batched matrix: (k) x (B, k, n) -> (B, n).
  check_against_naive(rnd({4}, 10, false), rnd({2, 4, 3}, 11, false));
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {rnd({4}, 12), rnd({2, 4, 3}, 13)});
}

TEST_CASE("matmul 2-D x 2-D") {
  check_against_naive(rnd({3, 4}, 14, false), rnd({4, 5}, 15, false));
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {rnd({3, 4}, 16), rnd({4, 5}, 17)});
  // Both operands arrive as reordered copies.
  expect_gradcheck(
      [](const std::vector<Tensor>& in) { return matmul(transpose(in[0], 0, 1), transpose(in[1], 0, 1)); },
      {rnd({4, 3}, 18), rnd({5, 4}, 19)});
}

TEST_CASE("matmul batched 3-D x 3-D") {
  check_against_naive(rnd({2, 3, 4}, 20, false), rnd({2, 4, 5}, 21, false));
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(permute(in[0], {1, 0, 2}), in[1]); },
                   {rnd({3, 2, 4}, 22), rnd({2, 4, 5}, 23)});
}

TEST_CASE("matmul broadcasts batch axes: (2,1,3,4) x (5,4,2)") {
  Tensor a = rnd({2, 1, 3, 4}, 24), b = rnd({5, 4, 2}, 25);
  check_against_naive(a, b);
  CHECK(matmul(a, b).shape() == Shape{2, 5, 3, 2});
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
}

TEST_CASE("matmul N-D x 2-D (a weight shared by the batch)") {
  Tensor x = rnd({2, 3, 4, 5}, 26), w = rnd({5, 6}, 27);
  check_against_naive(x, w);
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(permute(in[0], {1, 0, 2, 3}), in[1]); },
                   {rnd({3, 2, 4, 5}, 28), w});
  // A 2-D left operand against a batch on the right: (m, k) x (B, k, n).
  check_against_naive(rnd({3, 4}, 29, false), rnd({2, 4, 5}, 30, false));
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {rnd({3, 4}, 31), rnd({2, 4, 5}, 32)});
}

TEST_CASE("matmul_nt computes a @ b^T over the last two axes") {
  Tensor a = rnd({2, 3, 4}, 33, false), b = rnd({2, 5, 4}, 34, false);
  Tensor c = matmul_nt(a, b), ref = naive_matmul(a, b, true);
  REQUIRE(c.shape() == Shape{2, 3, 5});
  auto vc = c.to_vector(), vr = ref.to_vector();
  for (std::size_t i = 0; i < vc.size(); ++i) CHECK(vc[i] == doctest::Approx(vr[i]).epsilon(1e-12));
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul_nt(in[0], in[1]); }, {rnd({2, 3, 4}, 35), rnd({2, 5, 4}, 36)});
  // Linear-layer form: (B, N, in) x (out, in)^T, and a broadcast batch.
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul_nt(permute(in[0], {1, 0, 2}), in[1]); },
                   {rnd({3, 2, 4}, 37), rnd({6, 4}, 38)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return matmul_nt(in[0], in[1]); },
                   {rnd({2, 1, 3, 4}, 39), rnd({5, 2, 4}, 40)});
}

TEST_CASE("float32 matmul (sgemm) agrees with the float64 loop") {
  Tensor a = rnd({2, 1, 6, 7}, 41, false), b = rnd({3, 7, 5}, 42, false);
  Tensor c32 = matmul(a.to(Dtype::Float32), b.to(Dtype::Float32));
  CHECK(c32.dtype() == Dtype::Float32);
  Tensor ref = naive_matmul(a.to(Dtype::Float32).to(Dtype::Float64), b.to(Dtype::Float32).to(Dtype::Float64));
  REQUIRE(c32.shape() == ref.shape());
  auto vc = c32.to_vector(), vr = ref.to_vector();
  for (std::size_t i = 0; i < vc.size(); ++i) CHECK(std::fabs(vc[i] - vr[i]) <= 1e-5 * std::max(1.0, std::fabs(vr[i])));
  Tensor w = rnd({7, 4}, 43, false);
  Tensor d32 = matmul_nt(a.to(Dtype::Float32), transpose(w, 0, 1).to(Dtype::Float32));
  Tensor dref = naive_matmul(a.to(Dtype::Float32).to(Dtype::Float64), w.to(Dtype::Float32).to(Dtype::Float64));
  auto vd = d32.to_vector(), vdr = dref.to_vector();
  REQUIRE(vd.size() == vdr.size());
  for (std::size_t i = 0; i < vd.size(); ++i) CHECK(std::fabs(vd[i] - vdr[i]) <= 1e-5 * std::max(1.0, std::fabs(vdr[i])));
}

TEST_CASE("float32 matmul backward matches float64") {
  Tensor a = rnd({2, 3, 4}, 44), b = rnd({4, 5}, 45);
  Tensor a32 = a.detach().to(Dtype::Float32).requires_grad_(), b32 = b.detach().to(Dtype::Float32).requires_grad_();
  Tensor g = rnd({2, 3, 5}, 46, false);
  matmul(a, b).backward(g);
  matmul(a32, b32).backward(g.to(Dtype::Float32));
  auto ga = a.grad().to_vector(), ga32 = a32.grad().to_vector();
  auto gb = b.grad().to_vector(), gb32 = b32.grad().to_vector();
  for (std::size_t i = 0; i < ga.size(); ++i) CHECK(std::fabs(ga[i] - ga32[i]) <= 1e-5 * std::max(1.0, std::fabs(ga[i])));
  for (std::size_t i = 0; i < gb.size(); ++i) CHECK(std::fabs(gb[i] - gb32[i]) <= 1e-5 * std::max(1.0, std::fabs(gb[i])));
}
