// The batched Hopfield association core ("Hopfield Networks is All You Need", eq. (3) / appendix A.1.4):
//
//   xi = softmax(beta * Q K^T + float_mask)  with -inf where a boolean mask forbids,   O = xi V
//
// run as OpenBLAS gemm calls over all (batch, head) pairs with a fused, numerically stable row softmax
// and hand-written backward passes (one of the few fused ops of the engine, see the style anchors).
//
// Dimension legend: N batch, H heads, L state patterns (queries), S stored patterns (keys),
// S' = S (+1 with zero association), hd per-head association size, pd per-head pattern size.
//
// Layout: the projected patterns stay in the layout the projections produce, heads side by side in the
// feature axis: Q (Nq, L, H*hd), K (Nk, S, H*hd), V (Nv, S, H*pd). Head h is the column block
// [h*hd, (h+1)*hd), read through the gemm leading dimension, so splitting and merging heads never copies.
// A leading size of 1 (instead of N) means "shared by the whole batch": HopfieldLayer projects its lookup
// patterns once and HopfieldPooling its pooling patterns once; their gradients are summed over the batch,
// and a shared K/V is handled with one gemm per head over all N*L rows.
#pragma once

#include <cstddef>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

struct AssociationMasks {
  // (N, S): nonzero = this stored pattern is ignored for batch entry n.
  Tensor stored_pattern_padding_mask;
  // (L, S) for every batch entry and head, or (N*H, L, S) with entry [n*H + h].
  // Bool (or any non-float dtype): nonzero = forbidden. Float32/Float64: added to the logits after beta
  // (no gradient flows into a float mask).
  Tensor association_mask;
};

// xi (N, H, L, S') = row softmax of beta * Q K^T (+ float mask, -inf where masked).
// q (Nq, L, H*hd), k (Nk, S, H*hd), Nq, Nk in {1, N}; N is the largest leading size among q, k and the masks.
// add_zero_association appends one logit fixed at 0 per row (a zero key that is never masked): S' = S + 1.
// A row whose entries are all masked gives zeros and passes zero gradient (hflayers gives NaN there).
Tensor association_probs(const Tensor& q, const Tensor& k, std::size_t num_heads, double scaling,
                         const AssociationMasks& masks = AssociationMasks(), bool add_zero_association = false);

// out (N, L, H*pd), out[n, l, h*pd + p] = sum_{s < S} xi[n, h, l, s] * v[n or 0, s, h*pd + p].
// xi (N, H, L, S') with S' >= S: extra trailing columns belong to zero patterns and contribute nothing.
// Used for the output (v = projected pattern projections) and for the update step (v = keys: the new
// state xi K is already in Q's layout).
Tensor associate(const Tensor& xi, const Tensor& v, std::size_t num_heads);

// out (N, L, H*pd) = associate(association_probs(q, k, H, scaling, masks, add_zero_association), v, H), both in
// one pass over the (n, h) blocks: each block's association matrix feeds its xi V product, and in the
// backward its gradient the softmax backward and the q / k products, while the block is in cache (the two
// ops send whole (N, H, L, S') tensors through memory between them). q (N, L, H*hd), k (N, S, H*hd),
// v (N, S, H*pd), every operand per batch entry (the two ops also take operands shared by the batch).
// *xi_out (if given) receives the association matrix (N, H, L, S'), without gradient.
Tensor fused_association(const Tensor& q, const Tensor& k, const Tensor& v, std::size_t num_heads, double scaling,
                         const AssociationMasks& masks = AssociationMasks(), bool add_zero_association = false,
                         Tensor* xi_out = nullptr);

// out (N, H, L, S') with out[:, h] = xis[step[h]][:, h]: each head's association matrix after its own
// number of update steps (the per-head stopping rule). Gradient goes to the chosen entries only.
Tensor select_heads(const std::vector<Tensor>& xis, const std::vector<std::size_t>& step);

