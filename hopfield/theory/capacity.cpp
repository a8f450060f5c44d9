// Storage capacity predictions and measurements (see hopfield/theory/capacity.h); moved here from
// examples/hopfield_capacity.cpp.
#include "hopfield/theory/capacity.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/check.h"

namespace hf {

double predicted_log_capacity(double beta, double d, double g) {
  return beta <= g / (2 * d) ? 2 * beta * g - 2 * beta * beta * d + std::log(0.26) : g * g / (2 * d);
}

double fraction_retrieved(const std::vector<double>& s, const std::vector<double>& x, std::size_t b, std::size_t d,
                          double min_overlap) {
  HF_CHECK(s.size() >= b * d && x.size() >= b * d && b > 0, "fraction_retrieved",
           "states " << s.size() << " and patterns " << x.size() << " values for " << b << " rows of " << d);
  std::size_t ok = 0;
  for (std::size_t r = 0; r < b; ++r) {
    double m = 0;
    for (std::size_t k = 0; k < d; ++k) {
      const double v = s[r * d + k];
      m += (v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0) * x[r * d + k];
    }
    if (m / static_cast<double>(d) >= min_overlap) ++ok;
  }
  return static_cast<double>(ok) / static_cast<double>(b);
}

std::vector<double> flip_bits(const std::vector<double>& xv, std::size_t b, std::size_t d, std::size_t f,
                              Generator& gen) {
  HF_CHECK(xv.size() >= b * d && f <= d, "flip_bits", f << " of " << d << " bits in " << b << " rows of "
                                                        << xv.size() << " values");
  std::vector<double> q = xv;
  for (std::size_t r = 0; r < b; ++r)
    for (std::size_t flipped = 0; flipped < f;) {
      std::size_t pos = gen.below(d);
      if (q[r * d + pos] != xv[r * d + pos]) continue;
      q[r * d + pos] = -q[r * d + pos];
      ++flipped;
    }
  return q;
}

HalfCrossing half_crossing(const std::vector<double>& ns, const std::vector<double>& frac) {
  HF_CHECK(!ns.empty() && ns.size() == frac.size(), "half_crossing", ns.size() << " N values, " << frac.size() << " fractions");
  for (std::size_t k = 0; k < ns.size(); ++k)
    if (frac[k] < 0.5) {
      if (k == 0) return {ns[0], false};
      const double t = (frac[k - 1] - 0.5) / (frac[k - 1] - frac[k]);
      return {std::exp(std::log(ns[k - 1]) + t * (std::log(ns[k]) - std::log(ns[k - 1]))), false};
    }
  return {ns.back(), true};
}

double lambert_w0(double x) {
  HF_CHECK(x > 0, "lambert_w0", "x = " << x << " (x > 0)");
  double w = x < 1 ? x : std::log(x) - std::log(std::log(x) + 1);
  for (int i = 0; i < 60; ++i) {
    const double e = std::exp(w), step = (w * e - x) / (e * (w + 1));
    w -= step;
    if (std::abs(step) <= 1e-15 * std::max(1.0, std::abs(w))) break;
  }
  return w;
}

StorageBound paper_storage_bound(double beta, double k, double d, double p) {
  const double a = 2 / (d - 1) * (1 + std::log(2 * beta * k * k * p * (d - 1)));
  const double b = 2 * k * k * beta / 5;
  StorageBound r;
  r.c = b / lambert_w0(std::exp(a + std::log(b)));
  r.valid = r.c >= std::pow(2 / std::sqrt(p), 4 / (d - 1));
  r.n = r.valid ? std::sqrt(p) * std::pow(r.c, (d - 1) / 4) : std::nan("");
  return r;
}

}  // namespace hf
