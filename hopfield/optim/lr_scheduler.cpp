// Learning-rate schedules (semantics in optim/lr_scheduler.h). Each chainable_lr transcribes torch 1.13's
// get_lr(), each closed_form_lr its _get_closed_form_lr(); the branch structure is kept so sequences match
// torch's float64 values bit for bit where torch's do.
#include "hopfield/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "hopfield/engine/check.h"

namespace hf {

using detail::scalar64;
using detail::scalar_at;

// ---------------------------------------------------------------------------------------------- base

LRScheduler::LRScheduler(Optimizer& optimizer) : opt_(optimizer) {
  for (std::size_t g = 0; g < opt_.num_groups(); ++g) {
    if (!opt_.initial_lr(g)) opt_.set_initial_lr(g, opt_.lr(g));
    base_lrs_.push_back(*opt_.initial_lr(g));
  }
}

void LRScheduler::initial_step() {
  last_epoch_ = -1;
  step_count_ = 0;
  step();
}

void LRScheduler::apply(bool closed_form) {
  std::vector<double> lrs(opt_.num_groups());
  for (std::size_t g = 0; g < lrs.size(); ++g) lrs[g] = closed_form ? closed_form_lr(g) : chainable_lr(g);
  for (std::size_t g = 0; g < lrs.size(); ++g) opt_.set_lr(g, lrs[g]);
  last_lr_ = lrs;
}

void LRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  apply(false);
}

void LRScheduler::step_to(std::int64_t epoch) {
  HF_CHECK(epoch >= 0, name().c_str(), "invalid epoch " << epoch << " (must be >= 0)");
  ++step_count_;
  last_epoch_ = epoch;
  apply(true);
}

std::map<std::string, Tensor> LRScheduler::state_dict() const {
  std::map<std::string, Tensor> out;
  out["last_epoch"] = scalar64(static_cast<double>(last_epoch_));
  out["step_count"] = scalar64(static_cast<double>(step_count_));
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    out["base_lr." + std::to_string(g)] = scalar64(base_lrs_[g]);
    out["last_lr." + std::to_string(g)] = scalar64(last_lr_.at(g));
  }
  return out;
}

void LRScheduler::load_state_dict(const std::map<std::string, Tensor>& s) {
  const std::string where = name() + ".load_state_dict";
  std::vector<double> base(base_lrs_.size()), last(base_lrs_.size());
  for (std::size_t g = 0; g < base.size(); ++g) {
    base[g] = scalar_at(s, "base_lr." + std::to_string(g), where);
    last[g] = scalar_at(s, "last_lr." + std::to_string(g), where);
  }
  HF_CHECK(!s.count("base_lr." + std::to_string(base.size())), where.c_str(),
           "the state has more parameter groups than this optimizer (" << base.size() << ")");
  const double e = scalar_at(s, "last_epoch", where), c = scalar_at(s, "step_count", where);
  last_epoch_ = static_cast<std::int64_t>(e);
  step_count_ = static_cast<std::int64_t>(c);
  base_lrs_ = base;
  last_lr_ = last;
}

// ---------------------------------------------------------------------------------------------- StepLR

StepLR::StepLR(Optimizer& optimizer, StepLROptions options) : LRScheduler(optimizer), o_(options) {
  HF_CHECK(o_.step_size() > 0, "StepLR", "invalid step_size " << o_.step_size() << " (must be > 0)");
  HF_CHECK(o_.gamma() > 0, "StepLR", "invalid gamma " << o_.gamma() << " (must be > 0)");
  initial_step();
}

double StepLR::chainable_lr(std::size_t g) const {
  if (last_epoch_ == 0 || last_epoch_ % o_.step_size() != 0) return current_lr(g);
  return current_lr(g) * o_.gamma();
}

double StepLR::closed_form_lr(std::size_t g) const {
  return base_lrs_[g] * std::pow(o_.gamma(), static_cast<double>(last_epoch_ / o_.step_size()));
}

// ---------------------------------------------------------------------------------------------- ExponentialLR

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  HF_CHECK(gamma > 0, "ExponentialLR", "invalid gamma " << gamma << " (must be > 0)");
  initial_step();
}

double ExponentialLR::chainable_lr(std::size_t g) const {
  return last_epoch_ == 0 ? current_lr(g) : current_lr(g) * gamma_;
}

double ExponentialLR::closed_form_lr(std::size_t g) const {
  return base_lrs_[g] * std::pow(gamma_, static_cast<double>(last_epoch_));
}

