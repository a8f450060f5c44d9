// The training loop of the library: epochs (or a step budget) of mini-batches, zero_grad or gradient
// accumulation, the non-finite guard, gradient clipping, an lr schedule, early stopping on a validation score
// with restore of the best parameters, a per-epoch metrics CSV, a progress display, periodic atomic
// checkpoints and resume, and a gradient hook (where a data-parallel all-reduce goes).
//
//   DataLoader<BagBatch> loader(train_bags, BagBatchCollate(ds, &st), DataLoaderOptions(8).seed(seed));
//   AdamW opt(net, AdamWOptions(1e-3));
//   ExponentialLR sched(opt, 0.98);
//   Trainer trainer(net, opt, TrainerOptions().epochs(100).patience(20).clip_grad_norm(1.0));
//   trainer.scheduler(&sched);
//   TrainResult r = trainer.fit(loader,
//       [&](const BagBatch& b, const StepInfo&) {
//         return BatchLoss{binary_cross_entropy_with_logits(net.forward(b.x, b.mask), b.labels)}; },
//       [&](std::int64_t epoch) { double auc = ...; return EpochMetrics{auc, {{"val_auc", auc}}}; });
//   // net now holds the parameters of the best epoch (r.best_epoch)
//
// One epoch: for every batch of loader.begin_epoch(epoch): loss = loss_fn(batch); check_finite(loss); every
// `accumulate` micro-batches form one optimizer step: zero_grad, backward of each micro-batch's loss / k,
// gradient hook, clip, optimizer step (a group cut short by the end of the epoch steps with the micro-batches it
// has, still divided by k; k equal micro-batches of a mean loss give the gradient of one batch k times larger,
// up to rounding; scale_accumulated(false) leaves the division to the loss function, zero_grad(false) never zeroes
// the gradients). Then lr recorded, scheduler stepped, validate(epoch) called; its
// score feeds early stopping (higher is better with mode "max") and ReduceLROnPlateau. The step budget
// (max_steps) ends the epoch it runs out in; that epoch is still validated.
//
// Checkpoints: with checkpoint(path), every `checkpoint_every` epochs the model, optimizer, scheduler, an
// optional generator (generator(&gen): dropout streams that belong to the run) and the trainer's own state
// (epoch, step, early-stopping state, history) are written atomically (temp file + rename). With resume(true)
// an existing checkpoint is loaded first and training continues after its epoch: since the batch order of an
// epoch is a function of (seed, epoch), the final parameters equal an uninterrupted run's bit for bit.
//
// Data parallelism over MPI ranks (optim/data_parallel.h): grad_hook(dp.hook()) all-reduces the gradients
// before clipping and the step; write_checkpoint(rank == 0) keeps one writer of the shared checkpoint. Every
// optimizer step first passes distributed::fault_point(step) (HOPFIELD_FAULT_RANK / HOPFIELD_FAULT_STEP, tests).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "hopfield/datasets/data_loader.h"
#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/engine/tensor.h"

