// Hopfield's streaming association (issue 20): the retrieval loop of hopfield.cpp on states instead of
// association matrices, so that memory stays bounded in L x S.
//
// The dense loop computes xi_t = softmax(beta (xi_{t-1} K) K^T). Here the state z_t = xi_{t-1} K is one
// streaming association with the keys as values, xi_t = softmax(beta z_t K^T) is never held, and the
// stopping statistic ||xi_t - xi_{t-1}|| is streamed from z_t and z_{t-1} in the pass that computes z_{t+1}. Each step is an autograd op,
// so backward through the steps comes from the tape. A head that stopped at step s uses z_s: the final
// state takes each head's feature block from its own step, and one last streaming association with V
// gives the output.
#include <algorithm>
#include <vector>

#include "hopfield/engine/association_streaming.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/hopfield.h"

namespace hf {

bool Hopfield::streams_association(std::size_t batch, std::size_t states, std::size_t stored, Dtype dtype) const {
  if (options_.streaming()) return *options_.streaming();
  // Association dropout needs the matrix: the automatic choice keeps the dense path while it is active.
  if (is_training() && options_.dropout() > 0) return false;
  const std::size_t budget = options_.association_memory_budget().value_or(default_association_memory_budget());
  return association_matrix_bytes(batch, options_.num_heads(), states, stored, options_.add_zero_association(), dtype) >
         budget;
}

Tensor Hopfield::stream_association(const Tensor& q, const Tensor& k, const Tensor& v, const AssociationMasks& masks,
                                    bool want_matrix, HopfieldResult& result) const {
  const char* op = "Hopfield";
  HF_CHECK(!(is_training() && options_.dropout() > 0), op,
           "dropout=" << options_.dropout()
                      << " (on the association matrix) is not supported by the streaming association, which never "
                         "holds that matrix: set dropout(0), call eval(), or leave streaming unset or false");
  const std::size_t h = options_.num_heads(), hd = head_dim_;
  const bool zero = options_.add_zero_association();
  std::vector<Tensor> states{q};  // z_0 = q, z_t = xi_{t-1} K: each (N or 1, L, H*hd)
  std::vector<std::size_t> steps(h, 0);
  const auto& max_steps = options_.update_steps_max();
  std::vector<bool> active(h, !max_steps || *max_steps > 0);
  if (active[0]) states.push_back(association_streaming(q, k, k, h, scaling_, masks, zero));  // z_1
  // Step t: the heads still active take z_t; the stopping statistic ||xi_t - xi_{t-1}|| comes from the
  // same pass that computes z_{t+1} (unused if every head stops at t), unless the step limit stops every
  // head anyway.
  for (std::size_t t = 1; std::find(active.begin(), active.end(), true) != active.end(); ++t) {
    for (std::size_t i = 0; i < h; ++i)
      if (active[i]) steps[i] = t;
    if (max_steps && static_cast<long long>(t) >= *max_steps) break;
    Tensor previous = states[t - 1].detach();
    if (previous.size(0) != states[t].size(0)) previous = expand(previous, states[t].shape()).detach();
    std::vector<double> d;
    Tensor next = association_streaming_update(states[t], previous, k, h, scaling_, masks, zero, d);
    for (std::size_t i = 0; i < h; ++i) active[i] = active[i] && d[i] > options_.update_steps_eps();
    if (std::find(active.begin(), active.end(), true) != active.end()) states.push_back(next);
  }
  Tensor state = states[steps[0]];
  if (!std::all_of(steps.begin(), steps.end(), [&](std::size_t s) { return s == steps[0]; })) {
    std::vector<Tensor> blocks;
    for (std::size_t i = 0; i < h; ++i) {
      Tensor zi = states[steps[i]];
      if (zi.size(0) != states.back().size(0)) zi = expand(zi, {states.back().size(0), zi.size(1), zi.size(2)});
      blocks.push_back(narrow(zi, 2, i * hd, hd));
    }
    state = concat(blocks, 2);
  }
  result.update_steps = steps;
  // Asked for explicitly: the matrix is computed apart from the output (its size is the caller's choice).
  if (want_matrix) result.association_matrix = association_probs(state, k, h, scaling_, masks, zero);
  return association_streaming(state, k, v, h, scaling_, masks, zero);
}

}  // namespace hf