// ---------------------------------------------------------------------------------------------- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options)
    : LRScheduler(optimizer), o_(options) {
  HF_CHECK(o_.T_max() > 0, "CosineAnnealingLR", "invalid T_max " << o_.T_max() << " (must be > 0)");
  initial_step();
}

double CosineAnnealingLR::chainable_lr(std::size_t g) const {
  const double pi = std::numbers::pi, T = static_cast<double>(o_.T_max()), e = static_cast<double>(last_epoch_);
  const double eta = o_.eta_min(), lr = current_lr(g), base = base_lrs_[g];
  if (last_epoch_ == 0) return lr;
  if (step_count_ == 1 && last_epoch_ > 0) return eta + (base - eta) * (1 + std::cos(e * pi / T)) / 2;
  // Python's % is non-negative for a positive modulus; C++'s is not.
  const std::int64_t period = 2 * o_.T_max();
  if ((((last_epoch_ - 1 - o_.T_max()) % period) + period) % period == 0)
    return lr + (base - eta) * (1 - std::cos(pi / T)) / 2;
  return (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lr - eta) + eta;
}

double CosineAnnealingLR::closed_form_lr(std::size_t g) const {
  const double pi = std::numbers::pi, eta = o_.eta_min();
  return eta + (base_lrs_[g] - eta) * (1 + std::cos(pi * static_cast<double>(last_epoch_) / static_cast<double>(o_.T_max()))) / 2;
}

// ---------------------------------------------------------------------------------------------- LinearWarmup

LinearWarmup::LinearWarmup(Optimizer& optimizer, LinearWarmupOptions options) : LRScheduler(optimizer), o_(options) {
  HF_CHECK(o_.start_factor() > 0 && o_.start_factor() <= 1, "LinearWarmup",
           "invalid start_factor " << o_.start_factor() << " (must be in (0, 1])");
  HF_CHECK(o_.end_factor() >= 0 && o_.end_factor() <= 1, "LinearWarmup",
           "invalid end_factor " << o_.end_factor() << " (must be in [0, 1])");
  HF_CHECK(o_.total_iters() > 0, "LinearWarmup", "invalid total_iters " << o_.total_iters() << " (must be > 0)");
  initial_step();
}

double LinearWarmup::chainable_lr(std::size_t g) const {
  const double s = o_.start_factor(), f = o_.end_factor(), n = static_cast<double>(o_.total_iters());
  if (last_epoch_ == 0) return current_lr(g) * s;
  if (last_epoch_ > o_.total_iters()) return current_lr(g);
  return current_lr(g) * (1.0 + (f - s) / (n * s + static_cast<double>(last_epoch_ - 1) * (f - s)));
}

double LinearWarmup::closed_form_lr(std::size_t g) const {
  const double s = o_.start_factor(), f = o_.end_factor();
  const double k = static_cast<double>(std::min(o_.total_iters(), last_epoch_));
  return base_lrs_[g] * (s + (f - s) * k / static_cast<double>(o_.total_iters()));
}

// ---------------------------------------------------------------------------------------------- SequentialLR

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : opt_(optimizer), children_(std::move(schedulers)), milestones_(std::move(milestones)) {
  HF_CHECK(!children_.empty(), "SequentialLR", "needs at least one schedule");
  HF_CHECK(milestones_.size() + 1 == children_.size(), "SequentialLR",
           children_.size() << " schedules need " << children_.size() - 1 << " milestones, got " << milestones_.size());
  for (std::size_t k = 0; k < children_.size(); ++k)
    HF_CHECK(children_[k] && &children_[k]->opt_ == &opt_, "SequentialLR",
             "schedule " << k << " is null or belongs to another optimizer");
  for (std::size_t k = 1; k < milestones_.size(); ++k)
    HF_CHECK(milestones_[k] > milestones_[k - 1], "SequentialLR", "milestones must increase");
  // As torch: back to the initial lrs, undo every child's construction step, redo the first child's.
  for (std::size_t g = 0; g < opt_.num_groups(); ++g) opt_.set_lr(g, *opt_.initial_lr(g));
  for (auto& c : children_) c->last_epoch_ -= 1;
  children_[0]->initial_step();
  last_lr_ = children_[0]->last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  const std::size_t idx = static_cast<std::size_t>(
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin());
  auto& s = children_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_) s->step_to(0);
  else s->step();
  last_lr_ = s->last_lr();
}

