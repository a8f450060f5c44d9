// Embedding module: the weight table plus the embedding (gather-rows) op.
#include "layers/embedding.h"

#include <sstream>

#include "engine/check.h"
#include "engine/ops.h"
#include "layers/init.h"

namespace hf {

Embedding::Embedding(const EmbeddingOptions& options) : options_(options) {
  HF_CHECK(options_.num_embeddings() > 0 && options_.embedding_dim() > 0, "Embedding",
           "num_embeddings=" << options_.num_embeddings() << " and embedding_dim=" << options_.embedding_dim()
                             << " must be positive");
  weight = register_parameter("weight", empty({options_.num_embeddings(), options_.embedding_dim()}));
  reset_parameters();
}

void Embedding::reset_parameters(Generator& gen) { init::normal_(weight, 0.0, 1.0, gen); }

Tensor Embedding::forward(const Tensor& indices) {
  HF_CHECK(indices.defined() && indices.dtype() == Dtype::Int64, "Embedding",
           "indices must be an Int64 tensor, got "
               << (indices.defined() ? std::string(dtype_name(indices.dtype())) + " " + shape_str(indices.shape())
                                     : std::string("an undefined tensor")));
  return embedding(weight, indices);
}

std::string Embedding::extra_repr() const {
  std::ostringstream os;
  os << options_.num_embeddings() << ", " << options_.embedding_dim();
  return os.str();
}

}  // namespace hf
