// The classical binary Hopfield network (Hopfield 1982), the baseline of the storage-capacity
// experiment: Hebbian weights, sign updates, states in {-1, +1}^d.
//
// Dimension legend: N stored patterns, d neurons, B states run in parallel.
//   W = (1/d) sum_mu x_mu x_mu^T with zero diagonal   (d, d)
//   E(s) = -1/2 s^T W s
//   asynchronous update of neuron k: s_k <- sign(sum_j W_kj s_j) (a zero field keeps s_k),
//   which never increases E, so the dynamics reach a fixed point.
// Its capacity is about 0.138 d random patterns (Amit, Gutfreund & Sompolinsky 1985): beyond that the
// retrieval states vanish. No gradients: this is a reference dynamics, computed in float64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"

namespace hf {

struct BinaryRetrieveOptions {
  HF_ARG(std::size_t, max_sweeps) = 50;  // one sweep visits every neuron once
  HF_ARG(bool, asynchronous) = true;     // false: all neurons at once (may end in a 2-cycle)
  HF_ARG(std::uint64_t, seed) = 0;       // order of the asynchronous visits
};

struct BinaryRetrieval {
  Tensor states;            // (B, d) final states, float64 in {-1, +1}
  std::size_t sweeps = 0;   // sweeps run (the last one changed nothing if converged)
  bool converged = false;   // every state is a fixed point
};

class BinaryHopfield {
 public:
  // patterns (N, d) with entries +-1 (any float dtype; other values throw).
  explicit BinaryHopfield(const Tensor& patterns);

  const Tensor& weights() const { return weights_; }  // (d, d) float64
  std::size_t dim() const { return weights_.size(0); }
  std::size_t size() const { return num_patterns_; }

  // One synchronous step sign(W s) (zero field keeps the neuron): (B, d) -> (B, d), float64.
  Tensor step(const Tensor& states) const;
  Tensor energy(const Tensor& states) const;  // (B)
  BinaryRetrieval retrieve(const Tensor& states, const BinaryRetrieveOptions& options = BinaryRetrieveOptions()) const;

 private:
  Tensor checked_states(const Tensor& states, const char* op) const;

  Tensor weights_;
  // d * W: integer Hebbian counts, so the sign dynamics and its incremental local fields are exact
  // (with the 1/d scaling, rounding could turn a zero field into +-1e-17 and flip a tie).
  std::vector<double> counts_;
  std::size_t num_patterns_ = 0;
};

// Random +-1 patterns (N, d), each entry +1 with probability 1/2.
Tensor random_binary_patterns(std::size_t n, std::size_t d, std::uint64_t seed, Dtype dtype = Dtype::Float64);

}  // namespace hf
