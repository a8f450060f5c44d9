// Neural-network ops (engine/ops_softmax.cpp, ops_nn.cpp, ops_conv.cpp, ops_masked.cpp): forward values
// against direct loops written here, float64 gradient checks with a random upstream gradient, and the error
// messages.
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

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

// Runs f on float64 inputs and on float32 copies: outputs and input gradients must agree to float32 precision.
void expect_float32_agrees(const GradcheckFn& f, const std::vector<Tensor>& in64) {
  std::vector<Tensor> a, b;
  for (const Tensor& t : in64) {
    const bool fl = is_floating(t.dtype());
    a.push_back(fl ? t.detach().clone().requires_grad_() : t);
    b.push_back(fl ? t.detach().to(Dtype::Float32).requires_grad_() : t);
  }
  Tensor ya = f(a), yb = f(b);
  REQUIRE(yb.dtype() == Dtype::Float32);
  auto close = [](const Tensor& x, const Tensor& y) {
    double scale = 1;
    for (double v : x.to_vector()) scale = std::max(scale, std::abs(v));
    return max_abs_diff(x.to_vector(), y.to_vector()) < 1e-5 * scale;
  };
  CHECK(close(ya, yb));
  Generator gen(99);
  Tensor dout = randn(ya.shape(), Dtype::Float64, gen);
  ya.backward(dout);
  yb.backward(dout.to(Dtype::Float32));
  for (std::size_t i = 0; i < a.size(); ++i)
    if (is_floating(a[i].dtype())) {
      CAPTURE(i);
      REQUIRE(b[i].grad().defined());
      CHECK(b[i].grad().dtype() == Dtype::Float32);
      CHECK(close(a[i].grad(), b[i].grad()));
    }
}

// Softmax of a (A, B, C) tensor along `axis`, by index arithmetic (independent of split_at).
std::vector<double> softmax_by_loop(const Tensor& x, int axis) {
  const std::size_t A = x.shape()[0], B = x.shape()[1], C = x.shape()[2];
  std::vector<double> out(x.numel());
  for (std::size_t a = 0; a < A; ++a)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t c = 0; c < C; ++c) {
        double denom = 0;
        const std::size_t n = axis == 0 ? A : axis == 1 ? B : C;
        for (std::size_t j = 0; j < n; ++j) {
          std::size_t ia = axis == 0 ? j : a, ib = axis == 1 ? j : b, ic = axis == 2 ? j : c;
          denom += std::exp(x.at({ia, ib, ic}));
        }
        out[(a * B + b) * C + c] = std::exp(x.at({a, b, c})) / denom;
      }
  return out;
}

}  // namespace

// ----- softmax -----
TEST_CASE("softmax matches a direct loop along axes 0, 1 and -1") {
  Tensor x = rnd({3, 4, 5}, 1, false);
  CHECK(max_abs_diff(softmax(x, 0).to_vector(), softmax_by_loop(x, 0)) < 1e-14);
  CHECK(max_abs_diff(softmax(x, 1).to_vector(), softmax_by_loop(x, 1)) < 1e-14);
  CHECK(max_abs_diff(softmax(x, -1).to_vector(), softmax_by_loop(x, 2)) < 1e-14);
  // float32 agrees with float64
  CHECK(max_abs_diff(softmax(x.to(Dtype::Float32), 1).to_vector(), softmax_by_loop(x, 1)) < 1e-6);
}

TEST_CASE("softmax: a row whose entries are all -inf gives zeros, not NaN") {
  Tensor x = from_vector(std::vector<double>{-INFINITY, -INFINITY, 0.5, 1.5}, {2, 2}, Dtype::Float64);
  Tensor y = softmax(x, -1);
  CHECK(y.at({0, 0}) == 0.0);
  CHECK(y.at({0, 1}) == 0.0);
  CHECK(y.at({1, 0}) + y.at({1, 1}) == doctest::Approx(1.0));
}

TEST_CASE("softmax is max-subtracted: huge logits stay finite") {
  Tensor x = from_vector(std::vector<double>{1000.0, 1001.0, -1000.0}, {1, 3}, Dtype::Float64);
  Tensor y = softmax(x, -1);
  const double e = std::exp(-1.0);
  CHECK(y.at({0, 0}) == doctest::Approx(e / (1 + e)));
  CHECK(y.at({0, 1}) == doctest::Approx(1 / (1 + e)));
  CHECK(y.at({0, 2}) == 0.0);
}

