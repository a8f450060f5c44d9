// The multiple-instance network of hopfield-mil (the paper's section 4.2): an instance embedding, Hopfield
// pooling over the instances of a bag, one logit per bag.
//
//   x (B, N, d) --[Linear -> act -> Dropout] x depth--> h (B, N, w)
//   --HopfieldPooling over the N instances (padding mask (B, N), true = padded slot)--> (B, w)
//   --act -> Linear(w, 1)--> logits (B)
//
//   MilNet net(MilNetOptions(d).width(64).heads(4).seed(1));
//   Tensor logits = net.forward(batch.x, batch.mask);  // a BagBatch (datasets/bag_batch.h)
//
// Legend: B bags in a batch, N instances (padded), d features, w embedding width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/module.h"
#include "hopfield/layers/sequential.h"

namespace hf {

struct MilNetOptions {
  MilNetOptions(std::size_t num_features) : num_features_(num_features) {}  // NOLINT
  HF_ARG(std::size_t, num_features);       // d
  HF_ARG(std::size_t, width) = 128;        // w, instance embedding width
  HF_ARG(std::size_t, depth) = 1;          // Linear layers in the embedding
  HF_ARG(std::string, activation) = "relu";  // make_activation (layers/activation.h)
  HF_ARG(double, dropout) = 0.0;           // after every embedding layer
  HF_ARG(std::size_t, num_heads) = 8;
  HF_ARG(std::size_t, hidden_size) = 32;   // per-head association dimension
  HF_ARG(double, scaling) = 0.0;           // beta; 0 = hflayers' default 1/sqrt(hidden_size)
  HF_ARG(double, pool_dropout) = 0.0;      // on the association matrix
  HF_ARG(std::uint64_t, seed) = 1;         // initialisation (in layer order) and the dropout streams
};

class MilNet : public Module {
 public:
  explicit MilNet(const MilNetOptions& options);
  // x (B, N, d), mask (B, N) Bool, true = padded slot -> logits (B).
  Tensor forward(const Tensor& x, const Tensor& mask);
  std::string name() const override { return "MilNet"; }
  const MilNetOptions& options() const { return options_; }

  std::shared_ptr<Sequential> embedding;
  std::shared_ptr<HopfieldPooling> pooling;
  std::shared_ptr<UnaryModule> act;
  std::shared_ptr<Linear> output;

 private:
  MilNetOptions options_;
};

}  // namespace hf
