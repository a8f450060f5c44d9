// Losses (engine/ops_loss.cpp): forward values against hand-worked numbers and torch's documented
// formulas written as loops here, float64 gradient checks for every option, and the error messages.
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

Tensor vec(const std::vector<double>& v, const Shape& shape) { return from_vector(v, shape, Dtype::Float64); }


// Runs f on float64 inputs and on float32 copies: outputs and input gradients must agree to float32 precision.
void expect_float32_agrees(const GradcheckFn& f, const std::vector<Tensor>& in64) {
  std::vector<Tensor> a, b;
  for (const Tensor& t : in64) {
    a.push_back(t.detach().clone().requires_grad_());
    b.push_back(t.detach().to(Dtype::Float32).requires_grad_());
  }
  Tensor ya = f(a), yb = f(b);
  REQUIRE(yb.dtype() == Dtype::Float32);
  auto close = [](const Tensor& x, const Tensor& y) {
    auto vx = x.to_vector(), vy = y.to_vector();
    double scale = 1, diff = 0;
    for (std::size_t i = 0; i < vx.size(); ++i) {
      scale = std::max(scale, std::abs(vx[i]));
      diff = std::max(diff, std::abs(vx[i] - vy[i]));
    }
    return vx.size() == vy.size() && diff < 1e-5 * scale;
  };
  CHECK(close(ya, yb));
  Generator gen(99);
  Tensor dout = randn(ya.shape(), Dtype::Float64, gen);
  ya.backward(dout);
  yb.backward(dout.to(Dtype::Float32));
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    REQUIRE(b[i].grad().defined());
    CHECK(b[i].grad().dtype() == Dtype::Float32);
    CHECK(close(a[i].grad(), b[i].grad()));
  }
}

const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

double reduce_by_loop(const std::vector<double>& l, Reduction r) {
  double s = 0;
  for (double v : l) s += v;
  return r == Reduction::Mean ? s / static_cast<double>(l.size()) : s;
}

}  // namespace

// ----- mse_loss -----
TEST_CASE("mse_loss forward for every reduction and gradcheck on input and target") {
  Tensor a = rnd({3, 4}, 1), b = rnd({3, 4}, 2);
  std::vector<double> sq;
  for (std::size_t i = 0; i < a.numel(); ++i) sq.push_back((a.flat(i) - b.flat(i)) * (a.flat(i) - b.flat(i)));
  Tensor none = mse_loss(a, b, Reduction::None);
  REQUIRE(none.shape() == Shape{3, 4});
  for (std::size_t i = 0; i < sq.size(); ++i) CHECK(none.flat(i) == doctest::Approx(sq[i]).epsilon(1e-14));
  CHECK(mse_loss(a, b).item() == doctest::Approx(reduce_by_loop(sq, Reduction::Mean)).epsilon(1e-14));
  CHECK(mse_loss(a, b, Reduction::Sum).item() == doctest::Approx(reduce_by_loop(sq, Reduction::Sum)).epsilon(1e-14));
  for (Reduction r : kReductions)
    expect_gradcheck([r](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], r); }, {a, b});
}

TEST_CASE("mse_loss errors name the shapes") {
  CHECK_THROWS_WITH_AS(mse_loss(rnd({2, 3}, 1, false), rnd({3}, 2, false)),
                       doctest::Contains("mse_loss: input (2, 3) and target (3,) differ in shape"), Error);
  CHECK_THROWS_WITH_AS(mse_loss(rnd({2}, 1, false), rnd({2}, 2, false).to(Dtype::Float32)),
                       doctest::Contains("mixed dtypes"), Error);
}

// ----- binary_cross_entropy_with_logits -----
namespace {
// torch's documented form: l = -w [pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], pos_weight over the last
// axis (C) and weight (N, 1) broadcast by index here.
std::vector<double> bce_by_loop(const Tensor& x, const Tensor& t, const Tensor& pw, const Tensor& w) {
  const std::size_t C = x.shape().back();
  std::vector<double> out;
  for (std::size_t i = 0; i < x.numel(); ++i) {
    const double s = 1 / (1 + std::exp(-x.flat(i)));
    const double p = pw.defined() ? pw.flat(i % C) : 1.0;
    const double wi = w.defined() ? w.flat(i / C) : 1.0;
    out.push_back(-wi * (p * t.flat(i) * std::log(s) + (1 - t.flat(i)) * std::log(1 - s)));
  }
  return out;
}
}  // namespace