namespace hf {

class Module;
class Optimizer;
class Scheduler;

struct TrainerOptions {
  TrainerOptions() = default;
  HF_ARG(std::int64_t, epochs) = 1;           // at most this many epochs
  HF_ARG(std::int64_t, max_steps) = 0;        // optimizer-step budget (0 = none)
  HF_ARG(std::int64_t, accumulate) = 1;       // micro-batches per optimizer step
  HF_ARG(bool, scale_accumulated) = true;     // divide each micro-batch's loss by `accumulate`; false: the loss
                                              // function scales it (e.g. by the size of a group cut short)
  HF_ARG(bool, zero_grad) = true;             // false: gradients are never zeroed and add up over all steps (the
                                              // first published hflayers notebooks' loop)
  HF_ARG(double, clip_grad_norm) = 0.0;       // max total L2 norm of the gradients (0 = off)
  HF_ARG(bool, check_finite) = true;          // NonFiniteError on a NaN/Inf loss
  HF_ARG(std::int64_t, patience) = 0;         // early stopping: epochs without improvement (0 = off)
  HF_ARG(double, min_delta) = 0.0;
  HF_ARG(std::string, mode) = "max";          // of the validation score: "max" or "min"
  HF_ARG(bool, restore_best) = true;          // load the best epoch's parameters at the end (needs patience)
  HF_ARG(std::string, metrics_csv);           // per-epoch CSV: epoch, train_loss, lr, score, validate's metrics
  HF_ARG(std::string, progress);              // label of a progress display over the epochs (empty = none)
  HF_ARG(std::string, checkpoint);            // checkpoint file (empty = none)
  HF_ARG(std::int64_t, checkpoint_every) = 1;  // epochs between checkpoints
  HF_ARG(bool, resume) = false;               // continue from `checkpoint` if the file exists
  // false: read `checkpoint` on resume but never write it. The ranks of a data-parallel run hold the same
  // state: rank 0 alone writes (write_checkpoint(rank == 0)), every rank resumes from its file.
  HF_ARG(bool, write_checkpoint) = true;
};

// What the loss function returns for one batch: the loss, and the batch's weight in the epoch's mean
// training loss (1 = every batch counts the same; the batch's row count = a mean over rows).
struct BatchLoss {
  Tensor loss;
  double weight = 1.0;
};

// Where the loop is, for loss functions that draw per step (a memory sample, a dropout stream).
struct StepInfo {
  std::int64_t epoch = 0;  // from 1
  std::int64_t step = 0;   // optimizer steps taken before this batch, from 0
  std::size_t batch = 0;   // index in the epoch
};

// What validation returns: the early-stopping score, and named values for the history and the CSV.
struct EpochMetrics {
  double score = 0.0;
  std::vector<std::pair<std::string, double>> values;
};

struct EpochRecord {
  std::int64_t epoch = 0;
  double train_loss = 0, lr = 0, score = 0;
  std::vector<double> values;  // in the order of EpochMetrics::values
};

struct TrainResult {
  std::vector<EpochRecord> history;
  std::vector<std::string> value_names;
  std::int64_t best_epoch = 0;  // 1-based; 0 without early stopping
  double best_score = 0;
  std::int64_t steps = 0;
  bool resumed = false;  // started from a checkpoint
  // A value of the best epoch (or of the last one without early stopping) by name.
  double value(const std::string& name) const;
};

class Trainer {
 public:
  using LossFn = std::function<BatchLoss(std::size_t batch_index, const StepInfo&)>;
  using ValidateFn = std::function<EpochMetrics(std::int64_t epoch)>;
  using GradHook = std::function<void(Module&)>;

  Trainer(Module& model, Optimizer& optimizer, TrainerOptions options = {});
  Trainer& scheduler(Scheduler* s);      // LRScheduler (stepped per epoch) or ReduceLROnPlateau (with the score)
  Trainer& grad_hook(GradHook hook);     // after backward, before clipping and the step
  Trainer& generator(Generator* gen);    // saved in and restored from checkpoints

  // Batches from a DataLoader; loss(batch, info).
  template <class Batch>
  TrainResult fit(DataLoader<Batch>& loader,
                  const std::type_identity_t<std::function<BatchLoss(const Batch&, const StepInfo&)>>& loss,
                  const ValidateFn& validate) {
    return fit_batches([&](std::int64_t epoch) { return loader.begin_epoch(static_cast<std::uint64_t>(epoch)); },
                       [&](std::size_t i, const StepInfo& info) { return loss(loader.batch(i), info); }, validate);
  }
  // The same for any batch source: begin_epoch(epoch) returns the epoch's batch count, loss(i, info) the loss
  // of batch i.
  TrainResult fit_batches(const std::function<std::size_t(std::int64_t)>& begin_epoch, const LossFn& loss,
                          const ValidateFn& validate);

  const TrainerOptions& options() const { return o_; }

 private:
  Module& model_;
  Optimizer& opt_;
  TrainerOptions o_;
  Scheduler* sched_ = nullptr;
  GradHook hook_;
  Generator* gen_ = nullptr;
};

}  // namespace hf
