// HopfieldLayer: Hopfield association whose stored patterns (and pattern projections) are `quantity`
// trainable lookup patterns (hflayers.HopfieldLayer): a learned associative memory / lookup table.
//
//   input: state x (N, L, D)
//   stored: lookup_weights (1, q, Dk); projection: target_weights (1, q, Dv) with
//           lookup_weights_as_separated, else the lookup weights again
//   Both are shared by the batch: normalised and projected once per forward, never copied per batch row;
//   their gradients are the sums over the batch.
//   output (N, L, out)
//
// Parameters: lookup_weights, target_weights (if separated), and the Hopfield parameters under "hopfield.".
#pragma once

#include <memory>
#include <string>

#include "hopfield/layers/hopfield.h"

namespace hf {

class HopfieldLayer : public UnaryModule {
 public:
  // Parameters drawn from gen (reset_parameters(gen)); init::deferred: zeros, the owner draws them.
  explicit HopfieldLayer(const HopfieldLayerOptions& options, Generator& gen = default_generator());
  HopfieldLayer(const HopfieldLayerOptions& options, init::Deferred);

  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, const Tensor& stored_pattern_padding_mask, const Tensor& association_mask = Tensor());
  HopfieldResult forward_with_details(const Tensor& x, const Tensor& stored_pattern_padding_mask = Tensor(),
                                      const Tensor& association_mask = Tensor());

  // hflayers: the inner Hopfield's initialisation, lookup and target weights N(0, 0.02^2).
  void reset_parameters(Generator& gen = default_generator());

  std::string name() const override { return "HopfieldLayer"; }
  std::string extra_repr() const override;
  const HopfieldLayerOptions& options() const { return options_; }
  std::size_t quantity() const { return options_.quantity(); }

  std::shared_ptr<Hopfield> hopfield;
  Tensor lookup_weights;  // (1, q, Dk), or (1, q, hd) with stored_pattern_as_static
  Tensor target_weights;  // (1, q, Dv), or undefined

 private:
  HopfieldLayerOptions options_;
};

}  // namespace hf
