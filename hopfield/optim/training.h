// Helpers around a training loop: early stopping that keeps the best parameters and a guard against NaN/Inf
// losses and gradients (the progress display and the CSV log are in hopfield/report/; the loop itself is
// optim/trainer.h).
//
//   EarlyStopping stop(EarlyStoppingOptions().patience(5).mode("max"));
//   CsvLogger log("run/metrics.csv", {"epoch", "train_loss", "val_auc", "lr"});
//   for (epoch ...) {
//     Progress bar(num_batches, "epoch " + std::to_string(epoch));
//     for (batch ...) { ...; check_finite(loss, step); check_finite_grads(model, step); opt.step(); bar.update(); }
//     log.row({epoch, loss, auc, opt.lr()});
//     if (stop.step(auc, model)) break;
//   }
//   stop.restore_best(model);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/tensor.h"

namespace hf {

class Module;

// ---- early stopping ----

struct EarlyStoppingOptions {
  EarlyStoppingOptions() = default;
  HF_ARG(std::int64_t, patience) = 10;  // epochs without improvement before stopping
  HF_ARG(double, min_delta) = 0.0;      // an improvement must exceed this
  HF_ARG(std::string, mode) = "min";    // "min" for losses, "max" for accuracy / AUC
};

class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  // Records one epoch's validation metric; on improvement copies the module's state_dict. Returns true
  // when training should stop (patience exhausted). A NaN metric never counts as an improvement.
  bool step(double metric, const Module& module);
  // Copies the best parameters back (throws if no epoch was recorded).
  void restore_best(Module& module) const;
  double best() const { return best_; }
  std::int64_t best_epoch() const { return best_epoch_; }  // 0-based index of the best step() call
  std::int64_t bad_epochs() const { return bad_; }
  bool should_stop() const { return bad_ >= o_.patience(); }
  const std::map<std::string, Tensor>& best_state() const { return best_state_; }
  // Counters, best value and best parameters ("best", "best_epoch", "epoch", "bad", "best_state.<name>"),
  // for checkpoints: a resumed run stops where the uninterrupted one would have.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  EarlyStoppingOptions o_;
  double best_;
  std::int64_t best_epoch_ = -1, epoch_ = 0, bad_ = 0;
  std::map<std::string, Tensor> best_state_;
};

// ---- non-finite guard ----

// Thrown when a loss or gradient is NaN or Inf; the message names the step (and the parameter).
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

// Throws NonFiniteError "step 12: loss is NaN" if any element of loss is not finite.
void check_finite(const Tensor& loss, std::int64_t step);
// Throws naming the step, the parameter (dotted name) and the count of bad gradient elements.
void check_finite_grads(const Module& module, std::int64_t step);
void check_finite_grads(const std::vector<Tensor>& params, std::int64_t step);
// For the op that first produced the NaN, turn on engine/tape.h's set_anomaly_detection(true).

}  // namespace hf