TEST_CASE("binary_cross_entropy_with_logits matches torch's formula with pos_weight and weight") {
  Tensor x = rnd({4, 3}, 3, false), t = uni({4, 3}, 0, 1, 4, false);
  Tensor pw = uni({3}, 0.5, 3, 5, false), w = uni({4, 1}, 0.5, 2, 6, false);
  for (int variant = 0; variant < 4; ++variant) {
    BCEWithLogitsOptions o;
    if (variant & 1) o.pos_weight(pw);
    if (variant & 2) o.weight(w);
    auto expect = bce_by_loop(x, t, o.pos_weight(), o.weight());
    for (Reduction r : kReductions) {
      CAPTURE(variant);
      Tensor l = binary_cross_entropy_with_logits(x, t, BCEWithLogitsOptions(o).reduction(r));
      if (r == Reduction::None) {
        for (std::size_t i = 0; i < expect.size(); ++i) CHECK(l.flat(i) == doctest::Approx(expect[i]).epsilon(1e-12));
      } else {
        CHECK(l.item() == doctest::Approx(reduce_by_loop(expect, r)).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("binary_cross_entropy_with_logits is stable for large logits") {
  Tensor x = vec({100.0, -100.0, 800.0, -800.0}, {4});
  Tensor t = vec({0.0, 1.0, 1.0, 0.0}, {4});
  Tensor l = binary_cross_entropy_with_logits(x, t, BCEWithLogitsOptions().reduction(Reduction::None));
  CHECK(l.flat(0) == doctest::Approx(100.0));
  CHECK(l.flat(1) == doctest::Approx(100.0));
  CHECK(l.flat(2) == doctest::Approx(0.0));
  CHECK(l.flat(3) == doctest::Approx(0.0));
  for (double v : l.to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("binary_cross_entropy_with_logits gradcheck for every option (input, target, pos_weight, weight)") {
  Tensor x = rnd({4, 3}, 7), t = uni({4, 3}, 0.1, 0.9, 8);
  Tensor pw = uni({3}, 0.5, 3, 9), w = uni({4, 1}, 0.5, 2, 10);
  for (Reduction r : kReductions) {
    expect_gradcheck(
        [r](const std::vector<Tensor>& in) {
          return binary_cross_entropy_with_logits(in[0], in[1], BCEWithLogitsOptions().reduction(r));
        },
        {x, t});
    expect_gradcheck(
        [r](const std::vector<Tensor>& in) {
          return binary_cross_entropy_with_logits(
              in[0], in[1], BCEWithLogitsOptions().pos_weight(in[2]).weight(in[3]).reduction(r));
        },
        {x, t, pw, w});
  }
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(transpose(in[0], 0, 1), in[1], BCEWithLogitsOptions().pos_weight(in[2]));
      },
      {rnd({3, 4}, 11), uni({4, 3}, 0, 1, 12), pw});
}

TEST_CASE("binary_cross_entropy_with_logits errors name the shapes and options") {
  Tensor x = rnd({4, 3}, 13, false);
  CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, rnd({3}, 1, false)),
                       doctest::Contains("target (3,) must have the shape of input (4, 3)"), Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, x, BCEWithLogitsOptions().pos_weight(rnd({4}, 1, false))),
                       doctest::Contains("binary_cross_entropy_with_logits"), Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, x, BCEWithLogitsOptions().weight(rnd({2, 4, 3}, 1, false))),
                       doctest::Contains("option weight of shape (2, 4, 3) does not broadcast"), Error);
}

// ----- cross_entropy -----
TEST_CASE("cross_entropy on a hand-worked 2x3 example") {
  // row 0: logits (1, 2, 3), target 2: -log p = log(e + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2) = 0.4076059644...
  // row 1: logits (0, 0, 0), target 1: -log(1/3) = log 3 = 1.0986122886...
  Tensor x = vec({1, 2, 3, 0, 0, 0}, {2, 3});
  Tensor t = from_indices({2, 1}, {2});
  const double l0 = 0.4076059644443804, l1 = 1.0986122886681098;
  Tensor none = cross_entropy(x, t, CrossEntropyOptions().reduction(Reduction::None));
  CHECK(none.flat(0) == doctest::Approx(l0).epsilon(1e-14));
  CHECK(none.flat(1) == doctest::Approx(l1).epsilon(1e-14));
  CHECK(cross_entropy(x, t).item() == doctest::Approx(0.7531091265562451).epsilon(1e-14));
  CHECK(cross_entropy(x, t, CrossEntropyOptions().reduction(Reduction::Sum)).item() ==
        doctest::Approx(1.5062182531124901).epsilon(1e-14));
  // class weights (1, 2, 3): (3 l0 + 2 l1) / (3 + 2)
  Tensor cw = vec({1, 2, 3}, {3});
  CHECK(cross_entropy(x, t, CrossEntropyOptions().weight(cw)).item() == doctest::Approx(0.6840084941338722).epsilon(1e-14));
  // label smoothing 0.1 on row 0: 0.9 l0 + 0.1/3 * sum_c (3 + l0 - x_c) = l0 + 0.1 * (3 - mean(x)) = l0 + 0.1
  Tensor ls = cross_entropy(x, t, CrossEntropyOptions().label_smoothing(0.1).reduction(Reduction::None));
  CHECK(ls.flat(0) == doctest::Approx(l0 + 0.1).epsilon(1e-14));
  // row 1 is uniform: smoothing leaves log 3
  CHECK(ls.flat(1) == doctest::Approx(l1).epsilon(1e-14));
  // ignore_index drops row 1 from the mean
  CHECK(cross_entropy(x, t, CrossEntropyOptions().ignore_index(1)).item() == doctest::Approx(l0).epsilon(1e-14));
}

namespace {
// torch's documented label-smoothed target q_c = (1 - eps) [c == t] + eps / C, l_i = -sum_c w_c q_c log p_c,
// Mean = sum_i l_i / sum_i w_{t_i} over non-ignored i.
double ce_by_loop(const Tensor& x, const std::vector<std::int64_t>& t, const std::vector<double>& w, double eps,
                  std::int64_t ignore, Reduction r, std::vector<double>* per_row) {
  const std::size_t N = x.shape()[0], C = x.shape()[1];
  double total = 0, wsum = 0;
  for (std::size_t i = 0; i < N; ++i) {
    double z = 0;
    for (std::size_t c = 0; c < C; ++c) z += std::exp(x.at({i, c}));
    double l = 0;
    if (t[i] != ignore) {
      for (std::size_t c = 0; c < C; ++c) {
        const double q = (1 - eps) * (static_cast<std::int64_t>(c) == t[i] ? 1.0 : 0.0) + eps / static_cast<double>(C);
        l -= w[c] * q * std::log(std::exp(x.at({i, c})) / z);
      }
      wsum += w[static_cast<std::size_t>(t[i])];
    }
    if (per_row) per_row->push_back(l);
    total += l;
  }
  return r == Reduction::Mean ? total / wsum : total;
}
}  // namespace

TEST_CASE("cross_entropy matches torch's label-smoothing formula with weights and ignore_index") {
  Tensor x = rnd({5, 4}, 14, false);
  const std::vector<std::int64_t> tv = {3, 0, -100, 2, 0};
  Tensor t = from_indices(tv, {5});
  const std::vector<double> wv = {0.5, 2.0, 1.5, 3.0};
  for (bool weighted : {false, true})
    for (double eps : {0.0, 0.25})
      for (Reduction r : kReductions) {
        CAPTURE(weighted);
        CAPTURE(eps);
        auto o = CrossEntropyOptions().label_smoothing(eps).reduction(r);
        if (weighted) o.weight(vec(wv, {4}));
        std::vector<double> rows;
        const double expect = ce_by_loop(x, tv, weighted ? wv : std::vector<double>(4, 1.0), eps, -100, r, &rows);
        Tensor l = cross_entropy(x, t, o);
        if (r == Reduction::None) {
          REQUIRE(l.shape() == Shape{5});
          for (std::size_t i = 0; i < 5; ++i) CHECK(l.flat(i) == doctest::Approx(rows[i]).epsilon(1e-13));
        } else {
          CHECK(l.shape() == Shape{});
          CHECK(l.item() == doctest::Approx(expect).epsilon(1e-13));
        }
      }
  // cross_entropy = nll_loss(log_softmax) without smoothing
  auto o = CrossEntropyOptions().weight(vec(wv, {4})).ignore_index(2);
  Tensor t2 = from_indices({1, 2, 3, 0, 2}, {5});
  CHECK(cross_entropy(x, t2, o).item() ==
        doctest::Approx(nll_loss(log_softmax(x, 1), t2, NLLLossOptions().weight(vec(wv, {4})).ignore_index(2)).item())
            .epsilon(1e-13));
}

TEST_CASE("cross_entropy gradcheck for every option") {
  Tensor x = rnd({5, 4}, 15);
  Tensor t = from_indices({3, 0, -100, 2, 0}, {5});
  Tensor cw = uni({4}, 0.5, 3, 16, false);
  for (bool weighted : {false, true})
    for (double eps : {0.0, 0.2})
      for (Reduction r : kReductions) {
        CAPTURE(weighted);
        CAPTURE(eps);
        auto o = CrossEntropyOptions().label_smoothing(eps).reduction(r);
        if (weighted) o.weight(cw);
        expect_gradcheck([t, o](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, o); }, {x});
      }
  // custom ignore_index, permuted logits
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        return cross_entropy(transpose(in[0], 0, 1), from_indices({1, 1, 0}, {3}), CrossEntropyOptions().ignore_index(0));
      },
      {rnd({2, 3}, 17)});
}

