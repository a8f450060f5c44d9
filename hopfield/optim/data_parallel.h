// Data parallelism over the ranks of an MPI job (optim/distributed.h), as PyTorch's DistributedDataParallel
// and Horovod do it: every rank holds the whole model, computes the gradient of its shard of each global
// batch, the gradients are averaged over the ranks (weighted by the shards' sizes), and every rank takes
// the same optimizer step, so the replicas stay bit-identical and the run follows the single-process run
// with the same global batch (up to the order of floating-point sums).
//
//   hf::distributed::ProcessGroup group(&argc, &argv);
//   MilNet net(...);                              // same seed on every rank
//   DataParallel dp(net);                         // rank 0's parameters and buffers on every rank
//   AdamW opt(net, ...);
//   Trainer trainer(net, opt, TrainerOptions().checkpoint(path).write_checkpoint(dp.rank() == 0));
//   trainer.grad_hook(dp.hook());
//   trainer.fit(loader, dp.loss([&](const BagBatch& b, const StepInfo&) {
//     const BagBatch mine = slice(b, dp.shard_range(b.size()));     // this rank's rows of the global batch
//     return BatchLoss{mean_loss(net, mine), double(mine.size())};  // mean over the shard, weight = its rows
//   }), validate);
//
// The loss of a shard is a mean over its rows with weight = its row count; the hook sets every gradient to
// sum_r w_r g_r / sum_r w_r, the gradient of the mean over the global batch, so uneven shards (7 rows on 2
// ranks: 4 + 3) are weighted right. A shard may be empty (weight 0, loss undefined or any value): it
// contributes nothing. A parameter without a gradient on every rank keeps none (the optimizer skips it, as
// in one process). With gradient accumulation (TrainerOptions::accumulate k > 1) a step's weight is the sum of
// its micro-batches' weights: exact when every micro-batch is split in the same proportions.
//
// What is not shared: a loss that draws random numbers (dropout) draws them per rank, so a run with dropout
// is a valid data-parallel run but not the single-process run's twin. Validation runs on every rank (on the
// same parameters, so the early-stopping decisions agree); the Trainer's train_loss is the rank's own shards'.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/optim/trainer.h"

namespace hf {

class Module;

struct DataParallelOptions {
  DataParallelOptions() = default;
  HF_ARG(std::size_t, bucket_elements) = std::size_t{1} << 22;  // values per all-reduce (DDP's bucket_cap_mb)
  HF_ARG(bool, broadcast_parameters) = true;  // at construction: rank 0's parameters and buffers everywhere
  // float32 gradients are summed over the ranks in float64 (twice the bytes; the reduction adds no rounding of
  // its own), false: in float32, as DDP does.
  HF_ARG(bool, float64_sums) = true;
  // true: the weighted mean above. false: the plain sum of the ranks' gradients, for losses that are already
  // each rank's part of the global loss (a micro-batch's loss divided by the global batch's size, say); the
  // weights are then ignored, and loss() need not wrap the loss function.
  HF_ARG(bool, average) = true;
};

class DataParallel {
 public:
  explicit DataParallel(Module& model, DataParallelOptions options = {});

  int rank() const { return rank_; }
  int world_size() const { return world_; }

  // This rank's rows [begin, end) of a global batch of n rows: contiguous blocks in rank order, the first
  // n % world ranks one row more.
  std::pair<std::size_t, std::size_t> shard_range(std::size_t n) const;
  template <class T>
  std::vector<T> shard(const std::vector<T>& global) const {
    const auto [b, e] = shard_range(global.size());
    return std::vector<T>(global.begin() + static_cast<std::ptrdiff_t>(b), global.begin() + static_cast<std::ptrdiff_t>(e));
  }

  // Wraps the shard's loss function: records the weights the hook needs (and stands in a zero loss for an
  // empty shard).
  template <class Batch>
  std::function<BatchLoss(const Batch&, const StepInfo&)> loss(std::function<BatchLoss(const Batch&, const StepInfo&)> f) {
    return [this, f = std::move(f)](const Batch& b, const StepInfo& at) { return record(f(b, at)); };
  }
  Trainer::LossFn loss(Trainer::LossFn f) {
    return [this, f = std::move(f)](std::size_t i, const StepInfo& at) { return record(f(i, at)); };
  }
  // The gradient all-reduce for Trainer::grad_hook.
  Trainer::GradHook hook() {
    return [this](Module& m) { reduce_gradients(m); };
  }
  // Replaces the gradients of `model` (this rank's, of the shards since the last call) by the weighted mean
  // over the ranks, then forgets the weights.
  void reduce_gradients(Module& model);

 private:
  BatchLoss record(BatchLoss bl);
  DataParallelOptions o_;
  int rank_ = 0, world_ = 1;
  double weight_ = 0;  // of the shards since the last reduce
};

}  // namespace hf
