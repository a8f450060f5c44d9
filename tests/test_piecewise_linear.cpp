// Piecewise-linear feature encoding (datasets/piecewise_linear): edges from training rows only, the
// thermometer code of a coded category, quantile bins of a numeric column, values outside the fitted range,
// and errors that name the function.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "hopfield/datasets/piecewise_linear.h"
#include "hopfield/engine/check.h"

using namespace hf;

TEST_CASE("piecewise-linear encoding: a coded category becomes a thermometer code over its training values") {
  // One feature coded 0, 1, 2 (rows 0-5 train) and a test row with an unseen code 3.
  const std::vector<double> x{0, 1, 2, 1, 0, 2, 3};
  const PiecewiseLinearEncoder enc = fit_piecewise_linear(x, 1, {0, 1, 2, 3, 4, 5}, 8);
  REQUIRE(enc.edges.size() == 1);
  CHECK(enc.edges[0] == std::vector<double>{0, 1, 2});
  CHECK(enc.output_dim() == 3);
  const std::vector<double> e = enc.apply(x);
  // Row layout: x, [x >= 1], [x >= 2] (linear in between, clamped outside).
  CHECK(std::vector<double>(e.begin(), e.begin() + 9) == std::vector<double>{0, 0, 0, 1, 1, 0, 2, 1, 1});
  CHECK(std::vector<double>(e.begin() + 18, e.end()) == std::vector<double>{3, 1, 1});
  // One-hot indicators are neighbouring differences: [x == 1] = e1 - e2.
  CHECK(e[3 * 1 + 1] - e[3 * 1 + 2] == 1.0);
  CHECK(e[3 * 2 + 1] - e[3 * 2 + 2] == 0.0);
}

TEST_CASE("piecewise-linear encoding: quantile edges of a numeric column, fitted on the listed rows only") {
  // Feature 0: 0..99 on rows 0..99 (training), then a held-out row with 1000 that must not move the edges.
  // Feature 1: constant on the training rows -> no bins, only the raw value.
  std::vector<double> x;
  for (int i = 0; i < 100; ++i) x.insert(x.end(), {double(i), 5.0});
  x.insert(x.end(), {1000.0, -3.0});
  std::vector<std::size_t> train(100);
  for (std::size_t i = 0; i < 100; ++i) train[i] = i;
  const PiecewiseLinearEncoder enc = fit_piecewise_linear(x, 2, train, 4);
  // Nearest-rank quantiles of 0..99 at 0, 1/4, 1/2, 3/4, 1: positions 0, 24.75, 49.5, 74.25, 99 rounded.
  CHECK(enc.edges[0] == std::vector<double>{0, 25, 50, 74, 99});
  CHECK(enc.edges[1] == std::vector<double>{5});
  CHECK(enc.output_dim() == 2 + 4);
  const std::vector<double> e = enc.apply(x);
  const std::size_t D = 6;
  // Row 60: bins [0,25) full, [25,50) full, [50,74) 10/24, [74,99) empty.
  const double* r60 = e.data() + 60 * D;
  CHECK(r60[0] == 60.0);
  CHECK(r60[1] == 5.0);
  CHECK(r60[2] == 1.0);
  CHECK(r60[3] == 1.0);
  CHECK(r60[4] == doctest::Approx(10.0 / 24.0).epsilon(1e-15));
  CHECK(r60[5] == 0.0);
  // The held-out row beyond the training range saturates at 1 in every bin.
  const double* r100 = e.data() + 100 * D;
  CHECK(std::vector<double>(r100, r100 + D) == std::vector<double>{1000, -3, 1, 1, 1, 1});
}

TEST_CASE("piecewise-linear encoding: bad input names fit_piecewise_linear or apply") {
  const std::vector<double> x{0, 1, 2, 3};
  CHECK_THROWS_WITH_AS(fit_piecewise_linear(x, 1, {0, 1}, 0), doctest::Contains("fit_piecewise_linear"), Error);
  CHECK_THROWS_WITH_AS(fit_piecewise_linear(x, 1, {}, 4), doctest::Contains("no training rows"), Error);
  CHECK_THROWS_WITH_AS(fit_piecewise_linear(x, 1, {0, 7}, 4), doctest::Contains("row 7 out of range"), Error);
  CHECK_THROWS_WITH_AS(fit_piecewise_linear(x, 3, {0}, 4), doctest::Contains("not a whole number of rows"), Error);
  const std::vector<double> bad{0, std::numeric_limits<double>::quiet_NaN()};
  CHECK_THROWS_WITH_AS(fit_piecewise_linear(bad, 1, {0, 1}, 4), doctest::Contains("row 1 feature 0 is nan"), Error);
  const PiecewiseLinearEncoder enc = fit_piecewise_linear(x, 2, {0, 1}, 4);
  CHECK_THROWS_WITH_AS(enc.apply(std::vector<double>{1, 2, 3}), doctest::Contains("PiecewiseLinearEncoder::apply"), Error);
  CHECK_THROWS_WITH_AS(enc.apply(bad), doctest::Contains("feature 1 is nan"), Error);
}
