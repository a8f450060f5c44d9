// Seedable generator and random tensor creation.
#include "hopfield/engine/random.h"

#include <cmath>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"

namespace hf {

double Generator::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  // Box-Muller without caching the second value: the stream stays a pure function of the state.
  double u1 = uniform(), u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::uint64_t Generator::below(std::uint64_t n) {
  HF_CHECK(n > 0, "Generator::below", "n must be positive");
  // Rejection sampling for an unbiased result.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x;
  do x = engine_();
  while (x >= limit);
  return x % n;
}

std::string Generator::state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Generator::set_state(const std::string& s) {
  std::istringstream is(s);
  std::mt19937_64 e;
  is >> e;
  HF_CHECK(!is.fail(), "Generator::set_state", "the text is not a saved generator state");
  engine_ = e;
}

// One per thread: the examples build a network per fold in worker threads, and a module's constructor
// initialises its parameters from this generator; a single shared engine would be a data race there
// (UBSan caught mt19937_64's index running past its state).
Generator& default_generator() {
  thread_local Generator g(0);
  return g;
}
void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

template <class F>
static Tensor fill_random(const Shape& shape, Dtype dtype, const char* op, F&& draw) {
  Tensor t = detail::alloc(shape, dtype);
  detail::dispatch_float(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = detail::ptr<T>(t);
    for (std::size_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(draw());
  });
  return t;
}

Tensor rand(const Shape& shape, Dtype dtype, Generator& gen) {
  return fill_random(shape, dtype, "rand", [&] { return gen.uniform(); });
}
Tensor randn(const Shape& shape, Dtype dtype, Generator& gen) {
  return fill_random(shape, dtype, "randn", [&] { return gen.normal(); });
}
Tensor uniform(const Shape& shape, double low, double high, Dtype dtype, Generator& gen) {
  HF_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, "uniform",
           "low=" << low << " high=" << high << ": need finite low <= high");
  return fill_random(shape, dtype, "uniform", [&] { return low + (high - low) * gen.uniform(); });
}
Tensor normal(const Shape& shape, double mean, double stddev, Dtype dtype, Generator& gen) {
  HF_CHECK(std::isfinite(mean) && std::isfinite(stddev) && stddev >= 0, "normal",
           "mean=" << mean << " std=" << stddev << ": need finite values and std >= 0");
  return fill_random(shape, dtype, "normal", [&] { return mean + stddev * gen.normal(); });
}

}  // namespace hf
