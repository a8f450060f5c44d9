// Row selection (see datasets/rows.h).
#include "hopfield/datasets/rows.h"

#include <type_traits>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

namespace hf {

Tensor gather_rows(const std::vector<double>& x, std::size_t cols, const std::vector<std::size_t>& rows, Dtype dtype) {
  HF_CHECK(dtype == Dtype::Float32 || dtype == Dtype::Float64, "gather_rows", "dtype must be float32 or float64");
  const std::size_t n = cols > 0 ? x.size() / cols : 0;
  for (std::size_t r : rows) HF_CHECK(r < n, "gather_rows", "row " << r << " out of range for " << n << " rows");
  Tensor t = empty({rows.size(), cols}, dtype);
  const auto fill = [&](auto* out) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (std::size_t j = 0; j < cols; ++j)
        out[i * cols + j] = static_cast<std::remove_pointer_t<decltype(out)>>(x[rows[i] * cols + j]);
  };
  if (dtype == Dtype::Float64) fill(t.data<double>());
  else fill(t.data<float>());
  return t;
}

std::vector<std::int64_t> gather(const std::vector<std::int64_t>& labels, const std::vector<std::size_t>& rows) {
  std::vector<std::int64_t> y;
  y.reserve(rows.size());
  for (std::size_t r : rows) y.push_back(labels.at(r));
  return y;
}

Tensor gather_label_tensor(const std::vector<std::int64_t>& labels, const std::vector<std::size_t>& rows) {
  const std::vector<std::int64_t> y = gather(labels, rows);
  return from_indices(y, {y.size()});
}

std::vector<std::size_t> take(const std::vector<std::size_t>& from, const std::vector<std::size_t>& positions) {
  std::vector<std::size_t> out;
  out.reserve(positions.size());
  for (std::size_t p : positions) out.push_back(from.at(p));
  return out;
}

}  // namespace hf