// Stopping statistic (no gradient): d[h] = max over n of the Frobenius norm over (l, s) of a[n,h] - b[n,h].
std::vector<double> association_change(const Tensor& a, const Tensor& b);

// y (..., rows) = x (..., in) @ weight[row_begin : row_begin + rows]^T + bias[bias_begin : bias_begin + rows]
// (bias may be undefined). The packed in_proj_weight [Wq; Wk; Wv] is used in place, without slicing copies;
// the weight gradient lands in the selected rows.
Tensor row_projection(const Tensor& x, const Tensor& weight, std::size_t row_begin, std::size_t rows,
                      const Tensor& bias = Tensor(), std::size_t bias_begin = 0);

// A LayerNorm's affine folded into the projection after it:
//   y (..., rows) = (xhat * gamma + beta) @ weight[row_begin : row_begin + rows]^T + bias[bias_begin : ...]
// computed as xhat @ (weight * gamma)^T + (weight beta + bias), xhat (..., in) the normalised input (layer_norm
// without affine), gamma / beta (in) the LayerNorm's gain and shift (beta may be undefined, bias too).
// Equal to row_projection(layer_norm(x, 1, gamma, beta), ...) in exact arithmetic, but the (..., in) input
// gradient is only formed when xhat needs one: the gain and shift gradients come from the weight-gradient
// gemm, gW_ij = (g^T xhat)_ij gamma_j + (sum_r g_ri) beta_j, ggamma_j = sum_i W_ij (g^T xhat)_ij,
// gbeta_j = sum_i W_ij sum_r g_ri. Hopfield uses it for its three input LayerNorms, which then share one xhat
// when their inputs are one tensor (self-association).
Tensor affine_row_projection(const Tensor& xhat, const Tensor& gamma, const Tensor& beta, const Tensor& weight,
                             std::size_t row_begin, std::size_t rows, const Tensor& bias = Tensor(),
                             std::size_t bias_begin = 0);

// (Nv, S, H*pd) -> (Nv, H, S + extra_zero_rows, pd), a plain copy without gradient: the per-head view of
// the projected patterns that the reference calls projected_patterns.
Tensor split_heads_copy(const Tensor& v, std::size_t num_heads, std::size_t extra_zero_rows = 0);

// The association with the key and value projections re-associated onto the state patterns, for few state
// patterns over many stored ones (HopfieldPooling: L = quantity, S = a bag). Equal in exact arithmetic to
//   k = row_projection(y, wk, wk_row, H*hd, bk, bk_off)  and  v = row_projection(x, wv, wv_row, H*pd, bv, bv_off)
//   associate(association_probs(q, k, H, scaling, masks, zero), v, H)
// but each query is mapped back into the stored patterns' feature space instead, qk_h = q_h Wk_h (Dk), and
// the projection inputs are pooled before their projection, u_h = xi_h X, out_h = u_h Wv_h^T + bv_h sum(xi_h):
// O(N H L S (Dk + Dv)) instead of O(N S H (hd Dk + pd Dv)), and no (N, S, H*hd) key or value tensor.
// q (Nq, L, H*hd), y (Ny, S, Dk), x (Nx, S, Dv) with leading sizes 1 or N; wk rows [wk_row, wk_row + H*hd) of a
// (., Dk) weight, wv rows [wv_row, wv_row + H*pd) of a (., Dv) weight (both may be the packed in_proj_weight);
// biases optional. Returns out (N, L, H*pd); *xi_out (if given) receives the association matrix
// (N, H, L, S'), without gradient.
Tensor pooled_association(const Tensor& q, const Tensor& y, const Tensor& x, const Tensor& wk, std::size_t wk_row,
                          const Tensor& bk, std::size_t bk_off, const Tensor& wv, std::size_t wv_row, const Tensor& bv,
                          std::size_t bv_off, std::size_t num_heads, std::size_t pattern_dim, double scaling,
                          const AssociationMasks& masks = AssociationMasks(), bool add_zero_association = false,
                          Tensor* xi_out = nullptr);

}  // namespace hf