TEST_CASE("softmax gradcheck along axes 0, 1, -1 and on permuted input") {
  Tensor x = rnd({3, 4, 5}, 2);
  for (int axis : {0, 1, -1}) {
    CAPTURE(axis);
    expect_gradcheck([axis](const std::vector<Tensor>& in) { return softmax(in[0], axis); }, {x});
  }
  expect_gradcheck([](const std::vector<Tensor>& in) { return softmax(permute(in[0], {2, 0, 1}), 1); }, {x});
  // softmax of a transposed tensor = transpose of the softmax along the matching axis
  Tensor a = softmax(transpose(x.detach(), 0, 2), 0);
  Tensor b = transpose(softmax(x.detach(), 2), 0, 2);
  CHECK(max_abs_diff(a.to_vector(), b.to_vector()) < 1e-15);
}

TEST_CASE("masked softmax: masked entries get 0, a fully masked row gives zeros and zero gradient") {
  Tensor x = rnd({3, 4}, 3);
  // row 0: two entries masked; row 1: all masked; row 2: none
  Tensor mask = from_mask({false, true, false, true, true, true, true, true, false, false, false, false}, {3, 4});
  Tensor y = softmax(x, -1, mask);
  CHECK(all_finite(y));
  const double e0 = std::exp(x.at({0, 0})), e2 = std::exp(x.at({0, 2}));
  CHECK(y.at({0, 0}) == doctest::Approx(e0 / (e0 + e2)).epsilon(1e-14));
  CHECK(y.at({0, 1}) == 0.0);
  CHECK(y.at({0, 2}) == doctest::Approx(e2 / (e0 + e2)).epsilon(1e-14));
  CHECK(y.at({0, 3}) == 0.0);
  for (std::size_t j = 0; j < 4; ++j) CHECK(y.at({1, j}) == 0.0);
  double row2 = 0;
  for (std::size_t j = 0; j < 4; ++j) row2 += std::exp(x.at({2, j}));
  for (std::size_t j = 0; j < 4; ++j) CHECK(y.at({2, j}) == doctest::Approx(std::exp(x.at({2, j})) / row2).epsilon(1e-14));

  y.backward(rnd({3, 4}, 4, false));
  Tensor g = x.grad();
  REQUIRE(g.defined());
  CHECK(all_finite(g));
  for (std::size_t j = 0; j < 4; ++j) CHECK(g.at({1, j}) == 0.0);
  CHECK(g.at({0, 1}) == 0.0);
  CHECK(g.at({0, 3}) == 0.0);
  CHECK(g.at({2, 0}) != 0.0);

  expect_gradcheck([mask](const std::vector<Tensor>& in) { return softmax(in[0], -1, mask); }, {x});
}

TEST_CASE("masked softmax: broadcast masks along axis 0 and on permuted input") {
  Tensor x = rnd({4, 3}, 5);
  // mask (4, 1): rows 1 and 3 excluded everywhere; softmax over axis 0 only sees rows 0 and 2
  Tensor mask = from_mask({false, true, false, true}, {4, 1});
  Tensor y = softmax(x, 0, mask);
  for (std::size_t c = 0; c < 3; ++c) {
    const double a = std::exp(x.at({0, c})), b = std::exp(x.at({2, c}));
    CHECK(y.at({0, c}) == doctest::Approx(a / (a + b)).epsilon(1e-14));
    CHECK(y.at({1, c}) == 0.0);
    CHECK(y.at({3, c}) == 0.0);
  }
  expect_gradcheck([mask](const std::vector<Tensor>& in) { return softmax(in[0], 0, mask); }, {x});
  // a (3,) mask broadcast over the transposed (3, 4) input: column 2 fully masked
  Tensor mask_t = from_mask({false, false, true}, {3, 1});
  expect_gradcheck([mask_t](const std::vector<Tensor>& in) { return softmax(transpose(in[0], 0, 1), 1, mask_t); },
                   {x});
  Tensor yt = softmax(transpose(x.detach(), 0, 1), 1, mask_t);
  for (std::size_t j = 0; j < 4; ++j) CHECK(yt.at({2, j}) == 0.0);
}

