// AssociativeMemory: the modern (continuous) Hopfield network of "Hopfield Networks is All You Need"
// (Ramsauer et al., 2020, https://arxiv.org/abs/2008.02217) on raw stored patterns, with no projections
// or normalisation: store Y, query with xi, read the energy, one update, or the whole retrieval.
//
// Dimension legend: N stored patterns, d pattern size, B queries (state patterns), T update steps.
//   Y  (N, d)  stored patterns y_i as rows (a Tensor: it may require grad, e.g. learned prototypes)
//   xi (B, d)  queries, or (d) for a single one (results then drop the B axis)
//
//   energy(xi) = -1/beta log sum_i exp(beta y_i.xi) + 1/2 xi.xi + 1/beta log N + 1/2 M^2   (paper eq. (2))
//                with M = max_i ||y_i||. Always E >= 1/2 (||xi|| - M)^2 >= 0, and E <= 2 M^2 once
//                ||xi|| <= M, which holds for every state after the first update (a convex combination).
//   update(xi) = Y^T softmax(beta Y xi)                                                    (paper eq. (3))
//
// The update is the CCCP step on that energy, so E never increases along retrieve() (the paper's
// convergence theorem; examples/hopfield_energy.cpp measures it). Everything runs on the tape:
// gradients flow into the queries, the patterns and through every retrieval step; float32 and float64.
//
// It lives in layers/ (not engine/) because it is a user-level model object built from engine ops, and
// because its bridge to the Hopfield modules' projections belongs next to those modules.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"

namespace hf {

struct MemoryOptions {
  HF_ARG(double, beta) = 1.0;  // inverse temperature; hflayers' `scaling`
  // update() through the streaming association (hopfield/engine/association_streaming.h), which never holds
  // the (B, N) association: nullopt = when B * N * element size exceeds default_association_memory_budget(),
  // true / false force it. association(), energy() and retrieve() keep their (B, N) tensors.
  HF_ARG(std::optional<bool>, streaming);
};

struct RetrieveOptions {
  HF_ARG(std::size_t, max_steps) = 100;  // update steps at most (0 = just evaluate the query)
  // Stop once every query moved by at most tol * max(1, max|xi|) (max-norm) in one step.
  HF_ARG(double, tol) = 1e-6;
};

// One retrieval, all entries on the tape. For t = 0..steps:
//   states[t]   (B, d) or (d): xi_t, with states[0] the query and states[t+1] = update(states[t])
//   energies[t] (B) or ():     E(xi_t)
//   weights[t]  (B, N) or (N): softmax(beta Y xi_t), the association that produces states[t+1]
struct Trajectory {
  std::vector<Tensor> states, energies, weights;
  std::size_t steps = 0;   // update steps taken
  bool converged = false;  // the tol rule held before max_steps ran out
  const Tensor& state() const { return states.back(); }
};

class AssociativeMemory {
 public:
  // patterns (N, d), float32 or float64; beta > 0 and finite.
  explicit AssociativeMemory(Tensor patterns, MemoryOptions options = MemoryOptions());

  const Tensor& patterns() const { return patterns_; }
  double beta() const { return options_.beta(); }
  const MemoryOptions& options() const { return options_; }
  std::size_t size() const { return patterns_.size(0); }  // N
  std::size_t dim() const { return patterns_.size(1); }    // d

  Tensor energy(const Tensor& xi) const;       // (B) or ()
  Tensor association(const Tensor& xi) const;  // softmax(beta Y xi): (B, N) or (N)
  Tensor update(const Tensor& xi) const;       // (B, d) or (d); streamed for large B * N (MemoryOptions)
  Trajectory retrieve(const Tensor& xi, const RetrieveOptions& options = RetrieveOptions()) const;

  // M^2 = max_i ||y_i||^2 as a 0-d tensor (differentiable in Y).
  Tensor max_norm_sq() const;
  // Separation Delta_i = y_i.y_i - max_{j != i} y_i.y_j of every pattern, (N), no gradient
  // (paper, Definition 1). +inf when N = 1.
  Tensor separation() const;

 private:
  // beta * xi Y^T for xi (B, d): (B, N)
  Tensor logits(const Tensor& xi2) const;
  // E from the logits and xi (B, d): (B)
  Tensor energy_from(const Tensor& logits, const Tensor& xi2) const;
  Tensor as_batch(const Tensor& xi, const char* op) const;

  Tensor patterns_;  // (N, d)
  MemoryOptions options_;
};

// Memory over patterns that a Hopfield module has already projected: hflayers computes the association
// softmax(scaling * Q K^T) with Q = state projections and K = stored-pattern projections, i.e. exactly
// AssociativeMemory(K, MemoryOptions().beta(scaling)).association(Q). The projected patterns must be one
// head's (S, hd) block (e.g. a slice of engine/association.h's split_heads_copy of the keys).
inline AssociativeMemory memory_from_projected(const Tensor& projected_keys, double scaling) {
  return AssociativeMemory(projected_keys, MemoryOptions().beta(scaling));
}

}  // namespace hf
