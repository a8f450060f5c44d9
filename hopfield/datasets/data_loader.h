// Seeded mini-batches over a dataset's samples, and a collate step that turns a batch's indices into tensors.
//
//   BagBatchCollate collate(ds, &standardizer);                     // pads bags, builds their masks
//   DataLoader<BagBatch> loader(train_bags, collate, DataLoaderOptions(8).seed(1));
//   for (std::size_t i = 0, n = loader.begin_epoch(1); i < n; ++i) { BagBatch b = loader.batch(i); ... }
//
// The order of epoch e is a pure function of (seed, e): the same seed gives the same batches whatever ran
// before (a resumed run sees the batches the uninterrupted one saw). Epoch numbers are the caller's
// (the Trainer counts from 1).
//   shuffle           samples permuted by shuffled(indices, seed, key) (datasets/cv_split.h), key = e;
//                     otherwise kept in the given order
//   min_epoch_size    an epoch repeats passes over the samples until it holds at least this many (tiny training
//                     sets get enough steps per validation check); pass p of epoch e is then shuffled with
//                     key e * 1000003 + p
//   bucket_by         sizes of the samples (bags): the shuffled order is cut into windows of `bucket_window`
//                     batches, sorted by size inside a window (stable), batched, and the batches are shuffled
//                     again (key e, seed ^ 0x5bd1e995): a bag of 1000 instances is not padded with bags of 2
//   drop_last         drop the last, shorter batch of the epoch
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/engine/arg.h"

namespace hf {

struct DataLoaderOptions {
  DataLoaderOptions(std::size_t batch_size = 1) : batch_size_(batch_size) {}  // NOLINT
  HF_ARG(std::size_t, batch_size);
  HF_ARG(bool, shuffle) = true;
  HF_ARG(bool, drop_last) = false;
  HF_ARG(std::uint64_t, seed) = 0;
  HF_ARG(std::size_t, min_epoch_size) = 0;
  HF_ARG(std::vector<std::size_t>, bucket_by);  // one size per dataset sample index (empty = no bucketing)
  HF_ARG(std::size_t, bucket_window) = 8;
};

// The index side of a loader: which samples form the batches of an epoch.
class BatchSampler {
 public:
  BatchSampler(std::vector<std::size_t> indices, DataLoaderOptions options);
  // The batches of epoch `epoch` (sample indices, in batch order).
  std::vector<std::vector<std::size_t>> epoch_batches(std::uint64_t epoch) const;
  const std::vector<std::size_t>& indices() const { return indices_; }
  const DataLoaderOptions& options() const { return o_; }

 private:
  std::vector<std::size_t> indices_;
  DataLoaderOptions o_;
};

// Batches of any type: collate(indices) builds one from the sample indices of a batch.
template <class Batch>
class DataLoader {
 public:
  using Collate = std::function<Batch(const std::vector<std::size_t>&)>;
  DataLoader(std::vector<std::size_t> indices, Collate collate, DataLoaderOptions options = {})
      : sampler_(std::move(indices), std::move(options)), collate_(std::move(collate)) {}
  // Fixes the batches of `epoch` and returns how many there are.
  std::size_t begin_epoch(std::uint64_t epoch) {
    batches_ = sampler_.epoch_batches(epoch);
    return batches_.size();
  }
  std::size_t num_batches() const { return batches_.size(); }
  const std::vector<std::size_t>& batch_indices(std::size_t i) const { return batches_.at(i); }
  Batch batch(std::size_t i) const { return collate_(batches_.at(i)); }
  Batch collate(const std::vector<std::size_t>& indices) const { return collate_(indices); }
  const BatchSampler& sampler() const { return sampler_; }

 private:
  BatchSampler sampler_;
  Collate collate_;
  std::vector<std::vector<std::size_t>> batches_;
};

// The collate step for bags: pads the batch's bags to its largest one, builds the padding mask (true =
// padded slot) and standardises every instance (make_bag_batch). Keeps references: ds and standardizer must
// outlive it.
struct BagBatchCollate {
  explicit BagBatchCollate(const MilDataset& ds, const Standardizer* standardizer = nullptr, Dtype dtype = Dtype::Float32)
      : ds_(&ds), st_(standardizer), dtype_(dtype) {}
  BagBatch operator()(const std::vector<std::size_t>& bags) const { return make_bag_batch(*ds_, bags, st_, dtype_); }

 private:
  const MilDataset* ds_;
  const Standardizer* st_;
  Dtype dtype_;
};

// Bag sizes of a MIL dataset, for DataLoaderOptions::bucket_by.
std::vector<std::size_t> bag_sizes(const MilDataset& ds);

}  // namespace hf