TEST_CASE("softmax errors name the op, the axis and the mask shape") {
  Tensor x = rnd({2, 3}, 6, false);
  CHECK_THROWS_WITH_AS(softmax(x, 2), doctest::Contains("softmax: axis 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(softmax(x, -1, from_mask({true, false}, {2})), doctest::Contains("(2, 3)"), Error);
  CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax"), Error);
  CHECK_THROWS_WITH_AS(softmax(from_indices({1, 2}, {2}), 0), doctest::Contains("int64"), Error);
}

// ----- log_softmax -----
TEST_CASE("log_softmax equals log of the direct softmax and stays finite for huge logits") {
  Tensor x = rnd({3, 4, 5}, 7, false);
  for (int axis : {0, 1, 2}) {
    std::vector<double> expect = softmax_by_loop(x, axis);
    for (double& v : expect) v = std::log(v);
    CHECK(max_abs_diff(log_softmax(x, axis).to_vector(), expect) < 1e-13);
  }
  Tensor big = from_vector(std::vector<double>{1000.0, 0.0}, {2}, Dtype::Float64);
  Tensor y = log_softmax(big, 0);
  CHECK(y.at({0}) == doctest::Approx(0.0));
  CHECK(y.at({1}) == doctest::Approx(-1000.0));
}

TEST_CASE("log_softmax gradcheck along axes 0 and -1 and on permuted input") {
  Tensor x = rnd({3, 4, 5}, 8);
  expect_gradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0], 0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0], -1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return log_softmax(permute(in[0], {1, 2, 0}), 1); }, {x});
}

// ----- layer_norm -----
namespace {
// Direct layer norm over the trailing M elements of each row.
std::vector<double> layer_norm_by_loop(const Tensor& x, std::size_t M, const Tensor& w, const Tensor& b, double eps) {
  std::vector<double> v = x.to_vector(), out(v.size());
  for (std::size_t r = 0; r < v.size() / M; ++r) {
    double mu = 0, var = 0;
    for (std::size_t k = 0; k < M; ++k) mu += v[r * M + k] / static_cast<double>(M);
    for (std::size_t k = 0; k < M; ++k) var += (v[r * M + k] - mu) * (v[r * M + k] - mu) / static_cast<double>(M);
    for (std::size_t k = 0; k < M; ++k) {
      double o = (v[r * M + k] - mu) / std::sqrt(var + eps);
      if (w.defined()) o = o * w.flat(k);
      if (b.defined()) o = o + b.flat(k);
      out[r * M + k] = o;
    }
  }
  return out;
}
}  // namespace

TEST_CASE("layer_norm matches a direct computation over 1 and 2 normalised axes") {
  Tensor x = rnd({2, 3, 4}, 9, false);
  Tensor w1 = rnd({4}, 10, false), b1 = rnd({4}, 11, false);
  Tensor w2 = rnd({3, 4}, 12, false), b2 = rnd({3, 4}, 13, false);
  CHECK(max_abs_diff(layer_norm(x, 1, w1, b1, 1e-5).to_vector(), layer_norm_by_loop(x, 4, w1, b1, 1e-5)) < 1e-13);
  CHECK(max_abs_diff(layer_norm(x, 2, w2, b2, 0.1).to_vector(), layer_norm_by_loop(x, 12, w2, b2, 0.1)) < 1e-13);
  CHECK(max_abs_diff(layer_norm(x, 1, Tensor(), Tensor()).to_vector(),
                     layer_norm_by_loop(x, 4, Tensor(), Tensor(), 1e-5)) < 1e-13);
  // eps sits inside the sqrt: a constant row normalises to 0, not NaN
  Tensor c = full({1, 4}, 3.0, Dtype::Float64);
  for (double v : layer_norm(c, 1, Tensor(), Tensor()).to_vector()) CHECK(v == 0.0);
}

