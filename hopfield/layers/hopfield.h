// Hopfield: the modern Hopfield association module of "Hopfield Networks is All You Need"
// (Ramsauer et al., 2020), matching hflayers.Hopfield 1.0.2 number by number (reference vectors and the
// exact computation: ../shared/reference/hopfield/README.md, section 3).
//
//   stored Y (N, S, Dk), state R (N, L, D), projection X (N, S, Dv)   (batch first; a leading size of 1
//   means "shared by the batch": HopfieldPooling / HopfieldLayer pass their trainable patterns that way)
//   Y~, R~, X~ = LayerNorm(Y), LayerNorm(R), LayerNorm(X)              (each optional)
//   Q = R~ Wq^T + bq (N, L, H*hd),  K = Y~ Wk^T + bk (N, S, H*hd),  V = X~ Wv^T + bv (N, S, H*pd)
//   xi_0 = softmax(beta Q K^T),  xi_t = softmax(beta (xi_{t-1} K) K^T) per head until the stopping rule
//   output = act((xi_final V) Wo^T + bo)  (N, L, out)
//
// Parameter names are hflayers' state-dict names: association_core.{in_proj_weight | q_proj_weight,
// k_proj_weight, v_proj_weight}, association_core.in_proj_bias, association_core.out_proj.{weight,bias},
// association_core.p_norm_{weight,bias}, norm_{stored_pattern,state_pattern,pattern_projection}.{weight,bias}.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/engine/association.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/hopfield_options.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/layer_norm.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/module.h"

namespace hf {

// What a forward pass can report besides its output, so users can look inside.
struct HopfieldResult {
  Tensor output;                            // (N, L, out)
  Tensor association_matrix;                // xi_final (N, H, L, S') before dropout (differentiable)
  Tensor projected_patterns;                // V per head (N, H, S', pd), a copy without gradient
  std::vector<std::size_t> update_steps;    // update steps performed per head
};

// The parameters of the association (hflayers' HopfieldCore): projections, output projection and the
// Hopfield-space LayerNorm gain/bias. Held by Hopfield as the child "association_core".
class HopfieldCore : public Module {
 public:
  // Allocates zeros; Hopfield draws them (reset_parameters).
  HopfieldCore(const HopfieldOptions& options, std::size_t head_dim, std::size_t pattern_dim, bool packed, init::Deferred);
  void reset_parameters(Generator& gen = default_generator());
  std::string name() const override { return "HopfieldCore"; }

  Tensor in_proj_weight;                 // packed [Wq; Wk; Wv] (rows of the non-static parts), or undefined
  Tensor q_proj_weight, k_proj_weight, v_proj_weight;  // separate layout, or undefined
  Tensor in_proj_bias;                   // [bq | bk | bv] (bq/bk absent for static parts), or undefined
  Tensor p_norm_weight, p_norm_bias;     // (hd), Hopfield-space LayerNorm affine, or undefined
  std::shared_ptr<Linear> out_proj;      // (out, H*pd), or null with disable_out_projection
};

class Hopfield : public UnaryModule {
 public:
  // Parameters drawn from gen (reset_parameters(gen)); init::deferred: zeros, the owner draws them.
  explicit Hopfield(const HopfieldOptions& options, Generator& gen = default_generator());
  Hopfield(const HopfieldOptions& options, init::Deferred);

  // Self-association: stored = state = projection = x (N, S, D).
  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, const Tensor& stored_pattern_padding_mask, const Tensor& association_mask = Tensor());
  // Distinct stored (N, S, Dk), state (N, L, D) and projection (N, S, Dv) patterns.
  Tensor forward(const Tensor& stored, const Tensor& state, const Tensor& projection,
                 const Tensor& stored_pattern_padding_mask = Tensor(), const Tensor& association_mask = Tensor());
  // The same, also returning the association matrix, the projected patterns and the step counts.
  HopfieldResult forward_with_details(const Tensor& stored, const Tensor& state, const Tensor& projection,
                                      const Tensor& stored_pattern_padding_mask = Tensor(),
                                      const Tensor& association_mask = Tensor());

  // hflayers' initialisation: projections and output weight N(0, 0.02^2), biases 0, LayerNorms (1, 0).
  void reset_parameters(Generator& gen = default_generator());

