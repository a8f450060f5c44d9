// Embedding (torch.nn.Embedding): a lookup table of num_embeddings vectors of size embedding_dim.
//
//   indices Int64 (any shape) -> (indices..., embedding_dim);  weight (num_embeddings, embedding_dim)
//
// weight starts as N(0, 1), like torch. The gradient scatters (adds) into the looked-up rows.
// With padding_idx (negative counts from the end), that row starts at zero and never receives a
// gradient, so it stays whatever it was set to (torch's semantics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/module.h"

namespace hf {

struct EmbeddingOptions {
  EmbeddingOptions(std::size_t num_embeddings, std::size_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  HF_ARG(std::size_t, num_embeddings);
  HF_ARG(std::size_t, embedding_dim);
  HF_ARG(std::optional<std::int64_t>, padding_idx);
};

class Embedding : public UnaryModule {
 public:
  // Parameters drawn from gen (reset_parameters(gen)); init::deferred: zeros, the owner draws them.
  explicit Embedding(const EmbeddingOptions& options, Generator& gen = default_generator());
  Embedding(const EmbeddingOptions& options, init::Deferred);

  Tensor forward(const Tensor& indices) override;
  void reset_parameters(Generator& gen = default_generator());  // weight ~ N(0, 1), padding row 0

  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  const EmbeddingOptions& options() const { return options_; }

  Tensor weight;  // (num_embeddings, embedding_dim)

 private:
  EmbeddingOptions options_;
  std::optional<std::size_t> padding_row_;  // padding_idx made non-negative
};

}  // namespace hf
