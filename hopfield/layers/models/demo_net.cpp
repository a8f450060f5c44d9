// The hflayers demonstration networks (see layers/models/demo_net.h).
#include "hopfield/layers/models/demo_net.h"

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

namespace hf {

HopfieldOptions DemoNet::hopfield_options() const {
  const DemoNetOptions& o = options_;
  HopfieldOptions ho(o.embedding() > 0 ? o.embedding() : o.num_features());
  if (o.adapted() && o.kind() != DemoKind::Lookup)
    ho.hidden_size(o.adapted_hidden_size())
        .num_heads(o.adapted_num_heads())
        .update_steps_max(o.adapted_update_steps_max())
        .scaling(o.adapted_scaling())
        .dropout(o.adapted_dropout());
  return ho;
}

DemoNet::DemoNet(const DemoNetOptions& o, Generator& gen) : options_(o) {
  HF_CHECK(o.num_features() > 0 && o.num_instances() > 0 && o.lookup_quantity() > 0, "DemoNet",
           "num_features=" << o.num_features() << ", num_instances=" << o.num_instances()
                           << ", lookup_quantity=" << o.lookup_quantity() << " must be positive");
  if (o.embedding() > 0)
    embed = register_module("embedding", std::make_shared<Linear>(LinearOptions(o.num_features(), o.embedding()), gen));
  const HopfieldOptions ho = hopfield_options();
  std::size_t features = 0;
  if (o.kind() == DemoKind::Association) {
    hopfield = register_module("hopfield", std::make_shared<Hopfield>(ho, gen));
    features = hopfield->output_dim() * o.num_instances();
  } else if (o.kind() == DemoKind::Pooling) {
    pooling = register_module("hopfield_pooling", std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(ho), gen));
    features = pooling->hopfield->output_dim() * pooling->quantity();
  } else {
    HopfieldLayerOptions lo(ho);
    lo.quantity(o.lookup_quantity());
    if (o.adapted()) lo.lookup_weights_as_separated(true).lookup_targets_as_trainable(false);
    lookup = register_module("hopfield_lookup", std::make_shared<HopfieldLayer>(lo, gen));
    features = lookup->hopfield->output_dim() * o.num_instances();
  }
  output = register_module("output_projection", std::make_shared<Linear>(LinearOptions(features, 1), gen));
}

Tensor DemoNet::forward(const Tensor& input) {
  HF_CHECK(input.dim() == 3 && input.size(2) == options_.num_features(), "DemoNet.forward",
           "expected x (B, N, " << options_.num_features() << "), got " << shape_str(input.shape()));
  const auto B = static_cast<std::int64_t>(input.size(0));
  const Tensor x = embed ? relu(embed->forward(input)) : input;
  Tensor h;
  if (hopfield) h = reshape(hopfield->forward(x), {B, -1});
  else if (pooling) h = pooling->forward(x);
  else h = reshape(lookup->forward(x), {B, -1});
  return flatten(output->forward(h));
}

}  // namespace hf
