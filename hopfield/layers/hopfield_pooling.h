// HopfieldPooling: Hopfield association whose state patterns are `quantity` trainable pooling patterns
// (hflayers.HopfieldPooling), e.g. attention-MIL pooling of a bag of instances into q vectors.
//
//   input: stored = projection = x (N, S, Dk), or (stored (N, S, Dk), projection (N, S, Dv))
//   state: pooling_weights (1, q, D), shared by the batch (never copied per batch row; its gradient is
//          the sum over the batch)
//   output (N, q * out): the (N, q, out) association result flattened row-major.
//
// Parameters: pooling_weights plus every Hopfield parameter under the prefix "hopfield.".
#pragma once

#include <memory>
#include <string>

#include "hopfield/layers/hopfield.h"

namespace hf {

class HopfieldPooling : public UnaryModule {
 public:
  // Parameters drawn from gen (reset_parameters(gen)); init::deferred: zeros, the owner draws them.
  explicit HopfieldPooling(const HopfieldPoolingOptions& options, Generator& gen = default_generator());
  HopfieldPooling(const HopfieldPoolingOptions& options, init::Deferred);

  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, const Tensor& stored_pattern_padding_mask, const Tensor& association_mask = Tensor());
  Tensor forward(const Tensor& stored, const Tensor& projection, const Tensor& stored_pattern_padding_mask,
                 const Tensor& association_mask);
  // Output flattened as in forward; association matrix (N, H, q, S') and projected patterns as in Hopfield.
  HopfieldResult forward_with_details(const Tensor& stored, const Tensor& projection,
                                      const Tensor& stored_pattern_padding_mask = Tensor(),
                                      const Tensor& association_mask = Tensor());

  // hflayers: the inner Hopfield's initialisation, pooling weights N(0, 0.02^2).
  void reset_parameters(Generator& gen = default_generator());

  std::string name() const override { return "HopfieldPooling"; }
  std::string extra_repr() const override;
  const HopfieldPoolingOptions& options() const { return options_; }
  std::size_t quantity() const { return options_.quantity(); }

  std::shared_ptr<Hopfield> hopfield;
  Tensor pooling_weights;  // (1, q, D), or (1, q, hd) with state_pattern_as_static

 private:
  HopfieldResult run(const Tensor& stored, const Tensor& projection, const Tensor& padding_mask,
                     const Tensor& association_mask, bool details);
  HopfieldPoolingOptions options_;
};

}  // namespace hf