std::map<std::string, Tensor> SequentialLR::state_dict() const {
  std::map<std::string, Tensor> out;
  out["last_epoch"] = scalar64(static_cast<double>(last_epoch_));
  for (std::size_t g = 0; g < last_lr_.size(); ++g) out["last_lr." + std::to_string(g)] = scalar64(last_lr_[g]);
  for (std::size_t k = 0; k < children_.size(); ++k)
    for (auto& [key, t] : children_[k]->state_dict()) out["child." + std::to_string(k) + "." + key] = t;
  return out;
}

void SequentialLR::load_state_dict(const std::map<std::string, Tensor>& s) {
  const std::string where = "SequentialLR.load_state_dict";
  std::vector<std::map<std::string, Tensor>> child(children_.size());
  for (const auto& [key, t] : s) {
    if (key.rfind("child.", 0) != 0) continue;
    const std::size_t dot = key.find('.', 6);
    HF_CHECK(dot != std::string::npos, where.c_str(), "malformed key '" << key << "'");
    const std::size_t k = std::stoul(key.substr(6, dot - 6));
    HF_CHECK(k < children_.size(), where.c_str(), "key '" << key << "' names schedule " << k << " of " << children_.size());
    child[k][key.substr(dot + 1)] = t;
  }
  std::vector<double> last(opt_.num_groups());
  for (std::size_t g = 0; g < last.size(); ++g) last[g] = scalar_at(s, "last_lr." + std::to_string(g), where);
  const double e = scalar_at(s, "last_epoch", where);
  for (std::size_t k = 0; k < children_.size(); ++k) children_[k]->load_state_dict(child[k]);
  last_epoch_ = static_cast<std::int64_t>(e);
  last_lr_ = last;
}

// ---------------------------------------------------------------------------------------------- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : opt_(optimizer), o_(std::move(options)) {
  const char* w = "ReduceLROnPlateau";
  HF_CHECK(o_.mode() == "min" || o_.mode() == "max", w, "invalid mode '" << o_.mode() << "' (min or max)");
  HF_CHECK(o_.threshold_mode() == "rel" || o_.threshold_mode() == "abs", w,
           "invalid threshold_mode '" << o_.threshold_mode() << "' (rel or abs)");
  HF_CHECK(o_.factor() < 1.0 && o_.factor() >= 0, w, "invalid factor " << o_.factor() << " (must be in [0, 1))");
  HF_CHECK(o_.patience() >= 0 && o_.cooldown() >= 0 && o_.min_lr() >= 0, w,
           "patience, cooldown and min_lr must be >= 0 (got " << o_.patience() << ", " << o_.cooldown() << ", "
                                                              << o_.min_lr() << ")");
  best_ = o_.mode() == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a) const {
  const bool rel = o_.threshold_mode() == "rel";
  if (o_.mode() == "min") return rel ? a < best_ * (1.0 - o_.threshold()) : a < best_ - o_.threshold();
  return rel ? a > best_ * (o_.threshold() + 1.0) : a > best_ + o_.threshold();
}

void ReduceLROnPlateau::step(double metric) {
  last_epoch_ += 1;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {  // in cooldown: bad epochs do not count
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > o_.patience()) {
    for (std::size_t g = 0; g < opt_.num_groups(); ++g) {
      const double old_lr = opt_.lr(g), new_lr = std::max(old_lr * o_.factor(), o_.min_lr());
      if (old_lr - new_lr > o_.eps()) opt_.set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown();
    num_bad_epochs_ = 0;
  }
}

std::map<std::string, Tensor> ReduceLROnPlateau::state_dict() const {
  return {{"best", scalar64(best_)},
          {"num_bad_epochs", scalar64(static_cast<double>(num_bad_epochs_))},
          {"cooldown_counter", scalar64(static_cast<double>(cooldown_counter_))},
          {"last_epoch", scalar64(static_cast<double>(last_epoch_))}};
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, Tensor>& s) {
  const std::string where = "ReduceLROnPlateau.load_state_dict";
  const double b = scalar_at(s, "best", where), n = scalar_at(s, "num_bad_epochs", where);
  const double c = scalar_at(s, "cooldown_counter", where), e = scalar_at(s, "last_epoch", where);
  best_ = b;
  num_bad_epochs_ = static_cast<std::int64_t>(n);
  cooldown_counter_ = static_cast<std::int64_t>(c);
  last_epoch_ = static_cast<std::int64_t>(e);
}

}  // namespace hf
