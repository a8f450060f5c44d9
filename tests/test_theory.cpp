// The paper's theory as computations (hopfield/theory/): each prediction against a value worked out by hand
// or an identity it must satisfy, each measurement on a case small enough to know its answer.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/binary_hopfield.h"
#include "hopfield/layers/memory.h"
#include "hopfield/theory/capacity.h"
#include "hopfield/theory/energy_descent.h"
#include "hopfield/theory/fixed_points.h"
#include "hopfield/theory/retrieval_error.h"

using namespace hf;

TEST_CASE("theory: the capacity estimate has its two regimes and the retrieval criterion counts signs") {
  // d = 64, 3 flipped bits: g = 58, the regimes meet at beta = g / (2 d) = 0.453.
  CHECK(predicted_log_capacity(0.05, 64, 58) == doctest::Approx(5.8 - 0.32 + std::log(0.26)).epsilon(1e-14));
  CHECK(predicted_log_capacity(1.0, 64, 58) == doctest::Approx(58.0 * 58.0 / 128.0).epsilon(1e-14));
  // Row 0: the pattern's signs at other magnitudes (overlap 1); row 1: one of 4 signs wrong (overlap 0.5);
  // row 2: one entry 0 (overlap 0.75).
  const std::vector<double> x = {1, -1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1};
  const std::vector<double> s = {0.2, -3, 5, 0.1, -1, 1, 1, 1, 0, 2, -2, -0.5};
  CHECK(fraction_retrieved(s, x, 3, 4) == doctest::Approx(1.0 / 3.0));
  CHECK(fraction_retrieved(s, x, 3, 4, 0.75) == doctest::Approx(2.0 / 3.0));
  CHECK(fraction_retrieved(s, x, 2, 4, 0.5) == 1.0);
  CHECK_THROWS_AS(fraction_retrieved(s, x, 4, 4), Error);
  // Queries: exactly f entries of each of the first b rows negated, the rest as stored.
  Generator gen(4);
  const std::vector<double> p = random_binary_patterns(5, 20, 9).to_vector();
  const std::vector<double> q = flip_bits(p, 3, 20, 4, gen);
  REQUIRE(q.size() == p.size());
  for (std::size_t r = 0; r < 5; ++r) {
    std::size_t flipped = 0;
    for (std::size_t k = 0; k < 20; ++k) {
      CHECK(std::abs(q[r * 20 + k]) == std::abs(p[r * 20 + k]));
      flipped += q[r * 20 + k] != p[r * 20 + k];
    }
    CHECK(flipped == (r < 3 ? 4u : 0u));
  }
}

