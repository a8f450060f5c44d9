// Helpers around a training loop: early stopping that keeps the best parameters, a guard against NaN/Inf
// losses and gradients, a progress display and a per-epoch CSV log.
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

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iosfwd>
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

// ---- progress ----

// A bar with rate and ETA, redrawn in place, when writing to a terminal; otherwise plain lines at most
// every `interval` seconds (and at the end) so CI logs stay readable.
struct ProgressOptions {
  ProgressOptions() = default;
  HF_ARG(std::string, mode) = "auto";  // "auto" (bar if stderr is a terminal), "bar" or "lines"
  HF_ARG(double, interval) = 10.0;     // seconds between plain lines
  HF_ARG(int, width) = 30;             // bar characters
};

class Progress {
 public:
  Progress(std::int64_t total, std::string label, ProgressOptions options = {});
  Progress(std::int64_t total, std::string label, std::ostream& out, ProgressOptions options = {});
  // Prints the final line unless it was printed already, or unless the scope is being left by an exception:
  // then a failed run does not report itself as finished and an error message stays the only line (a bar
  // only gets its line ended).
  ~Progress();
  // Advances by n items; `info` (e.g. "loss 0.123") is shown after the counters.
  void update(std::int64_t n = 1, const std::string& info = "");
  void finish();  // prints the final state once (also done by the destructor)
  bool is_bar() const { return bar_; }
  // "12.3 it/s" and "1:05" style helpers, exposed for tests.
  static std::string format_duration(double seconds);

 private:
  void render(bool final_line);
  std::ostream& out_;
  std::int64_t total_, done_ = 0;
  std::string label_, info_;
  ProgressOptions o_;
  bool bar_, finished_ = false, drawn_ = false;
  int uncaught_ = 0;  // std::uncaught_exceptions() at construction: more at destruction means unwinding
  std::chrono::steady_clock::time_point start_, last_print_;
};

// ---- CSV metrics log ----

// One header line, then one row per call, flushed at once (a crash loses at most the current row).
// Values are written with 17 significant digits so they read back exactly.
class CsvLogger {
 public:
  // append: keep an existing file whose header equals `columns` (resuming a run); otherwise truncate.
  CsvLogger(const std::string& path, std::vector<std::string> columns, bool append = false);
  void row(const std::vector<double>& values);
  void row(const std::map<std::string, double>& values);  // every column must be present
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::ofstream out_;
};

}  // namespace hf
