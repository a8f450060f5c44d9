// HopfieldLayer: trainable stored patterns shared by the batch (see hopfield_layer.h).
// N batch, L state patterns, q = quantity lookup patterns, Dk / Dv stored / projection sizes.
#include "hopfield/layers/hopfield_layer.h"

#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/layers/init.h"

namespace hf {

HopfieldLayer::HopfieldLayer(const HopfieldLayerOptions& options, Generator& gen) : HopfieldLayer(options, init::deferred) {
  reset_parameters(gen);
}

HopfieldLayer::HopfieldLayer(const HopfieldLayerOptions& options, init::Deferred) : options_(options) {
  HF_CHECK(options_.quantity() > 0, "HopfieldLayer", "quantity must be positive");
  hopfield = register_module("hopfield", std::make_shared<Hopfield>(options_.hopfield(), init::deferred));
  const HopfieldOptions& o = options_.hopfield();
  const std::size_t lookup_size = o.stored_pattern_as_static() ? hopfield->head_dim() : hopfield->stored_pattern_dim();
  lookup_weights = register_parameter("lookup_weights", zeros({1, options_.quantity(), lookup_size}), options_.trainable());
  if (options_.lookup_weights_as_separated()) {
    const std::size_t target_size = o.pattern_projection_size().value_or(lookup_size);
    target_weights = register_parameter("target_weights", zeros({1, options_.quantity(), target_size}),
                                        options_.lookup_targets_as_trainable());
  } else {
    HF_CHECK(hopfield->pattern_projection_dim() == lookup_size, "HopfieldLayer",
             "without lookup_weights_as_separated the lookup weights (size " << lookup_size
                 << ") are also the pattern projections: pattern_projection_size=" << hopfield->pattern_projection_dim()
                 << " must equal it");
  }
}

void HopfieldLayer::reset_parameters(Generator& gen) {
  hopfield->reset_parameters(gen);
  init::normal_(lookup_weights, 0.0, 0.02, gen);
  if (target_weights.defined()) init::normal_(target_weights, 0.0, 0.02, gen);
}

Tensor HopfieldLayer::forward(const Tensor& x) { return forward(x, Tensor(), Tensor()); }

Tensor HopfieldLayer::forward(const Tensor& x, const Tensor& padding_mask, const Tensor& association_mask) {
  // Stored and projection patterns enter with batch size 1: projected once for the whole batch.
  return hopfield->forward(lookup_weights, x, target_weights.defined() ? target_weights : lookup_weights, padding_mask,
                           association_mask);
}

HopfieldResult HopfieldLayer::forward_with_details(const Tensor& x, const Tensor& padding_mask,
                                                   const Tensor& association_mask) {
  return hopfield->forward_with_details(lookup_weights, x, target_weights.defined() ? target_weights : lookup_weights,
                                        padding_mask, association_mask);
}

std::string HopfieldLayer::extra_repr() const {
  std::ostringstream os;
  os << "quantity=" << options_.quantity() << ", lookup_weights_as_separated="
     << (options_.lookup_weights_as_separated() ? "True" : "False");
  return os.str();
}

}  // namespace hf
