// Transformer layers with Hopfield association as the attention (hflayers/transformer.py), drop-in
// replacements of torch.nn.TransformerEncoderLayer / TransformerDecoderLayer (post-norm):
//
//   encoder: x = norm_residual(x + drop(hopfield_association(x)))
//            y = norm_output(x + drop(linear_output(drop(act(linear_residual(x))))))
//   decoder: t = norm_residual_self(t + drop(hopfield_association_self(t)))
//            t = norm_residual_cross(t + drop(hopfield_association_cross(stored=memory, state=t, proj=memory)))
//            y = norm_output(t + drop(linear_output(drop(act(linear_residual(t))))))
//
// x, t (N, L, D), memory (N, S, D); the Hopfield modules must map D features to D (output_size = D).
// Child names follow hflayers (hopfield_association, linear_residual, linear_output, norm_residual, ...).
#pragma once

#include <memory>
#include <string>

#include "hopfield/engine/random.h"
#include "hopfield/layers/hopfield.h"

namespace hf {

struct HopfieldEncoderLayerOptions {
  explicit HopfieldEncoderLayerOptions(const HopfieldOptions& hopfield_association)
      : hopfield_association_(hopfield_association) {}
  HF_ARG(HopfieldOptions, hopfield_association);
  HF_ARG(std::size_t, dim_feedforward) = 2048;
  HF_ARG(double, dropout) = 0.1;
  HF_ARG(std::string, activation) = "relu";  // relu, gelu, tanh, sigmoid, selu
};

struct HopfieldDecoderLayerOptions {
  HopfieldDecoderLayerOptions(const HopfieldOptions& hopfield_association_self,
                              const HopfieldOptions& hopfield_association_cross)
      : hopfield_association_self_(hopfield_association_self), hopfield_association_cross_(hopfield_association_cross) {}
  HF_ARG(HopfieldOptions, hopfield_association_self);
  HF_ARG(HopfieldOptions, hopfield_association_cross);
  HF_ARG(std::size_t, dim_feedforward) = 2048;
  HF_ARG(double, dropout) = 0.1;
  HF_ARG(std::string, activation) = "relu";
};

class HopfieldEncoderLayer : public UnaryModule {
 public:
  // Parameters drawn from gen, child by child in construction order.
  explicit HopfieldEncoderLayer(const HopfieldEncoderLayerOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& src) override;
  // src_mask: association mask; src_key_padding_mask: stored-pattern padding mask (N, L).
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask);
  std::string name() const override { return "HopfieldEncoderLayer"; }

  std::shared_ptr<Hopfield> hopfield_association;
  std::shared_ptr<Linear> linear_residual, linear_output;
  std::shared_ptr<LayerNorm> norm_residual, norm_output;

 private:
  HopfieldEncoderLayerOptions options_;
  Generator gen_;  // residual/feed-forward dropout, seeded from default_generator() when dropout > 0
};

class HopfieldDecoderLayer : public Module {
 public:
  // Parameters drawn from gen, child by child in construction order.
  explicit HopfieldDecoderLayer(const HopfieldDecoderLayerOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                 const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                 const Tensor& memory_key_padding_mask = Tensor());
  std::string name() const override { return "HopfieldDecoderLayer"; }

  std::shared_ptr<Hopfield> hopfield_association_self, hopfield_association_cross;
  std::shared_ptr<Linear> linear_residual, linear_output;
  std::shared_ptr<LayerNorm> norm_residual_self, norm_residual_cross, norm_output;

 private:
  HopfieldDecoderLayerOptions options_;
  Generator gen_;  // residual/feed-forward dropout, seeded from default_generator() when dropout > 0
};

}  // namespace hf
