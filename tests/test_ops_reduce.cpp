// Reductions (engine/ops_reduce.cpp): values against loops written here, float64 gradient checks with a
// random upstream gradient (inputs also fed through permute), keepdim shapes, argmax/argmin, errors.
#include <algorithm>
#include <cmath>
#include <limits>
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

// Per (i, k) of a (A, B, C) tensor: the values along axis 1, for direct reference computations.
std::vector<double> column(const Tensor& x, std::size_t i, std::size_t k) {
  std::vector<double> v;
  for (std::size_t j = 0; j < x.shape()[1]; ++j) v.push_back(x.at({i, j, k}));
  return v;
}

}  // namespace

TEST_CASE("sum and mean over axes with and without keepdim") {
  Tensor x = rnd({2, 3, 4}, 1, false);
  Tensor s = sum(x, {0, 2});
  Tensor m = mean(x, {1}, true);
  REQUIRE(s.shape() == Shape{3});
  REQUIRE(m.shape() == Shape{2, 1, 4});
  for (std::size_t j = 0; j < 3; ++j) {
    double ref = 0;
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t k = 0; k < 4; ++k) ref += x.at({i, j, k});
    CHECK(s.flat(j) == doctest::Approx(ref).epsilon(1e-12));
  }
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 4; ++k) {
      auto c = column(x, i, k);
      CHECK(m.at({i, 0, k}) == doctest::Approx((c[0] + c[1] + c[2]) / 3).epsilon(1e-12));
    }
  CHECK(sum(x).shape() == Shape{});
  expect_gradcheck([](const std::vector<Tensor>& in) { return sum(permute(in[0], {2, 0, 1}), {0, -1}, true); },
                   {rnd({2, 3, 4}, 2)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return mean(permute(in[0], {1, 0, 2}), {1}); }, {rnd({2, 3, 4}, 3)});
}

TEST_CASE("var and std with correction 1 and 0") {
  Tensor x = rnd({2, 5, 3}, 4, false);
  Tensor v1 = var(x, {1});
  Tensor v0 = var(x, {1}, 0, true);
  Tensor s1 = hf::std(x, {1});
  REQUIRE(v1.shape() == Shape{2, 3});
  REQUIRE(v0.shape() == Shape{2, 1, 3});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 3; ++k) {
      auto c = column(x, i, k);
      double mu = 0, ss = 0;
      for (double e : c) mu += e / 5;
      for (double e : c) ss += (e - mu) * (e - mu);
      CHECK(v1.at({i, k}) == doctest::Approx(ss / 4).epsilon(1e-12));
      CHECK(v0.at({i, 0, k}) == doctest::Approx(ss / 5).epsilon(1e-12));
      CHECK(s1.at({i, k}) == doctest::Approx(std::sqrt(ss / 4)).epsilon(1e-12));
    }
  expect_gradcheck([](const std::vector<Tensor>& in) { return var(permute(in[0], {2, 0, 1}), {0, 2}); },
                   {rnd({2, 5, 3}, 5)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return var(in[0], {}, 0); }, {rnd({3, 4}, 6)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return hf::std(transpose(in[0], 0, 1), {1}, 1, true); },
                   {rnd({6, 3}, 7)});
}

TEST_CASE("logsumexp matches log(sum(exp)) and stays finite for large inputs") {
  Tensor x = rnd({2, 3, 4}, 8, false);
  Tensor l = logsumexp(x, {1});
  REQUIRE(l.shape() == Shape{2, 4});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 4; ++k) {
      double s = 0;
      for (double e : column(x, i, k)) s += std::exp(e);
      CHECK(l.at({i, k}) == doctest::Approx(std::log(s)).epsilon(1e-12));
    }
  // exp(1000) overflows; the max-subtracted form does not.
  Tensor big = from_vector(std::vector<double>{1000, 1000, 999}, {3}, Dtype::Float64);
  CHECK(logsumexp(big, {0}).item() == doctest::Approx(1000 + std::log(2 + std::exp(-1.0))).epsilon(1e-14));
  // All -inf gives -inf, not NaN.
  const double ninf = -std::numeric_limits<double>::infinity();
  Tensor dead = from_vector(std::vector<double>{ninf, ninf}, {2}, Dtype::Float64);
  CHECK(logsumexp(dead, {0}).item() == ninf);
  CHECK(logsumexp(x, {0, 2}, true).shape() == Shape{1, 3, 1});
}

TEST_CASE("logsumexp gradient (softmax) over one and several axes") {
  expect_gradcheck([](const std::vector<Tensor>& in) { return logsumexp(permute(in[0], {1, 0, 2}), {2}); },
                   {rnd({3, 2, 4}, 9)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return logsumexp(in[0], {0, 2}, true); }, {rnd({3, 2, 4}, 10)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return logsumexp(mul(in[0], 30.0), {}); }, {rnd({5}, 11)});
}

