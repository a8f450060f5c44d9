// Padded bag batches with a padding mask.
#include "hopfield/datasets/bag_batch.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "hopfield/engine/check.h"

namespace hf {

BagBatch make_bag_batch(const MilDataset& ds, const std::vector<std::size_t>& bags, const Standardizer* standardizer,
                        Dtype dtype) {
  HF_CHECK(!bags.empty(), "make_bag_batch", "no bags given");
  HF_CHECK(dtype == Dtype::Float32 || dtype == Dtype::Float64, "make_bag_batch",
           "dtype must be float32 or float64, got " << dtype_name(dtype));
  const std::size_t d = ds.num_features;
  HF_CHECK(!standardizer || standardizer->size() == d, "make_bag_batch",
           "standardizer has " << standardizer->size() << " features, the data " << d);
  BagBatch out;
  out.bags = bags;
  std::size_t n_max = 0;
  for (std::size_t b : bags) {
    HF_CHECK(b < ds.num_bags(), "make_bag_batch", "bag " << b << " out of range for " << ds.num_bags() << " bags");
    out.sizes.push_back(ds.bag_size(b));
    n_max = std::max(n_max, ds.bag_size(b));
  }
  const std::size_t B = bags.size();
  std::vector<double> x(B * n_max * d, 0.0);  // (B, N, d)
  std::vector<bool> mask(B * n_max, true);    // (B, N)
  std::vector<double> labels(B);
  std::vector<double> row(d);
  for (std::size_t i = 0; i < B; ++i) {
    const std::size_t b = bags[i];
    labels[i] = static_cast<double>(ds.bag_labels[b]);
    for (std::size_t k = 0; k < out.sizes[i]; ++k) {
      const double* src = ds.instance(ds.bag_offsets[b] + k);
      std::copy(src, src + d, row.begin());
      if (standardizer) standardizer->apply(row.data());
      std::copy(row.begin(), row.end(), x.begin() + static_cast<std::ptrdiff_t>((i * n_max + k) * d));
      mask[i * n_max + k] = false;
    }
  }
  out.x = from_vector(x, {B, n_max, d}, dtype);
  out.mask = from_mask(mask, {B, n_max});
  out.labels = from_vector(labels, {B}, dtype);
  return out;
}

}  // namespace hf
