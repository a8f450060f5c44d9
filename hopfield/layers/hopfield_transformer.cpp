// Hopfield transformer layers (see hopfield_transformer.h). N batch, L target length, S memory length,
// D model size, F = dim_feedforward.
#include "hopfield/layers/hopfield_transformer.h"

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

namespace hf {

namespace {

void check_common(const Hopfield& h, double dropout, const std::string& activation, const char* op) {
  HF_CHECK(h.output_dim() == h.options().input_size(), op,
           "the Hopfield association must map input_size=" << h.options().input_size() << " features to the same size, got "
                                                           << h.output_dim() << " (set output_size)");
  HF_CHECK(dropout >= 0 && dropout < 1, op, "dropout=" << dropout << " must be in [0, 1)");
  HF_CHECK(activation == "relu" || activation == "gelu" || activation == "tanh" || activation == "sigmoid" ||
               activation == "selu",
           op, "activation='" << activation << "' is unknown (relu, gelu, tanh, sigmoid, selu)");
}

Tensor act(const Tensor& x, const std::string& a) {
  if (a == "relu") return relu(x);
  if (a == "gelu") return gelu(x);
  if (a == "tanh") return tanh(x);
  if (a == "sigmoid") return sigmoid(x);
  return selu(x);
}

}  // namespace

HopfieldEncoderLayer::HopfieldEncoderLayer(const HopfieldEncoderLayerOptions& o, Generator& gen) : options_(o) {
  hopfield_association = register_module("hopfield_association", std::make_shared<Hopfield>(o.hopfield_association(), gen));
  check_common(*hopfield_association, o.dropout(), o.activation(), "HopfieldEncoderLayer");
  const std::size_t d = o.hopfield_association().input_size();
  HF_CHECK(o.dim_feedforward() > 0, "HopfieldEncoderLayer", "dim_feedforward must be positive");
  linear_residual = register_module("linear_residual", std::make_shared<Linear>(LinearOptions(d, o.dim_feedforward()), gen));
  linear_output = register_module("linear_output", std::make_shared<Linear>(LinearOptions(o.dim_feedforward(), d), gen));
  norm_residual = register_module("norm_residual", std::make_shared<LayerNorm>(LayerNormOptions(d)));
  norm_output = register_module("norm_output", std::make_shared<LayerNorm>(LayerNormOptions(d)));
  if (o.dropout() > 0) gen_.seed(default_generator().next_u64());  // as Dropout: manual_seed() fixes the masks
}

Tensor HopfieldEncoderLayer::forward(const Tensor& src) { return forward(src, Tensor(), Tensor()); }

Tensor HopfieldEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask) {
  const double p = options_.dropout();
  const bool train = is_training();
  Tensor a = hopfield_association->forward(src, src, src, src_key_padding_mask, src_mask);  // (N, L, D)
  Tensor x = norm_residual->forward(add(src, dropout(a, p, train, gen_)));
  Tensor inner = act(linear_residual->forward(x), options_.activation());  // (N, L, F)
  Tensor y = linear_output->forward(dropout(inner, p, train, gen_));
  return norm_output->forward(add(x, dropout(y, p, train, gen_)));
}

HopfieldDecoderLayer::HopfieldDecoderLayer(const HopfieldDecoderLayerOptions& o, Generator& gen) : options_(o) {
  hopfield_association_self =
      register_module("hopfield_association_self", std::make_shared<Hopfield>(o.hopfield_association_self(), gen));
  hopfield_association_cross =
      register_module("hopfield_association_cross", std::make_shared<Hopfield>(o.hopfield_association_cross(), gen));
  check_common(*hopfield_association_self, o.dropout(), o.activation(), "HopfieldDecoderLayer");
  check_common(*hopfield_association_cross, o.dropout(), o.activation(), "HopfieldDecoderLayer");
  const std::size_t d = o.hopfield_association_self().input_size();
  HF_CHECK(o.hopfield_association_cross().input_size() == d && o.dim_feedforward() > 0, "HopfieldDecoderLayer",
           "the cross association needs input_size=" << d << " (got " << o.hopfield_association_cross().input_size()
                                                     << ") and dim_feedforward must be positive");
  linear_residual = register_module("linear_residual", std::make_shared<Linear>(LinearOptions(d, o.dim_feedforward()), gen));
  linear_output = register_module("linear_output", std::make_shared<Linear>(LinearOptions(o.dim_feedforward(), d), gen));
  norm_residual_self = register_module("norm_residual_self", std::make_shared<LayerNorm>(LayerNormOptions(d)));
  norm_residual_cross = register_module("norm_residual_cross", std::make_shared<LayerNorm>(LayerNormOptions(d)));
  norm_output = register_module("norm_output", std::make_shared<LayerNorm>(LayerNormOptions(d)));
  if (o.dropout() > 0) gen_.seed(default_generator().next_u64());  // as Dropout: manual_seed() fixes the masks
}

Tensor HopfieldDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                     const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                     const Tensor& memory_key_padding_mask) {
  const double p = options_.dropout();
  const bool train = is_training();
  Tensor a = hopfield_association_self->forward(tgt, tgt, tgt, tgt_key_padding_mask, tgt_mask);  // (N, L, D)
  Tensor t = norm_residual_self->forward(add(tgt, dropout(a, p, train, gen_)));
  Tensor c = hopfield_association_cross->forward(memory, t, memory, memory_key_padding_mask, memory_mask);
  t = norm_residual_cross->forward(add(t, dropout(c, p, train, gen_)));
  Tensor inner = act(linear_residual->forward(t), options_.activation());  // (N, L, F)
  Tensor y = linear_output->forward(dropout(inner, p, train, gen_));
  return norm_output->forward(add(t, dropout(y, p, train, gen_)));
}

}  // namespace hf