TEST_CASE("layer_norm gradcheck with and without affine over 1 and 2 axes") {
  Tensor x = rnd({2, 3, 4}, 14);
  Tensor w1 = rnd({4}, 15), b1 = rnd({4}, 16);
  Tensor w2 = rnd({3, 4}, 17), b2 = rnd({3, 4}, 18);
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], 1, in[1], in[2]); }, {x, w1, b1});
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], 2, in[1], in[2], 1e-3); },
                   {x, w2, b2});
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], 1, Tensor(), Tensor()); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], 2, Tensor(), Tensor()); }, {x});
  // weight only, on a permuted input
  expect_gradcheck(
      [](const std::vector<Tensor>& in) { return layer_norm(permute(in[0], {2, 0, 1}), 1, in[1], Tensor()); },
      {x, rnd({3}, 19)});
}

TEST_CASE("layer_norm errors name the shapes and the option") {
  Tensor x = rnd({2, 3, 4}, 20, false);
  CHECK_THROWS_WITH_AS(layer_norm(x, 1, rnd({3}, 1, false), Tensor()),
                       doctest::Contains("weight of shape (3,) does not match the normalised shape (4,)"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, 2, Tensor(), rnd({4}, 1, false)), doctest::Contains("layer_norm: bias"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, 0, Tensor(), Tensor()), doctest::Contains("normalized_dims 0"), Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, 4, Tensor(), Tensor()), doctest::Contains("(2, 3, 4)"), Error);
}

// ----- dropout -----
TEST_CASE("dropout keeps an element when the generator's draw is >= p, scaled by 1/(1-p)") {
  Tensor x = rnd({50, 40}, 21, false);
  const double p = 0.3;
  Generator gen(77), replay(77);
  Tensor y = dropout(x, p, true, gen);
  std::size_t dropped = 0, wrong = 0;
  for (std::size_t i = 0; i < x.numel(); ++i) {
    const bool keep = replay.uniform() >= p;
    const double expect = keep ? x.flat(i) / (1 - p) : 0.0;
    wrong += std::abs(y.flat(i) - expect) > 1e-15 * std::abs(expect) || (!keep && y.flat(i) != 0.0);
    dropped += !keep;
  }
  CHECK(wrong == 0);
  const double frac = static_cast<double>(dropped) / static_cast<double>(x.numel());
  CHECK(frac > 0.25);
  CHECK(frac < 0.35);
}

TEST_CASE("dropout gradcheck with a fixed generator - eval and p = 0 are the identity - p = 1 gives zeros") {
  Tensor x = rnd({6, 5}, 22);
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        Generator gen(5);
        return dropout(in[0], 0.4, true, gen);
      },
      {x});
  Generator gen(1);
  CHECK(dropout(x, 0.5, false, gen).same(x));
  CHECK(dropout(x, 0.0, true, gen).same(x));
  Tensor z = dropout(x, 1.0, true, gen);
  for (double v : z.to_vector()) CHECK(v == 0.0);
  z.backward(ones({6, 5}, Dtype::Float64));
  for (double v : x.grad().to_vector()) CHECK(v == 0.0);
}

TEST_CASE("dropout rejects p outside [0, 1] naming the option") {
  Tensor x = rnd({2, 2}, 23, false);
  CHECK_THROWS_WITH_AS(dropout(x, 1.5, true), doctest::Contains("dropout: option p = 1.5 is out of range"), Error);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, false), doctest::Contains("option p = -0.1"), Error);
  CHECK_THROWS_WITH_AS(dropout(x, NAN, true), doctest::Contains("option p"), Error);
}

// ----- embedding -----
TEST_CASE("embedding looks up rows and scatter-adds gradients of repeated indices") {
  Tensor w = rnd({5, 3}, 24);
  Tensor idx = from_indices({0, 2, 2, 4, 0, 2}, {2, 3});
  Tensor y = embedding(w, idx);
  CHECK(y.shape() == Shape{2, 3, 3});
  const std::int64_t ids[6] = {0, 2, 2, 4, 0, 2};
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t k = 0; k < 3; ++k) CHECK(y.at({i / 3, i % 3, k}) == w.at({static_cast<std::size_t>(ids[i]), k}));
  // gradient of row 2 = sum of the upstream rows at its three positions; rows 1 and 3 get nothing
  Tensor dout = rnd({2, 3, 3}, 25, false);
  y.backward(dout);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(w.grad().at({2, k}) == doctest::Approx(dout.at({0, 1, k}) + dout.at({0, 2, k}) + dout.at({1, 2, k})));
    CHECK(w.grad().at({1, k}) == 0.0);
    CHECK(w.grad().at({3, k}) == 0.0);
  }
  expect_gradcheck([idx](const std::vector<Tensor>& in) { return embedding(in[0], idx); }, {w});
}

