// DeepRC's training batches for a RepertoireNet (layers/models/repertoire_net.h), as a batch source of
// Trainer::fit_batches: one micro-batch per repertoire, `batch_size` of them per optimizer step.
//
//   RepertoireBatches src(net, ds, train, y, RepertoireBatchesOptions().seed(seed));
//   Trainer t(net, opt, TrainerOptions().epochs(20).accumulate(4).scale_accumulated(false).clip_grad_norm(1));
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
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/models/repertoire_net.h"
#include "hopfield/optim/trainer.h"

namespace hf {

struct RepertoireBatchesOptions {
  HF_ARG(std::size_t, subsample) = 1000;   // sequences drawn per repertoire and epoch
  HF_ARG(double, keep) = 0.1;              // fraction of the subsample (by attention) that takes the gradient step
  HF_ARG(std::size_t, warmup_epochs) = 3;  // epochs on the whole subsample first
  HF_ARG(std::size_t, batch_size) = 4;     // repertoires per optimizer step (the Trainer's accumulate)
  HF_ARG(bool, balanced) = true;           // class-balanced order (else plain shuffled)
  HF_ARG(std::uint64_t, seed) = 0;         // order (with the epoch) and subsampling
};

// The training order of one epoch: `train` shuffled by (seed, epoch), with `balanced` per class and interleaved.
std::vector<std::size_t> repertoire_order(const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                          std::uint64_t seed, std::uint64_t epoch, bool balanced);

class RepertoireBatches {
 public:
  // Called after every repertoire's forward (diagnostics: which sequences were kept, their attention).
  using Observer = std::function<void(std::size_t index, const Repertoire& subsample, const RepertoireForward& f)>;
  // y: a 0/1 label per dataset index; train: the dataset indices trained on. Keeps references to all three.
  RepertoireBatches(RepertoireNet& net, const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                    const std::vector<std::int64_t>& y, RepertoireBatchesOptions options = {});
  RepertoireBatches& observer(Observer f);

  std::size_t begin_epoch(std::int64_t epoch);  // returns the number of repertoires (micro-batches)
  BatchLoss loss(std::size_t k);                // the loss of the epoch's k-th repertoire
  double train_loss() const;                    // mean over the epoch's repertoires so far
  double train_auc() const;                     // of the epoch's logits so far (NaN with one class only)

 private:
  RepertoireNet& net_;
  const RepertoireDataset& ds_;
  const std::vector<std::size_t>& train_;
  const std::vector<std::int64_t>& y_;
  RepertoireBatchesOptions o_;
  Observer observer_;
  Generator sampler_;
  std::vector<std::size_t> order_;
  double keep_ = 1, loss_sum_ = 0, step_loss_ = 0;
  std::vector<double> scores_;
  std::vector<std::int64_t> labels_;
};

}  // namespace hf
