// Arithmetic, comparisons and selection (engine/ops_elementwise.cpp): broadcast values against index
// loops written here, float64 gradient checks with a random upstream gradient (broadcast and permuted
// inputs), masks as Bool tensors without gradient.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"
#include "tests/support.h"

using namespace hf;
using hf::test::rnd;
using hf::test::uni;
using hf::test::expect_gradcheck;

namespace {

// (3, 1, 4) op (2, 4) -> (3, 2, 4), by explicit index arithmetic.
template <class F>
void check_broadcast_values(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  REQUIRE(out.shape() == Shape{3, 2, 4});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 2; ++j)
      for (std::size_t k = 0; k < 4; ++k)
        CHECK(out.at({i, j, k}) == doctest::Approx(f(a.at({i, 0, k}), b.at({j, k}))).epsilon(1e-14));
}

}  // namespace

TEST_CASE("add, sub, mul, div broadcast (3,1,4) with (2,4)") {
  Tensor a = rnd({3, 1, 4}, 1, false), b = uni({2, 4}, 0.5, 2.0, 2, false);
  check_broadcast_values(add(a, b), a, b, [](double x, double y) { return x + y; });
  check_broadcast_values(sub(a, b), a, b, [](double x, double y) { return x - y; });
  check_broadcast_values(mul(a, b), a, b, [](double x, double y) { return x * y; });
  check_broadcast_values(div(a, b), a, b, [](double x, double y) { return x / y; });
}

TEST_CASE("add and sub gradients reduce to each input's shape") {
  // a arrives permuted from (4, 1, 3): a reordered copy, broadcast against b.
  auto pa = [](const Tensor& t) { return permute(t, {2, 1, 0}); };
  expect_gradcheck([pa](const std::vector<Tensor>& in) { return add(pa(in[0]), in[1]); },
                   {rnd({4, 1, 3}, 3), rnd({2, 4}, 4)});
  expect_gradcheck([pa](const std::vector<Tensor>& in) { return sub(in[1], pa(in[0])); },
                   {rnd({4, 1, 3}, 5), rnd({2, 4}, 6)});
  // A scalar-shaped operand and a trailing size-1 axis.
  expect_gradcheck([](const std::vector<Tensor>& in) { return sub(add(in[0], in[1]), in[2]); },
                   {rnd({2, 3}, 7), rnd({}, 8), rnd({2, 1}, 9)});
}

TEST_CASE("mul and div gradients with broadcasting") {
  expect_gradcheck([](const std::vector<Tensor>& in) { return mul(permute(in[0], {1, 0, 2}), in[1]); },
                   {rnd({1, 3, 4}, 10), rnd({2, 4}, 11)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return div(in[0], transpose(in[1], 0, 1)); },
                   {rnd({3, 2, 4}, 12), uni({4, 2}, 0.5, 2.0, 13)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return div(in[1], in[0]); },
                   {uni({3, 1}, -2.0, -0.5, 14), rnd({3, 5}, 15)});
}

TEST_CASE("neg and pow") {
  Tensor x = uni({5}, 0.5, 2.0, 16, false);
  auto v = x.to_vector();
  auto pn = neg(x).to_vector(), p3 = pow(x, 3.0).to_vector(), ph = pow(x, -0.5).to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) {
    CHECK(pn[i] == -v[i]);
    CHECK(p3[i] == doctest::Approx(v[i] * v[i] * v[i]).epsilon(1e-14));
    CHECK(ph[i] == doctest::Approx(1 / std::sqrt(v[i])).epsilon(1e-14));
  }
  expect_gradcheck([](const std::vector<Tensor>& in) { return neg(permute(in[0], {1, 0})); }, {rnd({3, 4}, 17)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return pow(in[0], 3.0); }, {rnd({3, 4}, 18)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return pow(transpose(in[0], 0, 1), -1.5); },
                   {uni({3, 4}, 0.5, 2.0, 19)});
}

TEST_CASE("scalar variants") {
  Tensor x = uni({4}, 0.5, 2.0, 20, false);
  auto v = x.to_vector();
  auto check = [&](const Tensor& out, auto f) {
    auto o = out.to_vector();
    REQUIRE(o.size() == v.size());
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(o[i] == doctest::Approx(f(v[i])).epsilon(1e-14));
  };
  check(add(x, 2.5), [](double e) { return e + 2.5; });
  check(sub(x, 2.5), [](double e) { return e - 2.5; });
  check(sub(2.5, x), [](double e) { return 2.5 - e; });
  check(mul(x, -3.0), [](double e) { return e * -3.0; });
  check(div(x, 4.0), [](double e) { return e / 4.0; });
  check(div(3.0, x), [](double e) { return 3.0 / e; });
  expect_gradcheck([](const std::vector<Tensor>& in) { return add(mul(sub(in[0], 1.5), -2.0), 0.25); },
                   {rnd({2, 3}, 21)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return sub(3.0, div(in[0], 7.0)); }, {rnd({2, 3}, 22)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return div(2.0, permute(in[0], {1, 0})); },
                   {uni({2, 3}, 0.5, 2.0, 23)});
}

