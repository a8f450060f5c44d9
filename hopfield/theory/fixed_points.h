// The three kinds of fixed points of the modern Hopfield update (Ramsauer et al. 2020, section 2 /
// appendix A.1) and how to tell them apart in a measurement (examples/hopfield_fixed_points.cpp): as beta
// grows, retrieval moves from (1) one global fixed point averaging over all patterns, through (2) metastable
// states averaging over a subset, to (3) fixed points next to single patterns. What tells them apart is how
// many stored patterns carry the softmax weight at the fixed point, and how many different fixed points the
// queries reach. Predictions:
//   beta < 1 / M^2: the energy is strictly convex (Hessian I - beta Cov_p(Y), and any covariance of points
//     within radius M has norm <= M^2): one fixed point for all queries.
//   beta >= separation_beta: every pattern meets the paper's separation condition, so each has a fixed
//     point next to it.
// Legend: N stored patterns, d pattern size, B queries, M = max ||y_i||, Delta_i the separation of pattern i.
#pragma once

#include <cstddef>
#include <vector>

namespace hf {

// The fewest weights (largest first) whose sum reaches `mass` (k90 for 0.9), and whether those all lie in one
// cluster when the patterns come in consecutive clusters of cluster_size.
struct WeightSupport {
  std::size_t k = 0;
  bool one_cluster = true;
};
WeightSupport weight_support(const std::vector<double>& weights, std::size_t cluster_size, double mass = 0.9);

// The different states among the B rows of states (B, d), row-major: a row joins the first earlier
// representative within tol (max-norm), else becomes one (greedy). Returns the representatives' row indices.
std::vector<std::size_t> distinct_states(const std::vector<double>& states, std::size_t b, std::size_t d,
                                         double tol = 1e-4);

// The paper's separation condition for a pattern with separation delta among N patterns of squared norm at
// most m2: Delta_i >= 2 / (beta N) + 1/beta log(2 (N - 1) N beta M^2).
bool meets_separation_condition(double delta, std::size_t n, double beta, double m2);

// The smallest beta of `grid` (ascending) at which every pattern meets the condition; INFINITY when none does.
double separation_beta(const std::vector<double>& deltas, std::size_t n, double m2, const std::vector<double>& grid);

}  // namespace hf
