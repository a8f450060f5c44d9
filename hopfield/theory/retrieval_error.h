// The paper's exponentially small retrieval error (Ramsauer et al. 2020, theorem "exponentially small
// retrieval error"), measured: one update f(xi) = Y^T softmax(beta Y xi) from a query xi near pattern x_i
// lands within
//
//   ||f(xi) - x_i|| <= 2 (N - 1) M exp(-beta (Delta_i - 2 max(||xi - x_i||, ||x_i^* - x_i||) M))
//
// of it, with Delta_i = x_i.x_i - max_{j != i} x_i.x_j the separation of pattern i, M = max_j ||x_j|| and x_i^*
// the fixed point the retrieval converges to from xi. examples/hopfield_one_step.cpp checks it over many betas.
//
// Measuring tiny errors: f(xi) - x_i = sum_{j != i} p_j (x_j - x_i) exactly (the weights sum to 1), and
// softmax gives each tiny p_j to full relative precision, so that sum is measured down to ~1e-300, far below
// the 1e-16 floor of subtracting x_i from f(xi) in float64 (error_naive, kept for comparison).
// Legend: N patterns, d pattern size, one query per pattern (B = N).
#pragma once

#include <cstddef>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

// The bound above for N patterns of norm at most m, a pattern with separation delta, a query at distance r
// and its fixed point at distance fixed_dist from the pattern.
double exponential_retrieval_bound(std::size_t n, double m, double beta, double delta, double r, double fixed_dist);

struct OneStepPoint {
  double delta;             // Delta_i
  double error;             // ||sum_{j != i} p_j (x_j - x_i)||, exact to ~1e-300
  double error_naive;       // ||f(xi) - x_i|| as the float64 difference
  double fixed_point_dist;  // ||x_i^* - x_i|| (retrieve() to tol 1e-13, at most 300 steps)
  double bound;             // exponential_retrieval_bound
  double rate;              // the bound's decay per unit beta Delta: 1 - 2 max(r, ||x_i^* - x_i||) M / Delta
};

// One update of each query row xi[i] (N, d) at distance query_dist from pattern x[i] (N, d), float64: one
// point per pattern.
std::vector<OneStepPoint> one_step_retrieval(const Tensor& x, const Tensor& xi, double beta, double query_dist);

}  // namespace hf
