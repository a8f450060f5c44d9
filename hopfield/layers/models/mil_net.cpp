// The MIL pooling network (see layers/models/mil_net.h).
#include "hopfield/layers/models/mil_net.h"

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/activation.h"
#include "hopfield/layers/dropout.h"

namespace hf {

MilNet::MilNet(const MilNetOptions& o) : options_(o) {
  HF_CHECK(o.num_features() > 0 && o.width() > 0 && o.depth() > 0, "MilNet",
           "num_features=" << o.num_features() << ", width=" << o.width() << ", depth=" << o.depth()
                           << " must be positive");
  HF_CHECK(o.num_heads() > 0 && o.hidden_size() > 0, "MilNet", "num_heads and hidden_size must be positive");
  // One generator, drawn in layer order: the same seed gives the same network.
  Generator gen(o.seed());
  embedding = register_module("embedding", std::make_shared<Sequential>());
  std::size_t in = o.num_features();
  for (std::size_t l = 0; l < o.depth(); ++l) {
    embedding->push_back(std::make_shared<Linear>(LinearOptions(in, o.width()), gen));
    embedding->push_back(make_activation(o.activation()));
    if (o.dropout() > 0) embedding->push_back(std::make_shared<Dropout>(DropoutOptions(o.dropout()).seed(gen.next_u64())));
    in = o.width();
  }
  HopfieldOptions ho(in);
  ho.num_heads(o.num_heads()).hidden_size(o.hidden_size()).dropout(o.pool_dropout());
  if (o.scaling() > 0) ho.scaling(o.scaling());
  pooling = register_module("pooling", std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(ho), gen));
  act = make_activation(o.activation());
  output = register_module("output", std::make_shared<Linear>(LinearOptions(in, 1), gen));
}

Tensor MilNet::forward(const Tensor& x, const Tensor& mask) {
  Tensor h = embedding->forward(x);                   // (B, N, w)
  Tensor pooled = pooling->forward(h, mask);          // (B, w)
  Tensor z = output->forward(act->forward(pooled));  // (B, 1)
  return flatten(z);
}

}  // namespace hf