TEST_CASE("theory: N50 interpolates in log N, Lambert W0 solves w e^w = x, Theorem 3's c its fixed-point equation") {
  // 0.75 at N = 10, 0.25 at N = 100: halfway in log N, 10^1.5.
  const HalfCrossing c = half_crossing({1, 10, 100}, {1.0, 0.75, 0.25});
  CHECK(c.n == doctest::Approx(std::pow(10.0, 1.5)).epsilon(1e-12));
  CHECK_FALSE(c.beyond);
  CHECK(half_crossing({2, 4}, {0.4, 0.1}).n == 2);
  const HalfCrossing never = half_crossing({2, 4, 8}, {1.0, 0.9, 0.6});
  CHECK(never.beyond);
  CHECK(never.n == 8);
  CHECK(lambert_w0(std::exp(1.0)) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(lambert_w0(1.0) == doctest::Approx(0.5671432904097838).epsilon(1e-15));  // the omega constant
  for (double x : {1e-3, 0.5, 7.0, 1e6}) {
    const double w = lambert_w0(x);
    CHECK(w * std::exp(w) == doctest::Approx(x).epsilon(1e-13));
  }
  CHECK_THROWS_AS(lambert_w0(0.0), Error);
  // c = b / W0(e^a b) means b / c = a + ln c (take logs of (b/c) e^(b/c) = e^a b).
  const double beta = 0.5, k = std::sqrt(64.0 / 63.0), d = 64, prob = 0.001;
  const double a = 2 / (d - 1) * (1 + std::log(2 * beta * k * k * prob * (d - 1))), b = 2 * k * k * beta / 5;
  const StorageBound sb = paper_storage_bound(beta, k, d, prob);
  CHECK(b / sb.c == doctest::Approx(a + std::log(sb.c)).epsilon(1e-12));
  CHECK(sb.valid == (sb.c >= std::pow(2 / std::sqrt(prob), 4 / (d - 1))));
  if (sb.valid) CHECK(sb.n == doctest::Approx(std::sqrt(prob) * std::pow(sb.c, (d - 1) / 4)));
  else CHECK(std::isnan(sb.n));
}

TEST_CASE("theory: fixed points are told apart by the weight support, distinct states and the separation beta") {
  // Largest first: 0.5 (pattern 1), 0.3 (2), 0.15 (3): 90% needs three, in two clusters of 2.
  WeightSupport w = weight_support({0.05, 0.5, 0.3, 0.15}, 2);
  CHECK(w.k == 3);
  CHECK_FALSE(w.one_cluster);
  w = weight_support({0.6, 0.35, 0.05, 0.0}, 2);
  CHECK(w.k == 2);
  CHECK(w.one_cluster);
  CHECK(weight_support({0.6, 0.35, 0.05, 0.0}, 2, 0.5).k == 1);
  // Rows 1 and 3 lie within 1e-4 of rows 0 and 2.
  CHECK(distinct_states({0, 0, 0, 5e-5, 1, 0, 1, 2e-5, 0.5, 0.5}, 5, 2) == std::vector<std::size_t>{0, 2, 4});
  CHECK(distinct_states({0, 0, 0, 5e-5}, 2, 2, 1e-5) == std::vector<std::size_t>{0, 1});
  // N = 2, M^2 = 1, beta = 10: 2 / 20 + ln(2 * 1 * 2 * 10) / 10 = 0.1 + ln(40) / 10 = 0.4689.
  CHECK(meets_separation_condition(0.47, 2, 10, 1));
  CHECK_FALSE(meets_separation_condition(0.468, 2, 10, 1));
  // beta = 1 needs 1 + ln 4 = 2.39; 10 needs 0.469; 100 needs 0.01 + ln(400) / 100 = 0.070.
  CHECK(separation_beta({0.5}, 2, 1, {1, 10, 100}) == 10);
  CHECK(separation_beta({0.5, 0.08}, 2, 1, {1, 10, 100}) == 100);
  CHECK(std::isinf(separation_beta({0.5, 0.01}, 2, 1, {1, 10, 100})));
}

TEST_CASE("theory: one update from a stored pattern errs by the weight on the other, within the paper's bound") {
  // Two orthonormal patterns, each queried exactly (r = 0): the association of x_0 is softmax(beta (1, 0)), so
  // f(x_0) - x_0 = p_1 (x_1 - x_0) with p_1 = 1 / (1 + e^beta), of norm sqrt(2) p_1; Delta = 1 - 0 = 1.
  const Tensor x = from_vector({1, 0, 0, 1}, {2, 2}, Dtype::Float64);
  for (double beta : {1.0, 5.0, 40.0}) {
    const std::vector<OneStepPoint> pts = one_step_retrieval(x, x, beta, 0.0);
    REQUIRE(pts.size() == 2);
    for (const OneStepPoint& p : pts) {
      CHECK(p.delta == doctest::Approx(1.0));
      CHECK(p.error == doctest::Approx(std::sqrt(2.0) / (1 + std::exp(beta))).epsilon(1e-12));
      CHECK(p.error <= p.bound);
      CHECK(p.bound == doctest::Approx(2.0 * std::exp(-beta * (1 - 2 * p.fixed_point_dist))).epsilon(1e-12));
      CHECK(p.rate == doctest::Approx(1 - 2 * p.fixed_point_dist));
    }
  }
  // At beta = 40 the float64 difference f(x_0) - x_0 is lost to rounding; the exact sum is not.
  const OneStepPoint tiny = one_step_retrieval(x, x, 40.0, 0.0)[0];
  CHECK(tiny.error > 1e-18);
  CHECK(tiny.error_naive < 1e-15);
  CHECK(exponential_retrieval_bound(3, 2.0, 0.5, 1.0, 0.1, 0.2) == doctest::Approx(2 * 2 * 2.0 * std::exp(-0.5 * 0.2)));
  CHECK_THROWS_AS(one_step_retrieval(x, from_vector({1, 0}, {1, 2}, Dtype::Float64), 1.0, 0.0), Error);
}

TEST_CASE("theory: a retrieval descends in energy within rounding, a made-up rise is counted") {
  Generator gen(6);
  const Tensor y = randn({12, 5}, Dtype::Float64, gen), xi = randn({4, 5}, Dtype::Float64, gen);
  AssociativeMemory mem(y, MemoryOptions().beta(2.0));
  const double m2 = mem.max_norm_sq().item(), eps = unit_roundoff(Dtype::Float64);
  const EnergyDescentCheck ok = check_energy_descent(mem.retrieve(xi, RetrieveOptions().max_steps(20).tol(0)), 12, 5,
                                                     2.0, m2, eps);
  CHECK(ok.violations == 0);
  CHECK(ok.min_energy >= 0);
  CHECK(ok.max_energy_after_1 <= 2 * m2 * (1 + 1e-12));
  CHECK(ok.rounding_budget > 0);
  // One query, energies 1 then 2 (states 0, N = 1, M = 0): the rise 1 is far over its budget 2 eps * 1.
  Trajectory t;
  t.states = {from_vector({0.0}, {1, 1}, Dtype::Float64), from_vector({0.0}, {1, 1}, Dtype::Float64)};
  t.energies = {from_vector({1.0}, {1}, Dtype::Float64), from_vector({2.0}, {1}, Dtype::Float64)};
  const EnergyDescentCheck bad = check_energy_descent(t, 1, 1, 1.0, 0.0, eps);
  CHECK(bad.violations == 1);
  CHECK(bad.max_increase == 1.0);
  CHECK(bad.rounding_budget == 2 * eps);
  CHECK(bad.worst_ratio == 1 / eps);
  CHECK(bad.min_energy == 1.0);
  CHECK(bad.max_energy_after_1 == 2.0);
  CHECK(unit_roundoff(Dtype::Float64) == std::ldexp(1.0, -53));
  CHECK(unit_roundoff(Dtype::Float32) == std::ldexp(1.0, -24));
  CHECK_THROWS_AS(unit_roundoff(Dtype::Int64), Error);
}