TEST_CASE("embedding errors name the index, its position and the weight shape") {
  Tensor w = rnd({5, 3}, 26, false);
  CHECK_THROWS_WITH_AS(embedding(w, from_indices({1, 5}, {2})),
                       doctest::Contains("embedding: index 5 at position 1"), Error);
  CHECK_THROWS_WITH_AS(embedding(w, from_indices({-1}, {1})), doctest::Contains("(5, 3)"), Error);
  CHECK_THROWS_WITH_AS(embedding(w, ones({2}, Dtype::Float64)), doctest::Contains("Int64"), Error);
  CHECK_THROWS_WITH_AS(embedding(rnd({5}, 1, false), from_indices({1}, {1})), doctest::Contains("got (5,)"), Error);
}

// ----- conv1d -----
namespace {
std::vector<double> conv1d_by_loop(const Tensor& x, const Tensor& w, const Tensor& b, std::size_t stride,
                                   std::size_t padding, std::size_t dilation, std::size_t Lo) {
  const std::size_t N = x.shape()[0], C = x.shape()[1], L = x.shape()[2], O = w.shape()[0], K = w.shape()[2];
  std::vector<double> out;
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t o = 0; o < O; ++o)
      for (std::size_t t = 0; t < Lo; ++t) {
        double s = b.defined() ? b.at({o}) : 0.0;
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t k = 0; k < K; ++k) {
            const long pos = static_cast<long>(t * stride + k * dilation) - static_cast<long>(padding);
            if (pos >= 0 && pos < static_cast<long>(L)) s += w.at({o, c, k}) * x.at({n, c, static_cast<std::size_t>(pos)});
          }
        out.push_back(s);
      }
  return out;
}
}  // namespace

TEST_CASE("conv1d matches a direct loop (stride, padding, dilation, bias)") {
  Tensor x = rnd({2, 3, 11}, 27, false), w = rnd({4, 3, 3}, 28, false), b = rnd({4}, 29, false);
  // defaults: Lo = 11 - 3 + 1 = 9
  Tensor y0 = conv1d(x, w, b);
  CHECK(y0.shape() == Shape{2, 4, 9});
  CHECK(max_abs_diff(y0.to_vector(), conv1d_by_loop(x, w, b, 1, 0, 1, 9)) < 1e-13);
  // stride 2, padding 1, dilation 2: Lo = (11 + 2 - 4 - 1) / 2 + 1 = 5
  auto opts = Conv1dFuncOptions().stride(2).padding(1).dilation(2);
  Tensor y1 = conv1d(x, w, b, opts);
  CHECK(y1.shape() == Shape{2, 4, 5});
  CHECK(max_abs_diff(y1.to_vector(), conv1d_by_loop(x, w, b, 2, 1, 2, 5)) < 1e-13);
  Tensor y2 = conv1d(x, w, Tensor(), opts);
  CHECK(max_abs_diff(y2.to_vector(), conv1d_by_loop(x, w, Tensor(), 2, 1, 2, 5)) < 1e-13);
  Tensor y32 = conv1d(x.to(Dtype::Float32), w.to(Dtype::Float32), b.to(Dtype::Float32), opts);
  CHECK(max_abs_diff(y32.to_vector(), y1.to_vector()) < 1e-5);
}

TEST_CASE("conv1d gradcheck with stride 2, padding 1, dilation 2, with and without bias") {
  Tensor x = rnd({2, 3, 11}, 30), w = rnd({4, 3, 3}, 31), b = rnd({4}, 32);
  auto opts = Conv1dFuncOptions().stride(2).padding(1).dilation(2);
  expect_gradcheck([opts](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], in[2], opts); }, {x, w, b});
  expect_gradcheck([opts](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], Tensor(), opts); }, {x, w});
  expect_gradcheck([](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], in[2]); }, {x, w, b});
  // padding wider than the dilated reach of the edge taps, on a permuted input
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        return conv1d(permute(in[0], {0, 2, 1}), in[1], in[2], Conv1dFuncOptions().padding(3).stride(3));
      },
      {rnd({2, 7, 3}, 33), w, b});
}

