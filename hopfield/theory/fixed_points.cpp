// Fixed-point measurements (see hopfield/theory/fixed_points.h); moved here from
// examples/hopfield_fixed_points.cpp.
#include "hopfield/theory/fixed_points.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/check.h"

namespace hf {

WeightSupport weight_support(const std::vector<double>& w, std::size_t m, double target) {
  HF_CHECK(m > 0, "weight_support", "cluster_size = 0");
  std::vector<std::size_t> idx(w.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return w[a] > w[b]; });
  double mass = 0;
  WeightSupport r;
  while (r.k < idx.size() && mass < target) {
    mass += w[idx[r.k]];
    r.one_cluster = r.one_cluster && idx[r.k] / m == idx[0] / m;
    ++r.k;
  }
  return r;
}

std::vector<std::size_t> distinct_states(const std::vector<double>& s, std::size_t b, std::size_t d, double tol) {
  HF_CHECK(s.size() >= b * d, "distinct_states", s.size() << " values for " << b << " rows of " << d);
  std::vector<std::size_t> reps;
  for (std::size_t q = 0; q < b; ++q) {
    bool found = false;
    for (std::size_t r : reps) {
      double dist = 0;
      for (std::size_t k = 0; k < d; ++k) dist = std::max(dist, std::abs(s[q * d + k] - s[r * d + k]));
      if (dist < tol) {
        found = true;
        break;
      }
    }
    if (!found) reps.push_back(q);
  }
  return reps;
}

bool meets_separation_condition(double delta, std::size_t n, double beta, double m2) {
  return delta >= 2 / (beta * static_cast<double>(n)) + std::log(2.0 * static_cast<double>((n - 1) * n) * beta * m2) / beta;
}

double separation_beta(const std::vector<double>& deltas, std::size_t n, double m2, const std::vector<double>& grid) {
  for (double b : grid) {
    bool all = true;
    for (double di : deltas) all = all && meets_separation_condition(di, n, b, m2);
    if (all) return b;
  }
  return INFINITY;
}

}  // namespace hf
