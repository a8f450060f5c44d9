// One-step retrieval error against the paper's bound (see hopfield/theory/retrieval_error.h); moved here from
// examples/hopfield_one_step.cpp.
#include "hopfield/theory/retrieval_error.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/check.h"
#include "hopfield/layers/memory.h"

namespace hf {

double exponential_retrieval_bound(std::size_t n, double m, double beta, double delta, double r, double fixed_dist) {
  return 2.0 * static_cast<double>(n - 1) * m * std::exp(-beta * (delta - 2 * std::max(r, fixed_dist) * m));
}

std::vector<OneStepPoint> one_step_retrieval(const Tensor& x, const Tensor& xi, double beta, double query_dist) {
  HF_CHECK(x.dim() == 2 && xi.shape() == x.shape() && x.size(0) >= 2, "one_step_retrieval",
           "patterns " << shape_str(x.shape()) << " and queries " << shape_str(xi.shape())
                       << " (one query per pattern, N >= 2)");
  const std::size_t n = x.size(0), d = x.size(1);
  const std::vector<double> xv = x.to_vector();
  AssociativeMemory mem(x, MemoryOptions().beta(beta));
  const double m = std::sqrt(mem.max_norm_sq().item());
  std::vector<double> delta = mem.separation().to_vector();
  std::vector<double> w = mem.association(xi).to_vector();  // (N, N)
  std::vector<double> f = mem.update(xi).to_vector();        // (N, d)
  Tensor fixed = mem.retrieve(xi, RetrieveOptions().max_steps(300).tol(1e-13)).state();
  std::vector<double> fx = fixed.to_vector();
  std::vector<OneStepPoint> pts;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> diff(d, 0.0);
    for (std::size_t j = 0; j < n; ++j)
      if (j != i)
        for (std::size_t k = 0; k < d; ++k) diff[k] += w[i * n + j] * (xv[j * d + k] - xv[i * d + k]);
    double err = 0, naive = 0, dfix = 0;
    for (std::size_t k = 0; k < d; ++k) {
      err += diff[k] * diff[k];
      naive += (f[i * d + k] - xv[i * d + k]) * (f[i * d + k] - xv[i * d + k]);
      dfix += (fx[i * d + k] - xv[i * d + k]) * (fx[i * d + k] - xv[i * d + k]);
    }
    err = std::sqrt(err);
    naive = std::sqrt(naive);
    dfix = std::sqrt(dfix);
    pts.push_back({delta[i], err, naive, dfix, exponential_retrieval_bound(n, m, beta, delta[i], query_dist, dfix),
                   1 - 2 * std::max(query_dist, dfix) * m / delta[i]});
  }
  return pts;
}

}  // namespace hf
