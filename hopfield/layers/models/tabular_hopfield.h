// The tabular Hopfield classifier of hopfield-uci: an embedding of each row, a Hopfield association with a
// memory, and a linear head on the sum (a residual).
//
//   x (B, d) --Linear -> SELU -> Dropout--> h (B, w)
//   --as one state pattern--> Hopfield association with a memory --> r (B, w)
//   --h + r--> Linear(w, C) --> logits (B, C)
//
// Two memories:
//   "prototypes"  HopfieldLayer: q trainable stored patterns (a learned associative memory) shared by all rows
//   "memory"      Hopfield over stored rows passed to forward() (e.g. training rows): they are embedded with the
//                 same layers and the query attends to them (a soft nearest-neighbour lookup in the learned
//                 space); self_mask (B, S) true where a query must not see a stored row (itself)
//
//   TabularHopfieldNet net(TabularHopfieldNetOptions(d, classes).memory("prototypes").seed(1));
//   Tensor logits = net.forward(x);
//
// Legend: B rows in a batch, d features, w embedding width, q prototypes, S stored rows, C classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/layers/dropout.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/module.h"

namespace hf {

struct TabularHopfieldNetOptions {
  TabularHopfieldNetOptions(std::size_t input_size, std::size_t num_classes)
      : input_size_(input_size), num_classes_(num_classes) {}
  HF_ARG(std::size_t, input_size);         // d
  HF_ARG(std::size_t, num_classes);        // C
  HF_ARG(std::string, memory) = "prototypes";  // "prototypes" or "memory" (see above)
  HF_ARG(std::size_t, width) = 128;        // w
  HF_ARG(std::size_t, num_heads) = 4;
  HF_ARG(std::size_t, hidden_size) = 32;
  HF_ARG(std::size_t, prototypes) = 64;    // q
  HF_ARG(double, scaling) = 0.0;           // beta; 0 = 1/sqrt(hidden_size)
  HF_ARG(double, dropout) = 0.1;           // after the embedding
  HF_ARG(std::uint64_t, seed) = 1;         // initialisation (in layer order) and the dropout stream
};

class TabularHopfieldNet : public Module {
 public:
  explicit TabularHopfieldNet(const TabularHopfieldNetOptions& options);
  // x (B, d) -> logits (B, C). Memory "memory": stored (S, d) rows and an optional self_mask (B, S).
  Tensor forward(const Tensor& x, const Tensor& stored = Tensor(), const Tensor& self_mask = Tensor());
  // Linear -> SELU -> Dropout: x (B, d) -> (B, w).
  Tensor embed_rows(const Tensor& x);
  bool uses_stored_rows() const { return memory_mode_; }
  std::string name() const override { return "TabularHopfieldNet"; }
  const TabularHopfieldNetOptions& options() const { return options_; }

  std::shared_ptr<Linear> embed, head;
  std::shared_ptr<Dropout> drop;
  std::shared_ptr<HopfieldLayer> prototypes;  // memory "prototypes"
  std::shared_ptr<Hopfield> memory;           // memory "memory"

 private:
  TabularHopfieldNetOptions options_;
  bool memory_mode_;
};

}  // namespace hf
