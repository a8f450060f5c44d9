// Embedding module: the weight table plus the embedding (gather-rows) op.
#include "hopfield/layers/embedding.h"

#include <sstream>
#include <vector>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/init.h"

namespace hf {

Embedding::Embedding(const EmbeddingOptions& options, init::Deferred) : options_(options) {
  HF_CHECK(options_.num_embeddings() > 0 && options_.embedding_dim() > 0, "Embedding",
           "num_embeddings=" << options_.num_embeddings() << " and embedding_dim=" << options_.embedding_dim()
                             << " must be positive");
  if (const auto& pad = options_.padding_idx()) {
    const auto n = static_cast<std::int64_t>(options_.num_embeddings());
    HF_CHECK(*pad >= -n && *pad < n, "Embedding",
             "padding_idx=" << *pad << " must be within num_embeddings=" << n << " (negative counts from the end)");
    padding_row_ = static_cast<std::size_t>(*pad < 0 ? *pad + n : *pad);
  }
  weight = register_parameter("weight", zeros({options_.num_embeddings(), options_.embedding_dim()}));
}

Embedding::Embedding(const EmbeddingOptions& options, Generator& gen) : Embedding(options, init::deferred) {
  reset_parameters(gen);
}

void Embedding::reset_parameters(Generator& gen) {
  init::normal_(weight, 0.0, 1.0, gen);
  if (padding_row_) {
    detail::dispatch_float(weight.dtype(), "Embedding", [&](auto tag) {
      using T = decltype(tag);
      T* p = detail::ptr<T>(weight) + *padding_row_ * options_.embedding_dim();
      for (std::size_t k = 0; k < options_.embedding_dim(); ++k) p[k] = T(0);
    });
  }
}

Tensor Embedding::forward(const Tensor& indices) {
  HF_CHECK(indices.defined() && indices.dtype() == Dtype::Int64, "Embedding",
           "indices must be an Int64 tensor, got "
               << (indices.defined() ? std::string(dtype_name(indices.dtype())) + " " + shape_str(indices.shape())
                                     : std::string("an undefined tensor")));
  if (!padding_row_) return embedding(weight, indices);
  // Positions holding padding_idx read the row through a detached weight: same value, no gradient.
  const std::int64_t* idx = indices.data<std::int64_t>();
  const auto pad = static_cast<std::int64_t>(*padding_row_);
  std::vector<bool> is_pad(indices.numel());
  bool any = false;
  for (std::size_t i = 0; i < is_pad.size(); ++i) any |= (is_pad[i] = idx[i] == pad);
  if (!any) return embedding(weight, indices);
  Shape mask_shape = indices.shape();
  mask_shape.push_back(1);
  return where(from_mask(is_pad, mask_shape), embedding(weight.detach(), indices), embedding(weight, indices));
}

std::string Embedding::extra_repr() const {
  std::ostringstream os;
  os << options_.num_embeddings() << ", " << options_.embedding_dim();
  if (options_.padding_idx()) os << ", padding_idx=" << *options_.padding_idx();
  return os.str();
}

}  // namespace hf
