// Batching variable-size bags into one padded tensor plus a padding mask, the input layout of
// HopfieldPooling: x (B, N, d) as stored patterns, mask (B, N) as stored_pattern_padding_mask
// (true = padding, i.e. "ignore this instance", as in torch's key_padding_mask).
//
// Legend: B bags in the batch, N = max instances over the batch, d features.
#pragma once

#include <cstddef>
#include <vector>

#include "hopfield/datasets/mil.h"
#include "hopfield/engine/tensor.h"

namespace hf {

struct BagBatch {
  Tensor x;       // (B, N, d) features, zeros on padded slots
  Tensor mask;    // (B, N) Bool, true = padded slot (not an instance)
  Tensor labels;  // (B,) bag labels 0/1 in the batch dtype
  std::vector<std::size_t> bags;   // B, dataset indices of the bags in batch order
  std::vector<std::size_t> sizes;  // B, n_b
};

// Packs the listed bags. If `standardizer` is given, every instance is transformed with it (fit it on the
// training bags only). `dtype` is Float32 or Float64. Throws hf::Error for an empty list or a bad index.
BagBatch make_bag_batch(const MilDataset& ds, const std::vector<std::size_t>& bags,
                        const Standardizer* standardizer = nullptr, Dtype dtype = Dtype::Float32);

}  // namespace hf
