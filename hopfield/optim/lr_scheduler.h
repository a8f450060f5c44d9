// Learning-rate schedules with torch.optim.lr_scheduler's exact semantics (1.13):
//   building a schedule applies its epoch-0 lr; call step() once after every optimizer step (or epoch).
//   Each step uses torch's recursive ("chainable") form, which multiplies the optimizer's current lr,
//   so the float64 sequences match torch's to the last bits, and several schedules can share one optimizer.
//
//   StepLR             lr *= gamma every step_size epochs             closed: base * gamma^(e / step_size)
//   ExponentialLR      lr *= gamma every epoch                         closed: base * gamma^e
//   CosineAnnealingLR  cosine from base to eta_min over T_max epochs, then back up (periodic 2*T_max)
//                      closed: eta_min + (base - eta_min) * (1 + cos(pi e / T_max)) / 2
//   LinearWarmup       torch's LinearLR: factor from start_factor to end_factor over total_iters epochs
//   SequentialLR       warm-up then another schedule: schedulers[k] runs from milestones[k-1] on, restarted
//                      at its epoch 0 (closed form) when its milestone is reached
//   ReduceLROnPlateau  lr *= factor after `patience` epochs without improvement of a metric
//
// base lrs are the optimizer's initial_lr (set by the first schedule built on it), as in torch.
// e = last_epoch, the number of step() calls so far.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"
#include "hopfield/optim/optimizer.h"

namespace hf {

// What a checkpoint needs from any schedule.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;
  virtual std::map<std::string, Tensor> state_dict() const = 0;
  virtual void load_state_dict(const std::map<std::string, Tensor>& state) = 0;
};

class LRScheduler : public Scheduler {
 public:
  void step();                     // next epoch, chainable form
  void step_to(std::int64_t epoch);  // jump to an epoch, closed form (torch's step(epoch))
  std::int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& last_lr() const { return last_lr_; }  // lr per group after the latest step
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // "last_epoch", "step_count", "base_lr.<g>", "last_lr.<g>" (0-d float64). Loading restores the
  // schedule's counters only: the optimizer's lr comes from the optimizer's own state.
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // Derived constructors call this last (a virtual call is not possible from the base constructor).
  void initial_step();
  virtual double chainable_lr(std::size_t g) const = 0;  // lr at last_epoch_ given the current lr
  virtual double closed_form_lr(std::size_t g) const = 0;
  double current_lr(std::size_t g) const { return opt_.lr(g); }
  void apply(bool closed_form);

  Optimizer& opt_;
  std::vector<double> base_lrs_, last_lr_;
  std::int64_t last_epoch_ = -1, step_count_ = 0;
  friend class SequentialLR;
};

struct StepLROptions {
  StepLROptions(std::int64_t step_size) : step_size_(step_size) {}  // NOLINT
  HF_ARG(std::int64_t, step_size);
  HF_ARG(double, gamma) = 0.1;
};

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, StepLROptions options);
  std::string name() const override { return "StepLR"; }

 private:
  double chainable_lr(std::size_t g) const override;
  double closed_form_lr(std::size_t g) const override;
  StepLROptions o_;
};

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  std::string name() const override { return "ExponentialLR"; }

 private:
  double chainable_lr(std::size_t g) const override;
  double closed_form_lr(std::size_t g) const override;
  double gamma_;
};

struct CosineAnnealingLROptions {
  CosineAnnealingLROptions(std::int64_t T_max) : T_max_(T_max) {}  // NOLINT
  HF_ARG(std::int64_t, T_max);
  HF_ARG(double, eta_min) = 0.0;
};

class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options);
  std::string name() const override { return "CosineAnnealingLR"; }

 private:
  double chainable_lr(std::size_t g) const override;
  double closed_form_lr(std::size_t g) const override;
  CosineAnnealingLROptions o_;
};

// torch.optim.lr_scheduler.LinearLR (a linear warm-up with the defaults below).
struct LinearWarmupOptions {
  LinearWarmupOptions() = default;
  HF_ARG(double, start_factor) = 1.0 / 3;
  HF_ARG(double, end_factor) = 1.0;
  HF_ARG(std::int64_t, total_iters) = 5;
};

class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, LinearWarmupOptions options = {});
  std::string name() const override { return "LinearWarmup"; }

 private:
  double chainable_lr(std::size_t g) const override;
  double closed_form_lr(std::size_t g) const override;
  LinearWarmupOptions o_;
};

// torch.optim.lr_scheduler.SequentialLR: build the schedules on the optimizer first, then chain them.
//   auto warm = std::make_shared<LinearWarmup>(opt, LinearWarmupOptions().start_factor(0.1).total_iters(5));
//   auto cos = std::make_shared<CosineAnnealingLR>(opt, CosineAnnealingLROptions(20));
//   SequentialLR sched(opt, {warm, cos}, {5});
class SequentialLR : public Scheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);
  void step();
  std::int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& last_lr() const { return last_lr_; }
  std::string name() const override { return "SequentialLR"; }
  // "last_epoch", "last_lr.<g>" and every child's state under "child.<k>.".
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  Optimizer& opt_;
  std::vector<std::shared_ptr<LRScheduler>> children_;
  std::vector<std::int64_t> milestones_;
  std::int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

struct ReduceLROnPlateauOptions {
  ReduceLROnPlateauOptions() = default;
  HF_ARG(std::string, mode) = "min";             // "min": lower is better; "max": higher is better
  HF_ARG(double, factor) = 0.1;
  HF_ARG(std::int64_t, patience) = 10;
  HF_ARG(double, threshold) = 1e-4;
  HF_ARG(std::string, threshold_mode) = "rel";   // "rel" or "abs"
  HF_ARG(std::int64_t, cooldown) = 0;
  HF_ARG(double, min_lr) = 0.0;
  HF_ARG(double, eps) = 1e-8;                    // smaller lr changes are skipped
};

class ReduceLROnPlateau : public Scheduler {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  void step(double metric);  // once per epoch, with the validation metric
  std::int64_t last_epoch() const { return last_epoch_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  double best() const { return best_; }
  std::string name() const override { return "ReduceLROnPlateau"; }
  // "best", "num_bad_epochs", "cooldown_counter", "last_epoch".
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 private:
  bool is_better(double a) const;
  Optimizer& opt_;
  ReduceLROnPlateauOptions o_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

}  // namespace hf
