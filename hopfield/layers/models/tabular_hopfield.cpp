// The tabular Hopfield classifier (see layers/models/tabular_hopfield.h).
#include "hopfield/layers/models/tabular_hopfield.h"

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"

namespace hf {

TabularHopfieldNet::TabularHopfieldNet(const TabularHopfieldNetOptions& o)
    : options_(o), memory_mode_(o.memory() == "memory") {
  HF_CHECK(o.memory() == "prototypes" || o.memory() == "memory", "TabularHopfieldNet",
           "unknown memory '" << o.memory() << "' (prototypes or memory)");
  HF_CHECK(o.input_size() > 0 && o.num_classes() > 0 && o.width() > 0, "TabularHopfieldNet",
           "input_size=" << o.input_size() << ", num_classes=" << o.num_classes() << ", width=" << o.width()
                         << " must be positive");
  Generator gen(o.seed());  // drawn in layer order: the same seed gives the same network
  embed = register_module("embed", std::make_shared<Linear>(LinearOptions(o.input_size(), o.width()), gen));
  drop = register_module("drop", std::make_shared<Dropout>(DropoutOptions(o.dropout()).seed(gen.next_u64())));
  HopfieldOptions ho(o.width());
  ho.num_heads(o.num_heads()).hidden_size(o.hidden_size());
  if (o.scaling() > 0) ho.scaling(o.scaling());
  if (memory_mode_)
    memory = register_module("memory", std::make_shared<Hopfield>(ho, gen));
  else
    prototypes = register_module(
        "prototypes", std::make_shared<HopfieldLayer>(HopfieldLayerOptions(ho).quantity(o.prototypes()), gen));
  head = register_module("head", std::make_shared<Linear>(LinearOptions(o.width(), o.num_classes()), gen));
}

Tensor TabularHopfieldNet::embed_rows(const Tensor& x) { return drop->forward(selu(embed->forward(x))); }

Tensor TabularHopfieldNet::forward(const Tensor& x, const Tensor& stored, const Tensor& self_mask) {
  Tensor h = embed_rows(x);  // (B, w)
  Tensor r;
  if (memory_mode_) {
    HF_CHECK(stored.defined(), "TabularHopfieldNet", "memory 'memory' needs the stored rows (S, d)");
    Tensor m = unsqueeze(embed_rows(stored), 0);                                  // (1, S, w)
    r = squeeze(memory->forward(m, unsqueeze(h, 0), m, Tensor(), self_mask), 0);  // (B, w)
  } else {
    r = squeeze(prototypes->forward(unsqueeze(h, 1)), 1);  // (B, w)
  }
  return head->forward(add(h, r));
}

}  // namespace hf