  std::string name() const override { return "Hopfield"; }
  std::string extra_repr() const override;
  const HopfieldOptions& options() const { return options_; }
  std::size_t num_heads() const { return options_.num_heads(); }
  std::size_t head_dim() const { return head_dim_; }        // hd
  std::size_t pattern_dim() const { return pattern_dim_; }  // pd
  std::size_t stored_pattern_dim() const { return stored_dim_; }
  std::size_t pattern_projection_dim() const { return projection_dim_; }
  std::size_t output_dim() const;  // features per state pattern of the output (H*pd without out projection)
  double scaling() const { return scaling_; }
  bool packed_projection() const { return packed_; }
  // The stream of the association dropout masks (e.g. to save and restore it in a checkpoint).
  Generator& dropout_generator() { return dropout_gen_; }
  // Whether a forward pass over `states` state and `stored` stored patterns per batch entry takes the
  // streaming association (options streaming / association_memory_budget; the automatic choice keeps the
  // dense path while association dropout is active in training).
  bool streams_association(std::size_t batch, std::size_t states, std::size_t stored, Dtype dtype) const;

  // The association's operands as the forward pass forms them (input LayerNorm, projection, Hopfield-space
  // LayerNorm) and the step after it (out projection, activation), for callers that visit the stored
  // patterns in chunks themselves (ChunkedPooling: a repertoire of 300,000 sequences read from disk).
  // Each works row by row, so a chunk's keys and values are those rows of the whole set's.
  Tensor association_queries(const Tensor& state);       // (N, L, D) -> (N, L, H*hd)
  Tensor association_keys(const Tensor& stored);         // (N, S, Dk) -> (N, S, H*hd)
  Tensor association_values(const Tensor& projection);   // (N, S, Dv) -> (N, S, H*pd)
  Tensor association_output(const Tensor& associated);   // (N, L, H*pd) -> (N, L, out)

  std::shared_ptr<HopfieldCore> association_core;
  std::shared_ptr<LayerNorm> norm_stored_pattern, norm_state_pattern, norm_pattern_projection;  // or null

 private:
  HopfieldResult run(const Tensor& stored, const Tensor& state, const Tensor& projection, const AssociationMasks& masks,
                     bool want_projected_patterns);
  // Each projection takes its LayerNorm's output, or (with `folded`) the normalised input xhat and that
  // LayerNorm, whose affine then goes into the projection (affine_row_projection).
  Tensor project_state(const Tensor& r, const LayerNorm* folded = nullptr) const;
  Tensor project_stored(const Tensor& y, const LayerNorm* folded = nullptr) const;
  Tensor project_projection(const Tensor& x, const LayerNorm* folded = nullptr) const;
  Tensor project_rows(const Tensor& input, const LayerNorm* folded, const Tensor& weight, std::size_t row,
                      std::size_t rows, std::size_t bias_off) const;
  bool folds_input_norms() const;
  Tensor normalize_hopfield_space(const Tensor& p) const;
  Tensor activate(const Tensor& y) const;
  Tensor finish_output(const Tensor& associated) const;
  bool use_pooled_association(const Tensor& q, const Tensor& y, const Tensor& x) const;
  Tensor projected_patterns_of(const Tensor& v, std::size_t n) const;
  Tensor pooled_association_output(const Tensor& q, const Tensor& y, const Tensor& x, const AssociationMasks& masks,
                                   Tensor* xi) const;
  // The association of projected q, k, v without the association matrix (hopfield_streaming.cpp); fills
  // result.update_steps, and result.association_matrix when want_matrix.
  Tensor stream_association(const Tensor& q, const Tensor& k, const Tensor& v, const AssociationMasks& masks,
                            bool want_matrix, HopfieldResult& result) const;

  HopfieldOptions options_;
  std::size_t head_dim_ = 0, pattern_dim_ = 0, stored_dim_ = 0, projection_dim_ = 0;
  double scaling_ = 1.0;
  bool packed_ = true, static_execution_ = false;
  // Seeded from default_generator() at construction when dropout > 0 (as Dropout does), so manual_seed() fixes
  // it and two modules never share a mask sequence; a module without dropout draws nothing, which leaves
  // every later initialisation where it was.
  Generator dropout_gen_;
};

}  // namespace hf
