// Energy descent checked against rounding (see hopfield/theory/energy_descent.h); moved here from
// examples/hopfield_energy.cpp.
#include "hopfield/theory/energy_descent.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

namespace hf {

EnergyDescentCheck check_energy_descent(const Trajectory& tr, std::size_t n, std::size_t d, double beta, double m2,
                                        double eps) {
  HF_CHECK(tr.energies.size() == tr.states.size() && !tr.energies.empty(), "check_energy_descent",
           tr.energies.size() << " energies for " << tr.states.size() << " states");
  EnergyDescentCheck r;
  for (std::size_t t = 0; t < tr.energies.size(); ++t) {
    auto e = tr.energies[t].to_vector();
    auto sq = sum(mul(tr.states[t], tr.states[t]), {-1}).to_vector();  // |xi_t|^2, (B)
    for (std::size_t b = 0; b < e.size(); ++b) {
      r.min_energy = std::min(r.min_energy, e[b]);
      if (t >= 1) r.max_energy_after_1 = std::max(r.max_energy_after_1, e[b]);
      if (t == 0) continue;
      const double prev = tr.energies[t - 1].flat(b);
      const double s = std::abs(prev) + sq[b] + 2 * std::log(static_cast<double>(n)) / beta + m2;
      const double budget = static_cast<double>(n + d) * eps * s;
      const double incr = e[b] - prev;
      r.max_increase = std::max(r.max_increase, incr);
      r.rounding_budget = std::max(r.rounding_budget, budget);
      r.worst_ratio = std::max(r.worst_ratio, incr / (eps * s));
      if (incr > budget) ++r.violations;
    }
  }
  return r;
}

double unit_roundoff(Dtype dtype) {
  HF_CHECK(dtype == Dtype::Float64 || dtype == Dtype::Float32, "unit_roundoff", "not a floating dtype");
  return dtype == Dtype::Float64 ? std::numeric_limits<double>::epsilon() / 2 : std::numeric_limits<float>::epsilon() / 2;
}

}  // namespace hf