TEST_CASE("conv1d errors name shapes and options") {
  Tensor x = rnd({2, 3, 5}, 34, false), w = rnd({4, 3, 3}, 35, false);
  CHECK_THROWS_WITH_AS(conv1d(x, rnd({4, 2, 3}, 1, false), Tensor()),
                       doctest::Contains("input (2, 3, 5) has 3 channels but weight (4, 2, 3)"), Error);
  CHECK_THROWS_WITH_AS(conv1d(x, w, rnd({3}, 1, false)), doctest::Contains("bias (3,) must be (4,)"), Error);
  CHECK_THROWS_WITH_AS(conv1d(x, w, Tensor(), Conv1dFuncOptions().dilation(3)), doctest::Contains("shorter"), Error);
  CHECK_THROWS_WITH_AS(conv1d(x, w, Tensor(), Conv1dFuncOptions().stride(0)), doctest::Contains("option stride"),
                       Error);
  CHECK_THROWS_WITH_AS(conv1d(rnd({3, 5}, 1, false), w, Tensor()), doctest::Contains("conv1d: input must be"), Error);
  CHECK_THROWS_WITH_AS(conv1d(x.to(Dtype::Float32), w, Tensor()), doctest::Contains("mixed dtypes"), Error);
}

// ----- max_pool1d -----
TEST_CASE("max_pool1d matches a direct loop with -inf padding") {
  Tensor x = rnd({2, 3, 10}, 36, false);
  // kernel 3, stride 2, padding 1: Lo = (10 + 2 - 3) / 2 + 1 = 5
  Tensor y = max_pool1d(x, 3, 2, 1);
  REQUIRE(y.shape() == Shape{2, 3, 5});
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t t = 0; t < 5; ++t) {
        double m = -INFINITY;
        for (long p = static_cast<long>(2 * t) - 1; p < static_cast<long>(2 * t) + 2; ++p)
          if (p >= 0 && p < 10) m = std::max(m, x.at({n, c, static_cast<std::size_t>(p)}));
        CHECK(y.at({n, c, t}) == m);
      }
  // default stride = kernel: (10 - 4) / 4 + 1 = 2 windows
  Tensor z = max_pool1d(x, 4);
  REQUIRE(z.shape() == Shape{2, 3, 2});
  CHECK(z.at({1, 2, 1}) == std::max({x.at({1, 2, 4}), x.at({1, 2, 5}), x.at({1, 2, 6}), x.at({1, 2, 7})}));
}

TEST_CASE("max_pool1d gradcheck (overlapping windows, padding, 2-D input)") {
  Tensor x = rnd({2, 3, 10}, 37);
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool1d(in[0], 3, 2, 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool1d(in[0], 2); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool1d(in[0], 4, 1, 2); }, {rnd({3, 9}, 38)});
}

TEST_CASE("max_pool1d errors name the options") {
  Tensor x = rnd({2, 3, 4}, 39, false);
  CHECK_THROWS_WITH_AS(max_pool1d(x, 2, 1, 2), doctest::Contains("option padding 2"), Error);
  CHECK_THROWS_WITH_AS(max_pool1d(x, 0), doctest::Contains("kernel_size"), Error);
  CHECK_THROWS_WITH_AS(max_pool1d(x, 6), doctest::Contains("(2, 3, 4)"), Error);
  CHECK_THROWS_WITH_AS(max_pool1d(rnd({4}, 1, false), 2), doctest::Contains("max_pool1d: input must be"), Error);
}

