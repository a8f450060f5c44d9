// HopfieldPooling: trainable state patterns shared by the batch (see hopfield_pooling.h).
// N batch, S stored patterns, q = quantity pooling patterns, D state size.
#include "hopfield/layers/hopfield_pooling.h"

#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/init.h"

namespace hf {

HopfieldPooling::HopfieldPooling(const HopfieldPoolingOptions& options, Generator& gen) : HopfieldPooling(options, init::deferred) {
  reset_parameters(gen);
}

HopfieldPooling::HopfieldPooling(const HopfieldPoolingOptions& options, init::Deferred) : options_(options) {
  HF_CHECK(options_.quantity() > 0, "HopfieldPooling", "quantity must be positive");
  hopfield = register_module("hopfield", std::make_shared<Hopfield>(options_.hopfield(), init::deferred));
  const HopfieldOptions& o = options_.hopfield();
  const std::size_t size = o.state_pattern_as_static() ? hopfield->head_dim() : o.input_size();
  pooling_weights = register_parameter("pooling_weights", zeros({1, options_.quantity(), size}), options_.trainable());
}

void HopfieldPooling::reset_parameters(Generator& gen) {
  hopfield->reset_parameters(gen);
  init::normal_(pooling_weights, 0.0, 0.02, gen);
}

Tensor HopfieldPooling::forward(const Tensor& x) { return run(x, x, Tensor(), Tensor(), false).output; }

Tensor HopfieldPooling::forward(const Tensor& x, const Tensor& padding_mask, const Tensor& association_mask) {
  return run(x, x, padding_mask, association_mask, false).output;
}

Tensor HopfieldPooling::forward(const Tensor& stored, const Tensor& projection, const Tensor& padding_mask,
                                const Tensor& association_mask) {
  return run(stored, projection, padding_mask, association_mask, false).output;
}

HopfieldResult HopfieldPooling::forward_with_details(const Tensor& stored, const Tensor& projection,
                                                     const Tensor& padding_mask, const Tensor& association_mask) {
  return run(stored, projection, padding_mask, association_mask, true);
}

HopfieldResult HopfieldPooling::run(const Tensor& stored, const Tensor& projection, const Tensor& padding_mask,
                                    const Tensor& association_mask, bool details) {
  HF_CHECK(stored.defined() && stored.dim() == 3, "HopfieldPooling",
           "input must be batch-first (N, S, Dk), got " << (stored.defined() ? shape_str(stored.shape()) : "undefined"));
  // The pooling patterns enter with batch size 1: projected once, broadcast inside the association core.
  HopfieldResult r = details ? hopfield->forward_with_details(stored, pooling_weights, projection, padding_mask,
                                                              association_mask)
                             : HopfieldResult{hopfield->forward(stored, pooling_weights, projection, padding_mask,
                                                                association_mask),
                                              Tensor(), Tensor(), {}};
  r.output = flatten(r.output, 1);  // (N, q * out)
  return r;
}

std::string HopfieldPooling::extra_repr() const {
  std::ostringstream os;
  os << "quantity=" << options_.quantity() << ", trainable=" << (options_.trainable() ? "True" : "False");
  return os.str();
}

}  // namespace hf
