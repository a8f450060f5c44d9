// The training loop (see optim/trainer.h).
#include "hopfield/optim/trainer.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/checkpoint.h"
#include "hopfield/optim/clip_grad.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/optimizer.h"
#include "hopfield/optim/training.h"
#include "hopfield/report/csv_log.h"
#include "hopfield/report/progress.h"

namespace hf {

double TrainResult::value(const std::string& name) const {
  HF_CHECK(!history.empty(), "TrainResult.value", "no epoch was trained");
  const EpochRecord& e = best_epoch > 0 ? history.at(static_cast<std::size_t>(best_epoch - 1)) : history.back();
  for (std::size_t i = 0; i < value_names.size(); ++i)
    if (value_names[i] == name) return e.values.at(i);
  if (name == "train_loss") return e.train_loss;
  if (name == "score") return e.score;
  HF_FAIL("TrainResult.value", "no value named '" << name << "'");
}

Trainer::Trainer(Module& model, Optimizer& optimizer, TrainerOptions options)
    : model_(model), opt_(optimizer), o_(std::move(options)) {
  const char* op = "Trainer";
  HF_CHECK(o_.epochs() >= 1, op, "epochs must be >= 1, got " << o_.epochs());
  HF_CHECK(o_.max_steps() >= 0, op, "max_steps must be >= 0, got " << o_.max_steps());
  HF_CHECK(o_.accumulate() >= 1, op, "accumulate must be >= 1, got " << o_.accumulate());
  HF_CHECK(o_.clip_grad_norm() >= 0, op, "clip_grad_norm must be >= 0, got " << o_.clip_grad_norm());
  HF_CHECK(o_.patience() >= 0, op, "patience must be >= 0, got " << o_.patience());
  HF_CHECK(o_.mode() == "min" || o_.mode() == "max", op, "invalid mode '" << o_.mode() << "' (min or max)");
  HF_CHECK(o_.checkpoint_every() >= 1, op, "checkpoint_every must be >= 1, got " << o_.checkpoint_every());
  HF_CHECK(!o_.resume() || !o_.checkpoint().empty(), op, "resume needs a checkpoint path");
}

Trainer& Trainer::scheduler(Scheduler* s) {
  HF_CHECK(!s || dynamic_cast<LRScheduler*>(s) || dynamic_cast<ReduceLROnPlateau*>(s), "Trainer.scheduler",
           "unsupported scheduler " << s->name() << " (an LRScheduler or ReduceLROnPlateau)");
  sched_ = s;
  return *this;
}

Trainer& Trainer::grad_hook(GradHook hook) {
  hook_ = std::move(hook);
  return *this;
}

Trainer& Trainer::generator(Generator* gen) {
  gen_ = gen;
  return *this;
}

namespace {

Tensor int_tensor(std::int64_t v) { return from_indices({v}, {}); }
std::int64_t int_of(const std::map<std::string, Tensor>& m, const std::string& key, const std::string& where) {
  auto it = m.find(key);
  HF_CHECK(it != m.end() && it->second.dtype() == Dtype::Int64 && it->second.numel() == 1, where.c_str(),
           "the checkpoint has no trainer entry '" << key << "' (not written by a Trainer?)");
  return it->second.data<std::int64_t>()[0];
}

// Names as their bytes (the npz reader has no string dtype), '\n'-separated.
Tensor names_tensor(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += n + "\n";
  std::vector<std::int64_t> bytes(s.begin(), s.end());
  return from_indices(bytes, {bytes.size()});
}
std::vector<std::string> names_of(const Tensor& t) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < t.numel(); ++i) {
    const char c = static_cast<char>(t.data<std::int64_t>()[i]);
    if (c == '\n') out.push_back(std::move(cur)), cur.clear();
    else cur += c;
  }
  return out;
}

}  // namespace