// ----- masked mean / max -----
TEST_CASE("masked_mean and masked_max skip masked entries - an all-masked slice gives 0 and zero gradient") {
  Tensor x = rnd({2, 4, 3}, 40);
  // mask (2, 4, 1) broadcast over the last axis: batch 0 keeps positions 0, 2; batch 1 keeps none
  Tensor mask = from_mask({false, true, false, true, true, true, true, true}, {2, 4, 1});
  Tensor mm = masked_mean(x, mask, 1);
  Tensor mx = masked_max(x, mask, 1, true);
  REQUIRE(mm.shape() == Shape{2, 3});
  REQUIRE(mx.shape() == Shape{2, 1, 3});
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(mm.at({0, c}) == doctest::Approx((x.at({0, 0, c}) + x.at({0, 2, c})) / 2).epsilon(1e-14));
    CHECK(mx.at({0, 0, c}) == std::max(x.at({0, 0, c}), x.at({0, 2, c})));
    CHECK(mm.at({1, c}) == 0.0);
    CHECK(mx.at({1, 0, c}) == 0.0);
  }
  add(sum(mm), sum(mx)).backward();
  Tensor g = x.grad();
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t c = 0; c < 3; ++c) CHECK(g.at({1, j, c}) == 0.0);
  CHECK(g.at({0, 1, 0}) == 0.0);
  expect_gradcheck([mask](const std::vector<Tensor>& in) { return masked_mean(in[0], mask, 1); }, {x});
  expect_gradcheck([mask](const std::vector<Tensor>& in) { return masked_max(in[0], mask, 1); }, {x});
  // along the last axis with a full-shape mask, on a permuted input
  Tensor mask2 = from_mask({false, true, false, false, true, true, true, true, false, true, false, true}, {3, 4});
  expect_gradcheck([mask2](const std::vector<Tensor>& in) { return masked_mean(transpose(in[0], 0, 1), mask2, -1, true); },
                   {rnd({4, 3}, 41)});
  expect_gradcheck([mask2](const std::vector<Tensor>& in) { return masked_max(transpose(in[0], 0, 1), mask2, -1); },
                   {rnd({4, 3}, 42)});
}

TEST_CASE("masked_mean / masked_max errors name the op, the axis and the mask shape") {
  Tensor x = rnd({2, 3}, 43, false);
  CHECK_THROWS_WITH_AS(masked_mean(x, from_mask({true, false}, {2}), 1), doctest::Contains("masked_mean"), Error);
  CHECK_THROWS_WITH_AS(masked_max(x, from_mask({true, false, true}, {3}), 2),
                       doctest::Contains("masked_max: axis 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(masked_max(x, from_mask({true, false}, {2}), 0), doctest::Contains("(2, 3)"), Error);
}

// ----- float32 -----
TEST_CASE("every nn op runs in float32 and agrees with float64 (forward and gradients)") {
  Tensor x = rnd({2, 3, 8}, 50);
  Tensor mask = from_mask({false, true, false, true, true, true}, {2, 3, 1});
  expect_float32_agrees([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {x});
  expect_float32_agrees([mask](const std::vector<Tensor>& in) { return softmax(in[0], 1, mask); }, {x});
  expect_float32_agrees([](const std::vector<Tensor>& in) { return log_softmax(in[0], -1); }, {x});
  expect_float32_agrees([](const std::vector<Tensor>& in) { return layer_norm(in[0], 2, in[1], in[2]); },
                        {x, rnd({3, 8}, 51), rnd({3, 8}, 52)});
  expect_float32_agrees(
      [](const std::vector<Tensor>& in) {
        Generator gen(3);
        return dropout(in[0], 0.25, true, gen);
      },
      {x});
  expect_float32_agrees([](const std::vector<Tensor>& in) { return embedding(in[0], from_indices({1, 1, 0}, {3})); },
                        {rnd({2, 4}, 53)});
  expect_float32_agrees(
      [](const std::vector<Tensor>& in) {
        return conv1d(in[0], in[1], in[2], Conv1dFuncOptions().stride(2).padding(1).dilation(2));
      },
      {x, rnd({4, 3, 3}, 54), rnd({4}, 55)});
  expect_float32_agrees([](const std::vector<Tensor>& in) { return max_pool1d(in[0], 3, 2, 1); }, {x});
  expect_float32_agrees([mask](const std::vector<Tensor>& in) { return masked_mean(in[0], mask, 1); }, {x});
  expect_float32_agrees([mask](const std::vector<Tensor>& in) { return masked_max(in[0], mask, 1); }, {x});
}