TEST_CASE("operators equal the named ops and differentiate like them") {
  Tensor a = rnd({3, 1, 4}, 24, false), b = uni({2, 4}, 0.5, 2.0, 25, false);
  CHECK((a + b).to_vector() == add(a, b).to_vector());
  CHECK((a - b).to_vector() == sub(a, b).to_vector());
  CHECK((a * b).to_vector() == mul(a, b).to_vector());
  CHECK((a / b).to_vector() == div(a, b).to_vector());
  CHECK((-a).to_vector() == neg(a).to_vector());
  CHECK((2.0 - a).to_vector() == sub(2.0, a).to_vector());
  CHECK((2.0 / b).to_vector() == div(2.0, b).to_vector());
  CHECK((a * 3.0).to_vector() == (3.0 * a).to_vector());
  CHECK((a + 1.0).to_vector() == (1.0 + a).to_vector());
  CHECK((a - 1.0).to_vector() == add(a, -1.0).to_vector());
  CHECK((a / 2.0).to_vector() == mul(a, 0.5).to_vector());
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor x = permute(in[0], {2, 1, 0}), y = in[1];
        return (x * y - y / 2.0 + 1.0) / (y * y + 1.0) - (-x) * 3.0 + 2.0 / (x * x + 1.0);
      },
      {rnd({4, 1, 3}, 26), rnd({2, 4}, 27)});
}

TEST_CASE("comparisons give Bool masks with broadcasting and no gradient") {
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, Dtype::Float64).requires_grad_();
  Tensor b = from_vector(std::vector<double>{2, 2, 7}, {3}, Dtype::Float64);
  struct Case {
    Tensor out;
    std::vector<double> expect;
  };
  std::vector<Case> cases = {
      {eq(a, b), {0, 1, 0, 0, 0, 0}}, {ne(a, b), {1, 0, 1, 1, 1, 1}}, {lt(a, b), {1, 0, 1, 0, 0, 1}},
      {le(a, b), {1, 1, 1, 0, 0, 1}}, {gt(a, b), {0, 0, 0, 1, 1, 0}}, {ge(a, b), {0, 1, 0, 1, 1, 0}},
      {eq(a, 4.0), {0, 0, 0, 1, 0, 0}}, {lt(a, 3.0), {1, 1, 0, 0, 0, 0}}, {le(a, 3.0), {1, 1, 1, 0, 0, 0}},
      {gt(a, 3.0), {0, 0, 0, 1, 1, 1}}, {ge(a, 3.0), {0, 0, 1, 1, 1, 1}},
  };
  for (const auto& c : cases) {
    CHECK(c.out.dtype() == Dtype::Bool);
    CHECK(c.out.shape() == Shape{2, 3});
    CHECK_FALSE(c.out.requires_grad());
    CHECK(c.out.to_vector() == c.expect);
  }
  Tensor a32 = a.detach().to(Dtype::Float32);
  CHECK(lt(a32, 3.0).to_vector() == std::vector<double>{1, 1, 0, 0, 0, 0});
}

TEST_CASE("logical_not flips a mask - nonzero counts as true") {
  Tensor m = from_mask({true, false, false, true}, {2, 2});
  Tensor n = logical_not(m);
  CHECK(n.dtype() == Dtype::Bool);
  CHECK(n.to_vector() == std::vector<double>{0, 1, 1, 0});
  Tensor f = from_vector(std::vector<double>{0, 2.5, -1, 0}, {4}, Dtype::Float64);
  CHECK(logical_not(f).to_vector() == std::vector<double>{1, 0, 0, 1});
}

TEST_CASE("masked_fill with a broadcast mask - masked entries get no gradient") {
  Tensor x = rnd({2, 3}, 28, false);
  Tensor mask = from_mask({true, false, true}, {3});
  Tensor y = masked_fill(x, mask, -9.0);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) CHECK(y.at({i, j}) == (j != 1 ? -9.0 : x.at({i, j})));
  expect_gradcheck([mask](const std::vector<Tensor>& in) { return masked_fill(transpose(in[0], 0, 1), mask, 4.0); },
                   {rnd({3, 2}, 29)});
  Tensor xg = rnd({2, 3}, 30);
  masked_fill(xg, mask, 0.0).backward(ones({2, 3}, Dtype::Float64));
  CHECK(xg.grad().to_vector() == std::vector<double>{0, 1, 0, 0, 1, 0});
}

TEST_CASE("where selects with three-way broadcasting") {
  Tensor cond = from_mask({true, false, false, true}, {4});
  Tensor a = rnd({3, 1}, 31, false), b = rnd({2, 1, 4}, 32, false);
  Tensor y = where(cond, a, b);
  REQUIRE(y.shape() == Shape{2, 3, 4});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k)
        CHECK(y.at({i, j, k}) == (k == 0 || k == 3 ? a.at({j, 0}) : b.at({i, 0, k})));
  expect_gradcheck([cond](const std::vector<Tensor>& in) { return where(cond, in[0], permute(in[1], {1, 0, 2})); },
                   {rnd({3, 1}, 33), rnd({1, 2, 4}, 34)});
}