TEST_CASE("max and min along an axis give values and first-position gradients") {
  Tensor x = rnd({3, 4, 2}, 12, false);
  Tensor mx = max(x, 1), mn = min(x, 1, true);
  REQUIRE(mx.shape() == Shape{3, 2});
  REQUIRE(mn.shape() == Shape{3, 1, 2});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t k = 0; k < 2; ++k) {
      auto c = column(x, i, k);
      CHECK(mx.at({i, k}) == *std::max_element(c.begin(), c.end()));
      CHECK(mn.at({i, 0, k}) == *std::min_element(c.begin(), c.end()));
    }
  // Random normal inputs have no ties, so the max is differentiable at the check point.
  expect_gradcheck([](const std::vector<Tensor>& in) { return max(permute(in[0], {2, 0, 1}), -1); }, {rnd({4, 2, 3}, 13)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return min(in[0], 0, true); }, {rnd({4, 2, 3}, 14)});
}

TEST_CASE("max with ties sends the whole gradient to the first maximum") {
  Tensor x = from_vector(std::vector<double>{1, 3, 3, 2, 5, 5}, {2, 3}, Dtype::Float64).requires_grad_();
  max(x, 1).backward(ones({2}, Dtype::Float64));
  CHECK(x.grad().to_vector() == std::vector<double>{0, 1, 0, 0, 1, 0});
  CHECK(argmax(x, 1).to_vector() == std::vector<double>{1, 1});
}

TEST_CASE("max and min over everything") {
  Tensor x = rnd({3, 5}, 15, false);
  auto v = x.to_vector();
  CHECK(max(x).item() == *std::max_element(v.begin(), v.end()));
  CHECK(min(x).item() == *std::min_element(v.begin(), v.end()));
  CHECK(max(x).shape() == Shape{});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max(transpose(in[0], 0, 1)); }, {rnd({3, 5}, 16)});
  expect_gradcheck([](const std::vector<Tensor>& in) { return min(in[0]); }, {rnd({3, 5}, 17)});
}

TEST_CASE("max propagates NaN") {
  Tensor x = from_vector(std::vector<double>{1, std::nan(""), 3}, {3}, Dtype::Float64);
  CHECK(std::isnan(max(x, 0).item()));
  CHECK(argmax(x, 0).item() == 1);
}

TEST_CASE("argmax and argmin are Int64 and carry no gradient") {
  Tensor x = rnd({3, 4}, 18);
  Tensor am = argmax(x, 1), an = argmin(x, 0, true);
  CHECK(am.dtype() == Dtype::Int64);
  CHECK_FALSE(am.requires_grad());
  REQUIRE(an.shape() == Shape{1, 4});
  for (std::size_t i = 0; i < 3; ++i) {
    std::size_t best = 0;
    for (std::size_t j = 1; j < 4; ++j)
      if (x.at({i, j}) > x.at({i, best})) best = j;
    CHECK(am.flat(i) == static_cast<double>(best));
  }
  for (std::size_t j = 0; j < 4; ++j) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < 3; ++i)
      if (x.at({i, j}) < x.at({best, j})) best = i;
    CHECK(an.flat(j) == static_cast<double>(best));
  }
  // Consistent with max: gathering at argmax gives the max.
  CHECK(gather(x, 1, unsqueeze(am, 1)).detach().to_vector() == max(x, 1).detach().to_vector());
}

TEST_CASE("float32 reductions agree with float64") {
  Tensor x = rnd({4, 6}, 19, false);
  Tensor x32 = x.to(Dtype::Float32);
  auto close = [](const Tensor& a32, const Tensor& a64) {
    auto va = a32.to_vector(), vb = a64.to_vector();
    REQUIRE(va.size() == vb.size());
    for (std::size_t i = 0; i < va.size(); ++i) CHECK(std::abs(va[i] - vb[i]) <= 1e-5 * std::max(1.0, std::abs(vb[i])));
  };
  close(var(x32, {1}), var(x, {1}));
  close(hf::std(x32, {0}), hf::std(x, {0}));
  close(logsumexp(x32, {1}), logsumexp(x, {1}));
  close(max(x32, 0), max(x, 0));
  CHECK(argmin(x32, 1).to_vector() == argmin(x, 1).to_vector());
}

TEST_CASE("reductions reject bad axes, empty axes and too large corrections") {
  Tensor x = rnd({2, 3}, 20, false);
  CHECK_THROWS_WITH_AS(sum(x, {2}), doctest::Contains("sum: axis 2 is out of range for a tensor of rank 2"), Error);
  CHECK_THROWS_WITH_AS(var(x, {0, 0}), doctest::Contains("var: an axis is repeated"), Error);
  CHECK_THROWS_WITH_AS(var(x, {0}, 2), doctest::Contains("var: correction 2 leaves no degrees of freedom"), Error);
  CHECK_THROWS_WITH_AS(max(x, -3), doctest::Contains("max: axis -3"), Error);
  CHECK_THROWS_WITH_AS(argmin(zeros({2, 0}, Dtype::Float64), 1), doctest::Contains("argmin: reduction over axis 1 of size 0 in (2, 0)"),
                       Error);
  CHECK_THROWS_WITH_AS(max(zeros({0}, Dtype::Float64)), doctest::Contains("max: reduction of the empty tensor (0,)"), Error);
  CHECK_THROWS_WITH_AS(logsumexp(from_indices({1}, {1}), {0}), doctest::Contains("logsumexp"), Error);
}