TEST_CASE("cross_entropy: a batch whose targets are all ignored gives 0 and zero gradient") {
  Tensor x = rnd({2, 3}, 18);
  Tensor l = cross_entropy(x, from_indices({-100, -100}, {2}));
  CHECK(l.item() == 0.0);
  l.backward();
  for (double v : x.grad().to_vector()) CHECK(v == 0.0);
}

TEST_CASE("cross_entropy errors name the op, shapes and options") {
  Tensor x = rnd({2, 3}, 19, false);
  CHECK_THROWS_WITH_AS(cross_entropy(x, from_indices({0, 3}, {2})),
                       doctest::Contains("cross_entropy: target 3 at position 1 is out of range for 3 classes"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, from_indices({0, -1}, {2})), doctest::Contains("target -1"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, from_indices({0, 1, 2}, {3})),
                       doctest::Contains("target (3,) does not match input (2, 3) (expected (2,))"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, vec({0, 1}, {2})), doctest::Contains("Int64"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, from_indices({0, 1}, {2}), CrossEntropyOptions().weight(vec({1, 2}, {2}))),
                       doctest::Contains("option weight (2,) must be (C,) = (3,)"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, from_indices({0, 1}, {2}), CrossEntropyOptions().label_smoothing(1.5)),
                       doctest::Contains("option label_smoothing = 1.5"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(rnd({6}, 1, false), from_indices({0}, {1})), doctest::Contains("(N, C)"), Error);
}

// ----- nll_loss -----
TEST_CASE("nll_loss picks -w_t * lp[t] and divides the mean by the target weights") {
  Tensor lp = rnd({4, 3}, 20);
  const std::vector<std::int64_t> tv = {2, 0, 1, 2};
  Tensor t = from_indices(tv, {4});
  const std::vector<double> wv = {0.5, 2.0, 3.0};
  // hand-written: ignore_index 0 drops row 1
  double num = 0, den = 0;
  for (std::size_t i : {0u, 2u, 3u}) {
    num -= wv[static_cast<std::size_t>(tv[i])] * lp.at({i, static_cast<std::size_t>(tv[i])});
    den += wv[static_cast<std::size_t>(tv[i])];
  }
  auto o = NLLLossOptions().weight(vec(wv, {3})).ignore_index(0);
  CHECK(nll_loss(lp, t, o).item() == doctest::Approx(num / den).epsilon(1e-14));
  CHECK(nll_loss(lp, t, NLLLossOptions(o).reduction(Reduction::Sum)).item() == doctest::Approx(num).epsilon(1e-14));
  Tensor none = nll_loss(lp, t, NLLLossOptions(o).reduction(Reduction::None));
  CHECK(none.flat(1) == 0.0);
  CHECK(none.flat(2) == doctest::Approx(-2.0 * lp.at({2, 1})).epsilon(1e-14));
  CHECK(nll_loss(lp, t).item() ==
        doctest::Approx(-(lp.at({0, 2}) + lp.at({1, 0}) + lp.at({2, 1}) + lp.at({3, 2})) / 4).epsilon(1e-14));

  for (Reduction r : kReductions) {
    expect_gradcheck([t, r](const std::vector<Tensor>& in) { return nll_loss(in[0], t, NLLLossOptions().reduction(r)); },
                     {lp});
    expect_gradcheck([t, o, r](const std::vector<Tensor>& in) { return nll_loss(in[0], t, NLLLossOptions(o).reduction(r)); },
                     {lp});
  }
}

TEST_CASE("nll_loss errors name the op and the bad target") {
  Tensor lp = rnd({2, 3}, 21, false);
  CHECK_THROWS_WITH_AS(nll_loss(lp, from_indices({5, 0}, {2})),
                       doctest::Contains("nll_loss: target 5 at position 0 is out of range"), Error);
  CHECK_THROWS_WITH_AS(nll_loss(lp, from_indices({0, 0}, {1, 2})), doctest::Contains("(1, 2)"), Error);
}

// ----- float32 -----
TEST_CASE("every loss runs in float32 and agrees with float64 (forward and gradients)") {
  Tensor x = rnd({4, 3}, 30), y = uni({4, 3}, 0, 1, 31);
  Tensor t = from_indices({2, 0, -100, 1}, {4});
  expect_float32_agrees([](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); }, {x, y});
  expect_float32_agrees(
      [](const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(in[0], in[1], BCEWithLogitsOptions().pos_weight(in[2]).weight(in[3]));
      },
      {x, y, uni({3}, 0.5, 2, 32), uni({4, 1}, 0.5, 2, 33)});
  expect_float32_agrees(
      [t](const std::vector<Tensor>& in) {
        return cross_entropy(in[0], t, CrossEntropyOptions().label_smoothing(0.1).reduction(Reduction::None));
      },
      {x});
  expect_float32_agrees([t](const std::vector<Tensor>& in) { return nll_loss(in[0], t); }, {x});
}
