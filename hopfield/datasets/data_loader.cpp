// Seeded mini-batch orders (see datasets/data_loader.h).
#include "hopfield/datasets/data_loader.h"

#include <algorithm>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/engine/check.h"

namespace hf {

BatchSampler::BatchSampler(std::vector<std::size_t> indices, DataLoaderOptions options)
    : indices_(std::move(indices)), o_(std::move(options)) {
  HF_CHECK(!indices_.empty(), "DataLoader", "no samples given");
  HF_CHECK(o_.batch_size() >= 1, "DataLoader", "batch_size must be >= 1, got " << o_.batch_size());
  HF_CHECK(o_.bucket_window() >= 1, "DataLoader", "bucket_window must be >= 1, got " << o_.bucket_window());
  for (std::size_t i : indices_)
    HF_CHECK(o_.bucket_by().empty() || i < o_.bucket_by().size(), "DataLoader",
             "sample " << i << " has no size in bucket_by (" << o_.bucket_by().size() << " sizes)");
  HF_CHECK(!o_.drop_last() || std::max(indices_.size(), o_.min_epoch_size()) >= o_.batch_size(), "DataLoader",
           "drop_last with batch_size " << o_.batch_size() << " leaves no batch of " << indices_.size() << " samples");
}

std::vector<std::vector<std::size_t>> BatchSampler::epoch_batches(std::uint64_t epoch) const {
  std::vector<std::size_t> order;
  if (o_.min_epoch_size() == 0) {
    order = o_.shuffle() ? shuffled(indices_, o_.seed(), epoch) : indices_;
  } else {
    for (std::uint64_t pass = 0; order.empty() || order.size() < o_.min_epoch_size(); ++pass) {
      const std::vector<std::size_t> o = o_.shuffle() ? shuffled(indices_, o_.seed(), epoch * 1000003 + pass) : indices_;
      order.insert(order.end(), o.begin(), o.end());
    }
  }
  if (o_.bucket_by().empty()) return make_batches(order, o_.batch_size(), o_.drop_last());
  const std::vector<std::size_t>& size = o_.bucket_by();
  const std::size_t window = o_.bucket_window() * o_.batch_size();
  for (std::size_t s = 0; s < order.size(); s += window) {
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + window));
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(s), end,
                     [&](std::size_t a, std::size_t b) { return size[a] < size[b]; });
  }
  std::vector<std::vector<std::size_t>> batches = make_batches(order, o_.batch_size(), o_.drop_last());
  if (!o_.shuffle()) return batches;
  const std::vector<std::size_t> perm = shuffled(iota_indices(batches.size()), o_.seed() ^ 0x5bd1e995ULL, epoch);
  std::vector<std::vector<std::size_t>> out;
  out.reserve(batches.size());
  for (std::size_t i : perm) out.push_back(std::move(batches[i]));
  return out;
}

std::vector<std::size_t> bag_sizes(const MilDataset& ds) {
  std::vector<std::size_t> s(ds.num_bags());
  for (std::size_t b = 0; b < s.size(); ++b) s[b] = ds.bag_size(b);
  return s;
}

}  // namespace hf
