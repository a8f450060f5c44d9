// The networks of the hflayers demonstrations (ml-jku/hopfield-layers examples/bit_pattern and
// examples/latch_sequence; programs hopfield-bit-pattern and hopfield-latch): a Hopfield module of one of three
// kinds in front of a linear read-out to one logit per bag (or sequence).
//
//   Association  x (B, N, d) --Hopfield (self-association)--> (B, N, d) --flatten--> Linear(N d, 1)
//   Pooling      x (B, N, d) --HopfieldPooling (one learned state pattern)--> (B, d) --> Linear(d, 1)
//   Lookup       x (B, N, d) --HopfieldLayer (U learned stored patterns)--> (B, N, d) --> Linear(N d, 1)
//   adapted      the notebooks' "adapted" settings: hidden_size 8, 8 heads, 3 update steps, beta 0.25,
//                association dropout 0.5 (adapted_* options); the lookup instead separates its targets and
//                freezes them (its stored patterns are then best started at the U distinct training instances)
//   embedding E  not in the notebooks: every instance first goes through Linear(d, E) -> ReLU, and the
//                Hopfield module sees (B, N, E). Without it the plain networks score an instance by a linear
//                function of its layer-normalised features; with it they can carve out any set of patterns.
//
//   Generator gen(seed);
//   DemoNet net(DemoNetOptions(DemoKind::Pooling, 8, 16).adapted(true), gen);
//   Tensor logits = net.forward(batch.x);  // (B)
//
// The association dropout streams are seeded from default_generator() at construction (as Dropout's are), so
// manual_seed() before constructing fixes them. Legend: B bags in a batch, N instances per bag, d features,
// U stored patterns of the lookup.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/module.h"

namespace hf {

enum class DemoKind { Association, Pooling, Lookup };

struct DemoNetOptions {
  DemoNetOptions(DemoKind kind, std::size_t num_features, std::size_t num_instances)
      : kind_(kind), num_features_(num_features), num_instances_(num_instances) {}
  HF_ARG(DemoKind, kind);
  HF_ARG(std::size_t, num_features);       // d
  HF_ARG(std::size_t, num_instances);      // N (the flattening read-outs of Association and Lookup need it)
  HF_ARG(std::size_t, embedding) = 0;      // E > 0: Linear(d, E) -> ReLU per instance in front of the Hopfield module
  HF_ARG(std::size_t, lookup_quantity) = 1;  // U stored patterns of the Lookup
  HF_ARG(bool, adapted) = false;           // the notebooks' adapted settings (below; Lookup: separated, frozen targets)
  HF_ARG(std::size_t, adapted_hidden_size) = 8;
  HF_ARG(std::size_t, adapted_num_heads) = 8;
  HF_ARG(int, adapted_update_steps_max) = 3;
  HF_ARG(double, adapted_scaling) = 0.25;
  HF_ARG(double, adapted_dropout) = 0.5;
};

class DemoNet : public Module {
 public:
  // Parameters drawn from gen in layer order: embedding, Hopfield module, read-out.
  explicit DemoNet(const DemoNetOptions& options, Generator& gen = default_generator());
  // x (B, N, d) -> logits (B).
  Tensor forward(const Tensor& x);
  // The Hopfield options the module is built with (input size d, or E with an embedding).
  HopfieldOptions hopfield_options() const;
  std::string name() const override { return "DemoNet"; }
  const DemoNetOptions& options() const { return options_; }

  std::shared_ptr<Linear> embed;  // only with an embedding
  std::shared_ptr<Hopfield> hopfield;
  std::shared_ptr<HopfieldPooling> pooling;
  std::shared_ptr<HopfieldLayer> lookup;
  std::shared_ptr<Linear> output;

 private:
  DemoNetOptions options_;
};

}  // namespace hf
