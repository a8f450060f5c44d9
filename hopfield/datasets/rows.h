// Selecting rows: of a row-major feature matrix into a tensor, of a label vector, of an index list. What a
// program does to turn the row indices of a split or a batch into model input.
//
//   Tensor x = gather_rows(features, d, batch);            // (rows, d) float32
//   Tensor y = gather_label_tensor(ds.labels, batch);      // (rows) int64
//   std::vector<std::size_t> val = take(train, parts[m].test);  // positions into train -> dataset indices
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

// Rows `rows` of x (n, cols) row-major as a (rows.size(), cols) tensor of dtype (Float32 or Float64).
Tensor gather_rows(const std::vector<double>& x, std::size_t cols, const std::vector<std::size_t>& rows,
                   Dtype dtype = Dtype::Float32);
// labels[rows[i]] for every i, as a vector and as an Int64 tensor.
std::vector<std::int64_t> gather(const std::vector<std::int64_t>& labels, const std::vector<std::size_t>& rows);
Tensor gather_label_tensor(const std::vector<std::int64_t>& labels, const std::vector<std::size_t>& rows);
// from[positions[i]] for every i.
std::vector<std::size_t> take(const std::vector<std::size_t>& from, const std::vector<std::size_t>& positions);

}  // namespace hf
