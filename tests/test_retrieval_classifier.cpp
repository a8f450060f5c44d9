// RetrievalClassifier (layers/retrieval_classifier.h) against the formula evaluated directly,
// p(c | xi) = sum_i softmax_i(-beta/2 ||xi - y_i||^2) [label_i = c], its two limits, and its errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/retrieval_classifier.h"

using namespace hf;

namespace {

// The formula in plain loops (no extension trick, no BLAS): (B, C) row-major.
std::vector<double> direct(const Tensor& Y, const std::vector<std::int64_t>& labels, std::size_t C, const Tensor& X,
                           double beta) {
  const std::size_t N = Y.size(0), d = Y.size(1), B = X.size(0);
  const double *y = Y.data<double>(), *x = X.data<double>();
  std::vector<double> out(B * C, 0.0);
  for (std::size_t b = 0; b < B; ++b) {
    std::vector<double> a(N);
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < N; ++i) {
      double d2 = 0;
      for (std::size_t j = 0; j < d; ++j) d2 += (x[b * d + j] - y[i * d + j]) * (x[b * d + j] - y[i * d + j]);
      a[i] = -beta / 2 * d2;
      top = std::max(top, a[i]);
    }
    double z = 0;
    for (double& v : a) z += (v = std::exp(v - top));
    for (std::size_t i = 0; i < N; ++i) out[b * C + static_cast<std::size_t>(labels[i])] += a[i] / z;
  }
  return out;
}

struct Case {
  Tensor Y, X;
  std::vector<std::int64_t> labels;
  std::size_t C = 3;
};

Case random_case(std::uint64_t seed) {
  Generator gen(seed);
  Case c;
  c.Y = randn({9, 4}, Dtype::Float64, gen);
  c.X = randn({7, 4}, Dtype::Float64, gen);
  for (std::size_t i = 0; i < 9; ++i) c.labels.push_back(static_cast<std::int64_t>(gen.next_u64() % c.C));
  return c;
}

}  // namespace

TEST_CASE("RetrievalClassifier: the distance-form Hopfield update equals the formula, in any chunking") {
  for (std::uint64_t seed : {1, 2, 3})
    for (double beta : {0.05, 0.8, 6.0}) {
      const Case c = random_case(seed);
      const std::vector<double> want = direct(c.Y, c.labels, c.C, c.X, beta);
      for (std::size_t chunk : {1, 3, 256}) {
        const RetrievalClassifier rc(c.Y, c.labels, c.C, RetrievalClassifierOptions().beta(beta).chunk(chunk));
        const Tensor p = rc.predict_proba(c.X);
        REQUIRE(p.shape() == Shape{7, 3});
        double err = 0;
        for (std::size_t i = 0; i < want.size(); ++i) err = std::max(err, std::abs(p.data<double>()[i] - want[i]));
        INFO("seed " << seed << " beta " << beta << " chunk " << chunk);
        CHECK(err < 1e-13);
      }
    }
}

TEST_CASE("RetrievalClassifier: large beta reads out the nearest pattern's label, small beta the class frequencies") {
  const Case c = random_case(5);
  const std::size_t N = 9, d = 4;
  const Tensor sharp = RetrievalClassifier(c.Y, c.labels, c.C, RetrievalClassifierOptions().beta(1e4)).predict_proba(c.X);
  const Tensor flat = RetrievalClassifier(c.Y, c.labels, c.C, RetrievalClassifierOptions().beta(1e-9)).predict_proba(c.X);
  std::vector<double> freq(c.C, 0.0);
  for (auto l : c.labels) freq[static_cast<std::size_t>(l)] += 1.0 / N;
  for (std::size_t b = 0; b < 7; ++b) {
    std::size_t nearest = 0;
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < N; ++i) {
      double d2 = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double t = c.X.data<double>()[b * d + j] - c.Y.data<double>()[i * d + j];
        d2 += t * t;
      }
      if (d2 < best) best = d2, nearest = i;
    }
    const auto want = static_cast<std::size_t>(c.labels[nearest]);
    CHECK(sharp.data<double>()[b * c.C + want] > 1 - 1e-9);
    for (std::size_t k = 0; k < c.C; ++k) CHECK(flat.data<double>()[b * c.C + k] == doctest::Approx(freq[k]).epsilon(1e-6));
  }
}

TEST_CASE("RetrievalClassifier: bad input names the class and the problem") {
  const Case c = random_case(7);
  using O = RetrievalClassifierOptions;
  CHECK_THROWS_WITH_AS(RetrievalClassifier(c.Y, {0, 1}, c.C), doctest::Contains("2 labels for patterns (9, 4)"), Error);
  std::vector<std::int64_t> bad = c.labels;
  bad[4] = 3;
  CHECK_THROWS_WITH_AS(RetrievalClassifier(c.Y, bad, c.C), doctest::Contains("label 3 of pattern 4 is outside [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(RetrievalClassifier(zeros({9, 4}), c.labels, c.C), doctest::Contains("float64"), Error);
  CHECK_THROWS_WITH_AS(RetrievalClassifier(c.Y, c.labels, c.C, O().beta(0)), doctest::Contains("Invalid beta"), Error);
  CHECK_THROWS_WITH_AS(RetrievalClassifier(c.Y, c.labels, c.C, O().chunk(0)), doctest::Contains("Invalid chunk"), Error);
  const RetrievalClassifier rc(c.Y, c.labels, c.C);
  CHECK_THROWS_WITH_AS(rc.predict_proba(zeros({2, 5}, Dtype::Float64)), doctest::Contains("do not match the 4 features"), Error);
  Tensor nan_q = zeros({2, 4}, Dtype::Float64);
  nan_q.data<double>()[6] = std::nan("");
  CHECK_THROWS_WITH_AS(rc.predict_proba(nan_q), doctest::Contains("non-finite value at row 1, column 2"), Error);
}
