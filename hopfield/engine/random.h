// Seedable random numbers: one Generator type used by tensor creation, initialisers, dropout and data
// shuffling, so a run is repeatable from its seed and resumable from a saved state.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "hopfield/engine/tensor.h"

namespace hf {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
  void seed(std::uint64_t s) { engine_.seed(s); }
  std::uint64_t next_u64() { return engine_(); }
  double uniform();                  // [0, 1), 53 random bits
  double normal();                   // N(0, 1), Box-Muller on uniform(); no cached second value
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n)
  std::string state() const;         // text form of the engine state (for checkpoints)
  void set_state(const std::string& s);

 private:
  std::mt19937_64 engine_;
};

// The calling thread's generator: every thread starts with its own, seeded 0, and manual_seed() reseeds
// only the calling thread's. Threads therefore never share random state (no data race, and a worker's
// draws do not depend on how other threads interleave); seed each worker yourself, or pass it a Generator.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

Tensor rand(const Shape& shape, Dtype dtype = Dtype::Float32, Generator& gen = default_generator());
Tensor randn(const Shape& shape, Dtype dtype = Dtype::Float32, Generator& gen = default_generator());
// Uniform on [low, high).
Tensor uniform(const Shape& shape, double low, double high, Dtype dtype = Dtype::Float32,
               Generator& gen = default_generator());
Tensor normal(const Shape& shape, double mean, double stddev, Dtype dtype = Dtype::Float32,
              Generator& gen = default_generator());

}  // namespace hf
