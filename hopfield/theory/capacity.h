// Storage capacity of Hopfield networks: how many random +-1 patterns a network can store and retrieve from
// noisy queries, as predictions and as the measurements that test them (examples/hopfield_capacity.cpp runs
// the experiment; docs/internals.md shows its results). Here so that a user's own memory sizes and betas can
// be checked against the same predictions with the same retrieval criterion.
//
//   modern network, one update (our signal-to-noise estimate, not the paper's theorem, whose constants are
//   loose): with g = xi.x_i = d - 2 f for f flipped bits and beta the inverse temperature,
//       ln N* = 2 beta g - 2 beta^2 d + ln 0.26   for beta <= g / (2 d)   (many small noise terms)
//       ln N* = g^2 / (2 d)                        for beta >  g / (2 d)   (the largest xi.x_j reaches g)
//     i.e. exponential in d (the binary network is linear in d: N = 0.138 d, Amit, Gutfreund & Sompolinsky
//     1985). 0.26 is the noise budget sum_j e_j^2 for at most 2.5% wrong bits (Phi(-1.96) = 0.025).
//   the paper's storage bound (Ramsauer et al., Theorem 3) for patterns of norm K sqrt(d - 1) and failure
//     probability p: paper_storage_bound.
//
// Legend: N patterns, d pattern size, B queries, f flipped bits per query.
#pragma once

#include <cstddef>
#include <vector>

#include "hopfield/engine/random.h"

namespace hf {

// ln N* of the signal-to-noise estimate above (d and g as doubles: g = d - 2 f).
double predicted_log_capacity(double beta, double d, double g);

// The fraction of the B rows of `states` (B, d), row-major, whose sign pattern has overlap s.x / d >=
// min_overlap with the matching row of `patterns` (at least B rows, (., d)). 0.95 = at most 2.5% wrong bits
// (the classical retrieval states at the capacity limit have about 1.5%). A zero entry counts as no sign.
double fraction_retrieved(const std::vector<double>& states, const std::vector<double>& patterns, std::size_t b,
                          std::size_t d, double min_overlap = 0.95);

// Queries: the first b rows of patterns (., d), each with f distinct entries negated (positions from gen).
std::vector<double> flip_bits(const std::vector<double>& patterns, std::size_t b, std::size_t d, std::size_t f,
                              Generator& gen);

// Where a retrieval curve frac(N) (ns ascending) first falls below 1/2, interpolated in log N; when it never
// does, the largest N with beyond = true (a lower bound, shown as "> N").
struct HalfCrossing {
  double n = 0;
  bool beyond = false;
};
HalfCrossing half_crossing(const std::vector<double>& ns, const std::vector<double>& frac);

// The principal branch W0(x) of the Lambert W function for x > 0 (w e^w = x), by Newton's method.
double lambert_w0(double x);

// The paper's Theorem 3 for patterns of norm M = K sqrt(d - 1) and failure probability p:
//   a = 2/(d-1) (1 + ln(2 beta K^2 p (d-1))), b = 2 K^2 beta / 5, c = b / W0(exp(a + ln b)),
//   valid when c >= (2/sqrt(p))^(4/(d-1)); then N >= sqrt(p) c^((d-1)/4) patterns can be stored
// (n is NaN when the condition on c fails).
struct StorageBound {
  double c = 0, n = 0;
  bool valid = false;
};
StorageBound paper_storage_bound(double beta, double k, double d, double p);

}  // namespace hf
