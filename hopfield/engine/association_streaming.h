// The streaming association core: out = softmax(beta * Q K^T + masks) V without the (N, H, L, S')
// association matrix, for memories of millions of stored patterns (issue 20).
//
// The memory-efficient attention / FlashAttention scheme on CPU: for each (batch, head) the stored patterns
// are visited in chunks of C; a chunk's scores beta * Q K_c^T (one gemm), its masks, a running row max and
// sum (the online softmax: earlier sums and outputs are rescaled when the max grows) and O += P_c V_c (one
// gemm). Only the per-row log-sum-exp is kept (as the row max m and 1 / sum); the backward pass
// recomputes each chunk's probabilities P_c = exp(S_c - m) / sum from it (with D = rowsum(dO * O):
// dV_c = P_c^T dO, dP_c = dO V_c^T, dS_c = P_c (dP_c - D), dQ += beta dS_c K_c, dK_c = beta dS_c^T Q).
// Memory beyond inputs, outputs and gradients: two chunk buffers of R x C (R = L rows, or N*L when K and
// V are shared by the batch) and
// O(N H L) row statistics, never L x S.
//
// Layout, masks and the zero association are those of association.h (the same dimension legend): the zero
// association is one extra key with logit 0 and a zero value, so it enters the running max and sum only.
// A row whose entries are all masked gives zeros and zero gradient, as in association_probs.
#pragma once

#include <cstddef>
#include <vector>

#include "hopfield/engine/association.h"
#include "hopfield/engine/tensor.h"

namespace hf {

// out (N, L, H*pd) = associate(association_probs(q, k, ...), v): q (Nq, L, H*hd), k (Nk, S, H*hd),
// v (Nv, S, H*pd), Nq, Nk, Nv in {1, N}. Differentiable in q, k and v (float masks get no gradient).
// chunk = stored patterns per chunk; 0 = default_association_chunk(), or automatic (about 4 MB per buffer).
Tensor association_streaming(const Tensor& q, const Tensor& k, const Tensor& v, std::size_t num_heads, double scaling,
                             const AssociationMasks& masks = AssociationMasks(), bool add_zero_association = false,
                             std::size_t chunk = 0);

// One update step of the retrieval loop and its stopping statistic in one pass over the keys:
// returns association_streaming(q, k, k, ...) (the new state xi K, differentiable in q and k) and sets
// change = association_change_streaming(q, previous, k, ...) (previous: the state before q, q's shape; no
// gradient).
Tensor association_streaming_update(const Tensor& q, const Tensor& previous, const Tensor& k, std::size_t num_heads,
                                    double scaling, const AssociationMasks& masks, bool add_zero_association,
                                    std::vector<double>& change, std::size_t chunk = 0);

// association_change(association_probs(qa, k, ...), association_probs(qb, k, ...)) without either matrix:
// d[h] = max over n of the Frobenius norm over (l, s') of the difference (zero association column
// included). One streaming pass (online sums of p_a^2, p_b^2 and p_a p_b); no gradient.
std::vector<double> association_change_streaming(const Tensor& qa, const Tensor& qb, const Tensor& k,
                                                 std::size_t num_heads, double scaling,
                                                 const AssociationMasks& masks = AssociationMasks(),
                                                 bool add_zero_association = false, std::size_t chunk = 0);

// The size in bytes of the association matrix the dense path would hold: N * H * L * S' * element size.
std::size_t association_matrix_bytes(std::size_t batch, std::size_t heads, std::size_t states, std::size_t stored,
                                     bool add_zero_association, Dtype dtype);

// Global defaults (process-wide). Hopfield streams when association_matrix_bytes exceeds its
// association_memory_budget option, or this default when the option is unset. Initially 64 MiB.
std::size_t default_association_memory_budget();
void set_default_association_memory_budget(std::size_t bytes);
// Stored patterns per chunk when the call passes 0; 0 (the initial value) = automatic.
std::size_t default_association_chunk();
void set_default_association_chunk(std::size_t chunk);

}  // namespace hf
