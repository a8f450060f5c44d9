// Classical binary Hopfield network (see binary_hopfield.h): Hebbian storage and sign dynamics on raw
// float64 buffers. Legend: N patterns, d neurons, B states.
#include "hopfield/layers/binary_hopfield.h"

#include <numeric>
#include <vector>

#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"

namespace hf {

namespace {
std::vector<double> pm_one_values(const Tensor& t, const char* op, const char* what) {
  std::vector<double> v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i)
    HF_CHECK(v[i] == 1.0 || v[i] == -1.0, op, what << " " << shape_str(t.shape()) << " must hold only +1/-1; entry " << i
                                                   << " is " << v[i]);
  return v;
}
}  // namespace

BinaryHopfield::BinaryHopfield(const Tensor& patterns) {
  const char* op = "BinaryHopfield";
  HF_CHECK(patterns.defined() && patterns.dim() == 2 && is_floating(patterns.dtype()), op,
           "patterns must be a 2-D float tensor (N, d), got "
               << (patterns.defined() ? shape_str(patterns.shape()) : "undefined"));
  const std::size_t n = patterns.size(0), d = patterns.size(1);
  HF_CHECK(n > 0 && d > 1, op, "patterns " << shape_str(patterns.shape()) << ": need N >= 1 and d >= 2");
  std::vector<double> x = pm_one_values(patterns, op, "patterns");
  std::vector<double> w(d * d, 0.0);
  // Hebb's rule: W_ij = (1/d) sum_mu x_mu,i x_mu,j, i != j.
  for (std::size_t mu = 0; mu < n; ++mu) {
    const double* xm = &x[mu * d];
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) w[i * d + j] += xm[i] * xm[j];
  }
  for (std::size_t i = 0; i < d; ++i) w[i * d + i] = 0.0;
  counts_ = w;
  for (double& v : w) v /= static_cast<double>(d);
  weights_ = from_vector(w, {d, d}, Dtype::Float64);
  num_patterns_ = n;
}

Tensor BinaryHopfield::checked_states(const Tensor& states, const char* op) const {
  HF_CHECK(states.defined() && states.dim() == 2 && is_floating(states.dtype()) && states.size(1) == dim(), op,
           "states must be (B, " << dim() << ") float, got " << (states.defined() ? shape_str(states.shape()) : "undefined"));
  pm_one_values(states, op, "states");
  return states.to(Dtype::Float64).detach().clone();
}

Tensor BinaryHopfield::step(const Tensor& states) const {
  Tensor s = checked_states(states, "BinaryHopfield::step");
  const std::size_t b = s.size(0), d = dim();
  Tensor out = s.clone();
  const double* w = counts_.data();
  const double* in = s.data<double>();
  double* o = out.data<double>();
  for (std::size_t r = 0; r < b; ++r)
    for (std::size_t k = 0; k < d; ++k) {
      double h = 0;
      for (std::size_t j = 0; j < d; ++j) h += w[k * d + j] * in[r * d + j];
      if (h != 0) o[r * d + k] = h > 0 ? 1.0 : -1.0;
    }
  return out;
}

Tensor BinaryHopfield::energy(const Tensor& states) const {
  Tensor s = checked_states(states, "BinaryHopfield::energy");
  const std::size_t b = s.size(0), d = dim();
  const double* w = weights_.data<double>();
  const double* in = s.data<double>();
  std::vector<double> e(b, 0.0);
  for (std::size_t r = 0; r < b; ++r)
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) e[r] -= 0.5 * in[r * d + i] * w[i * d + j] * in[r * d + j];
  return from_vector(e, {b}, Dtype::Float64);
}

BinaryRetrieval BinaryHopfield::retrieve(const Tensor& states, const BinaryRetrieveOptions& options) const {
  const char* op = "BinaryHopfield::retrieve";
  Tensor s = checked_states(states, op);
  HF_CHECK(options.max_sweeps() > 0, op, "max_sweeps must be > 0");
  BinaryRetrieval res;
  if (!options.asynchronous()) {
    for (; res.sweeps < options.max_sweeps() && !res.converged; ++res.sweeps) {
      Tensor next = step(s);
      res.converged = next.to_vector() == s.to_vector();
      s = next;
    }
    res.states = s;
    return res;
  }
  const std::size_t b = s.size(0), d = dim();
  const double* w = counts_.data();
  double* x = s.data<double>();
  Generator gen(options.seed());
  std::vector<std::size_t> order(d);
  std::iota(order.begin(), order.end(), 0);
  // The local fields h = W s, kept up to date on each flip (O(d) per flip instead of O(d^2) per visit).
  std::vector<double> h(b * d, 0.0);
  for (std::size_t r = 0; r < b; ++r)
    for (std::size_t k = 0; k < d; ++k)
      for (std::size_t j = 0; j < d; ++j) h[r * d + k] += w[k * d + j] * x[r * d + j];
  std::vector<bool> done(b, false);
  while (res.sweeps < options.max_sweeps() && !res.converged) {
    for (std::size_t i = d; i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);  // Fisher-Yates
    res.converged = true;
    for (std::size_t r = 0; r < b; ++r) {
      if (done[r]) continue;
      bool changed = false;
      double* xr = &x[r * d];
      double* hr = &h[r * d];
      for (std::size_t k : order) {
        if (hr[k] == 0 || (hr[k] > 0) == (xr[k] > 0)) continue;
        const double delta = -2 * xr[k];  // new - old
        xr[k] = -xr[k];
        for (std::size_t j = 0; j < d; ++j) hr[j] += w[j * d + k] * delta;
        changed = true;
      }
      if (!changed) done[r] = true;
      else res.converged = false;
    }
    ++res.sweeps;
  }
  res.states = s;
  return res;
}

Tensor random_binary_patterns(std::size_t n, std::size_t d, std::uint64_t seed, Dtype dtype) {
  Generator gen(seed);
  std::vector<double> v(n * d);
  for (auto& x : v) x = (gen.next_u64() >> 63) ? 1.0 : -1.0;
  return from_vector(v, {n, d}, dtype);
}

}  // namespace hf
