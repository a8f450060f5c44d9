// Energy descent along a retrieval, checked against rounding. The update xi <- Y^T softmax(beta Y xi) is the
// CCCP step of the energy
//   E(xi) = -1/beta log sum_i exp(beta y_i.xi) + 1/2 xi.xi + 1/beta log N + 1/2 M^2,
// so E never increases along a retrieval (Ramsauer et al. 2020, Theorem 1 / the CCCP argument), 0 <= E always,
// and E <= 2 M^2 after the first update. In floating point E_{t+1} - E_t can still be a few roundings above 0:
// a step counts as a violation only beyond the rounding budget (N + d) eps S with S = |E_t| + |xi_t|^2 +
// 2 log(N) / beta + M^2, the magnitude of the terms summed into E (a worst-case summation bound; eps the unit
// roundoff of the dtype). examples/hopfield_energy.cpp checks many random memories with it.
// Legend: N stored patterns, d pattern size, B queries, T steps.
#pragma once

#include <cmath>
#include <cstddef>

#include "hopfield/layers/memory.h"

namespace hf {

// One trajectory's check, over every query and step.
struct EnergyDescentCheck {
  double max_increase = -INFINITY;  // largest E_{t+1} - E_t
  double rounding_budget = 0;       // largest budget of a step
  double worst_ratio = 0;           // largest (E_{t+1} - E_t) / (eps S): the increase in rounding units
  std::size_t violations = 0;       // steps whose increase exceeds their budget
  double min_energy = INFINITY;     // smallest E_t (t >= 0)
  double max_energy_after_1 = 0;    // largest E_t for t >= 1
};

// tr: a retrieval from a memory of n patterns of size d with inverse temperature beta and max squared norm m2;
// eps: the unit roundoff of its dtype (unit_roundoff).
EnergyDescentCheck check_energy_descent(const Trajectory& tr, std::size_t n, std::size_t d, double beta, double m2,
                                        double eps);

// Half the machine epsilon of a floating dtype: 2^-53 for float64, 2^-24 for float32.
double unit_roundoff(Dtype dtype);

}  // namespace hf
