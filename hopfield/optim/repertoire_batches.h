// DeepRC's training batches for a RepertoireNet (layers/models/repertoire_net.h), as a batch source of
// Trainer::fit_batches: one micro-batch per repertoire, `batch_size` of them per optimizer step.
//
//   RepertoireBatches src(net, ds, train, y, RepertoireBatchesOptions().seed(seed));
//   Trainer t(net, opt, TrainerOptions().epochs(20).accumulate(4).scale_accumulated(false).clip_grad_norm(1));
//   t.grad_hook(src.grad_hook());  // required: the step's gradient (below)
//   t.fit_batches([&](std::int64_t e) { return src.begin_epoch(e); },
//                 [&](std::size_t k, const StepInfo&) { return src.loss(k); },
//                 [&](std::int64_t) { return EpochMetrics{src.train_auc(), {}}; });
//
// Per epoch: the training repertoires in a seeded order, class-balanced by default (shuffled per class and
// interleaved positive, negative, ...: in unbalanced batches the gradient of the background sequences, shared by
// both classes, no longer cancels, and it is far larger than the gradient of the few motif sequences). Every
// repertoire contributes a random subsample of its sequences (`subsample`), all of them during the first
// `warmup_epochs` (so the attention can find the motif sequences before the reduction can drop them), afterwards
// only the `keep` fraction with the highest attention take the gradient step (RepertoireNet::forward_top). The
// loss is BCE with logits divided by the size of the repertoire's step group (a group cut short by the end of
// the epoch is still the mean over its repertoires: hence scale_accumulated(false)). The epoch's training loss
// (mean over the repertoires) and its training AUC are kept.
//
// Gradients: every repertoire's gradient is added into a float64 sum per parameter (the Trainer's backward
// leaves it in the parameters' .grad, and the next loss() or grad_hook() moves it over), and the step's
// gradient is that sum rounded to the parameters' dtype once. Adding a few float32 values in float64 is exact
// unless they span more than about 2^29, so the sum does not depend on the order or the grouping of the
// repertoires: the run is the same on any number of ranks, bit for bit (in practice; an exception needs two
// nonzero contributions to one element more than 2^29 apart whose sum lies on a float32 rounding boundary).
// Pass grad_hook() to the Trainer, with accumulate(batch_size) and scale_accumulated(false):
//   t.grad_hook(src.grad_hook());
// without it the next step group (or epoch) fails with an error naming it.
//
// Under mpirun / srun (distributed::get_world_size() > 1, option data_parallel): data-parallel over the
// repertoires of every step. Each rank computes the loss of its share of each step group and returns a zero
// loss for the others' repertoires, whose subsample draws it skips (skip_subsample, without reading them), so
// every rank's generator stays where the single process's is. The shares balance the sequences that go
// through the network (min(size, subsample) per repertoire: largest first, each to the least loaded rank), so
// the ranks reach the step's all-reduce together; for that every rank reads each training repertoire once, in
// the first epoch, for its size. Each loss already carries 1 / group, so grad_hook() sums the ranks' float64
// sums (one all-reduce per step) and every rank takes the same step. After the epoch's last repertoire the ranks
// exchange their losses and logits, so train_loss() and train_auc() are those of the whole epoch on every rank,
// as in one process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/models/repertoire_net.h"
#include "hopfield/optim/data_parallel.h"
#include "hopfield/optim/trainer.h"

namespace hf {

struct RepertoireBatchesOptions {
  HF_ARG(std::size_t, subsample) = 1000;   // sequences drawn per repertoire and epoch
  HF_ARG(double, keep) = 0.1;              // fraction of the subsample (by attention) that takes the gradient step
  HF_ARG(std::size_t, warmup_epochs) = 3;  // epochs on the whole subsample first
  HF_ARG(std::size_t, batch_size) = 4;     // repertoires per optimizer step (the Trainer's accumulate)
  HF_ARG(bool, balanced) = true;           // class-balanced order (else plain shuffled)
  HF_ARG(std::uint64_t, seed) = 0;         // order (with the epoch) and subsampling
  HF_ARG(bool, data_parallel) = true;      // under mpirun: each rank its share of every step (false: all of it)
};

// The training order of one epoch: `train` shuffled by (seed, epoch), with `balanced` per class and interleaved.
std::vector<std::size_t> repertoire_order(const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                          std::uint64_t seed, std::uint64_t epoch, bool balanced);

class RepertoireBatches {
 public:
  // Called after every repertoire's forward (diagnostics: which sequences were kept, their attention).
  using Observer = std::function<void(std::size_t index, const Repertoire& subsample, const RepertoireForward& f)>;
  // y: a 0/1 label per dataset index; train: the dataset indices trained on. Keeps references to all three.
  // Under mpirun with data_parallel: collective (rank 0's parameters and buffers of net go to every rank).
  RepertoireBatches(RepertoireNet& net, const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                    const std::vector<std::int64_t>& y, RepertoireBatchesOptions options = {});
  RepertoireBatches& observer(Observer f);  // called for this rank's repertoires only

  std::size_t begin_epoch(std::int64_t epoch);  // returns the number of repertoires (micro-batches)
  BatchLoss loss(std::size_t k);                // the loss of the epoch's k-th repertoire (zero: another rank's)
  double train_loss() const;                    // mean over the epoch's repertoires so far
  double train_auc() const;                     // of the epoch's logits so far (NaN with one class only)
  // For Trainer::grad_hook, called once per step group (TrainerOptions().accumulate(batch_size)): sets the
  // parameters' gradients to the step's float64 sum (over the ranks' shares under mpirun), rounded once.
  Trainer::GradHook grad_hook();
  bool data_parallel() const { return dp_ != nullptr; }  // several ranks share the steps

 private:
  RepertoireNet& net_;
  const RepertoireDataset& ds_;
  const std::vector<std::size_t>& train_;
  const std::vector<std::int64_t>& y_;
  RepertoireBatchesOptions o_;
  Observer observer_;
  Generator sampler_;
  std::unique_ptr<DataParallel> dp_;
  std::vector<std::size_t> sizes_;  // sequences per dataset index (0: not read yet), for skip_subsample
  std::vector<std::size_t> order_;
  std::vector<int> owner_;  // with dp_: the rank that computes each position of the epoch
  double keep_ = 1;
  // Per position k of the epoch: the loss (with its 1 / group), the logit, and whether they are known here
  // (this rank's repertoire, or all of them after the exchange at the epoch's end).
  std::vector<double> losses_, scores_;
  std::vector<char> known_;
  std::size_t pending_ = 0;  // repertoires since the last grad_hook call
  std::size_t last_ = 0;     // the last position passed to loss()
  // The step's gradient so far: per parameter that requires grad, a float64 sum and whether any repertoire
  // (on this rank) reached it.
  std::vector<Tensor> params_, sums_;
  std::vector<char> reached_;
  void take_gradients();     // the parameters' .grad into sums_, .grad cleared
  void exchange();           // every rank's losses and logits to every rank
  void share_steps();        // owner_ for the epoch: each step group's repertoires spread by their cost
};

}  // namespace hf