TrainResult Trainer::fit_batches(const std::function<std::size_t(std::int64_t)>& begin_epoch, const LossFn& loss,
                                 const ValidateFn& validate) {
  HF_CHECK(begin_epoch && loss && validate, "Trainer.fit", "begin_epoch, loss and validate must all be given");
  TrainResult r;
  std::unique_ptr<EarlyStopping> stop;
  if (o_.patience() > 0)
    stop = std::make_unique<EarlyStopping>(
        EarlyStoppingOptions().patience(o_.patience()).min_delta(o_.min_delta()).mode(o_.mode()));
  std::int64_t first_epoch = 1, step = 0;
  bool done = false;
  const std::vector<Tensor> params = model_.parameters();

  // ---- resume
  if (o_.resume() && std::filesystem::exists(o_.checkpoint())) {
    const std::string where = "Trainer: checkpoint " + o_.checkpoint();
    std::map<std::string, Tensor> extra;
    CheckpointParts parts{&model_, &opt_, sched_, gen_, &extra};
    const std::int64_t epoch = load_checkpoint(o_.checkpoint(), parts);
    step = int_of(extra, "step", where);
    done = int_of(extra, "done", where) != 0;
    HF_CHECK(int_of(extra, "early_stopping", where) == (stop ? 1 : 0), where.c_str(),
             "written with early stopping " << (stop ? "off" : "on") << ", resumed with it " << (stop ? "on" : "off"));
    if (stop) {
      std::map<std::string, Tensor> es;
      for (const auto& [k, t] : extra)
        if (k.rfind("es.", 0) == 0) es[k.substr(3)] = t;
      stop->load_state_dict(es);
    }
    auto hist = extra.find("history");
    auto names = extra.find("value_names");
    HF_CHECK(hist != extra.end() && names != extra.end(), where.c_str(), "no trainer history in the checkpoint");
    r.value_names = names_of(names->second);
    const Tensor& h = hist->second;
    const std::size_t cols = 4 + r.value_names.size();
    HF_CHECK(h.dtype() == Dtype::Float64 && h.dim() == 2 && h.size(0) == static_cast<std::size_t>(epoch) &&
                 h.size(1) == cols,
             where.c_str(), "history member has the wrong shape " << shape_str(h.shape()));
    const double* p = h.data<double>();
    for (std::size_t e = 0; e < h.size(0); ++e) {
      EpochRecord rec{static_cast<std::int64_t>(p[e * cols]), p[e * cols + 1], p[e * cols + 2], p[e * cols + 3], {}};
      rec.values.assign(p + e * cols + 4, p + (e + 1) * cols);
      r.history.push_back(std::move(rec));
    }
    first_epoch = epoch + 1;
    r.resumed = true;
  }

  std::unique_ptr<CsvLogger> csv;
  const auto open_csv = [&]() {
    std::vector<std::string> cols{"epoch", "train_loss", "lr", "score"};
    cols.insert(cols.end(), r.value_names.begin(), r.value_names.end());
    csv = std::make_unique<CsvLogger>(o_.metrics_csv(), cols);  // rewritten whole on resume: no duplicate rows
    for (const EpochRecord& e : r.history) {
      std::vector<double> row{static_cast<double>(e.epoch), e.train_loss, e.lr, e.score};
      row.insert(row.end(), e.values.begin(), e.values.end());
      csv->row(row);
    }
  };
  if (!o_.metrics_csv().empty() && r.resumed) open_csv();

  const auto save = [&](std::int64_t epoch) {
    std::map<std::string, Tensor> extra;
    extra["step"] = int_tensor(step);
    extra["done"] = int_tensor(done ? 1 : 0);
    extra["early_stopping"] = int_tensor(stop ? 1 : 0);
    if (stop)
      for (auto& [k, t] : stop->state_dict()) extra["es." + k] = t;
    const std::size_t cols = 4 + r.value_names.size();
    std::vector<double> h;
    for (const EpochRecord& e : r.history) {
      h.insert(h.end(), {static_cast<double>(e.epoch), e.train_loss, e.lr, e.score});
      h.insert(h.end(), e.values.begin(), e.values.end());
    }
    extra["history"] = from_vector(h, {r.history.size(), cols}, Dtype::Float64);
    extra["value_names"] = names_tensor(r.value_names);
    save_checkpoint(o_.checkpoint(), CheckpointParts{&model_, &opt_, sched_, gen_, &extra}, epoch);
  };

  std::unique_ptr<Progress> progress;
  if (!o_.progress().empty()) progress = std::make_unique<Progress>(std::max<std::int64_t>(0, o_.epochs() - first_epoch + 1), o_.progress());

  const auto k = o_.accumulate();
  for (std::int64_t epoch = first_epoch; !done && epoch <= o_.epochs() && (o_.max_steps() == 0 || step < o_.max_steps());
       ++epoch) {
    model_.train();
    const std::size_t n = begin_epoch(epoch);
    double loss_sum = 0, weight_sum = 0;
    std::int64_t micro = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (micro == 0) distributed::fault_point(step);  // HOPFIELD_FAULT_RANK / _STEP (tests of the MPI fault path)
      const BatchLoss bl = loss(i, StepInfo{epoch, step, i});
      if (o_.check_finite()) check_finite(bl.loss, step);
      if (micro == 0 && o_.zero_grad()) opt_.zero_grad();
      (k > 1 && o_.scale_accumulated() ? mul(bl.loss, 1.0 / static_cast<double>(k)) : bl.loss).backward();
      loss_sum += bl.loss.item() * bl.weight;
      weight_sum += bl.weight;
      if (++micro == k || i + 1 == n) {  // a trailing partial group steps with what it has
        micro = 0;
        if (hook_) hook_(model_);
        if (o_.clip_grad_norm() > 0) clip_grad_norm(params, o_.clip_grad_norm());
        opt_.step();
        if (++step >= o_.max_steps() && o_.max_steps() > 0) break;
      }
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
    rec.lr = opt_.lr();
    if (auto* s = dynamic_cast<LRScheduler*>(sched_)) s->step();
    const EpochMetrics m = validate(epoch);
    if (auto* s = dynamic_cast<ReduceLROnPlateau*>(sched_)) s->step(m.score);
    rec.score = m.score;
    std::vector<std::string> names;
    for (const auto& [name, v] : m.values) names.push_back(name), rec.values.push_back(v);
    if (r.history.empty()) r.value_names = names;
    HF_CHECK(names == r.value_names, "Trainer.fit", "validate returned other metric names in epoch " << epoch);
    r.history.push_back(rec);
    if (!o_.metrics_csv().empty()) {
      if (!csv) open_csv();
      else {
        std::vector<double> row{static_cast<double>(rec.epoch), rec.train_loss, rec.lr, rec.score};
        row.insert(row.end(), rec.values.begin(), rec.values.end());
        csv->row(row);
      }
    }
    if (stop && stop->step(m.score, model_)) done = true;
    if (o_.max_steps() > 0 && step >= o_.max_steps()) done = true;
    if (epoch == o_.epochs()) done = true;
    if (!o_.checkpoint().empty() && o_.write_checkpoint() && (done || epoch % o_.checkpoint_every() == 0)) save(epoch);
    if (progress) progress->update(1, "score " + std::to_string(m.score));
  }
  if (progress) progress->finish();
  if (stop && o_.restore_best()) stop->restore_best(model_);
  if (stop) {
    r.best_epoch = stop->best_epoch() + 1;
    r.best_score = stop->best();
  }
  r.steps = step;
  return r;
}

}  // namespace hf
