// Training-loop helpers (see optim/training.h).
#include "hopfield/optim/training.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "hopfield/engine/kernel.h"
#include "hopfield/layers/module.h"

namespace hf {

// ---------------------------------------------------------------------------------------------- EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : o_(std::move(options)) {
  HF_CHECK(o_.mode() == "min" || o_.mode() == "max", "EarlyStopping", "invalid mode '" << o_.mode() << "' (min or max)");
  HF_CHECK(o_.patience() >= 1, "EarlyStopping", "invalid patience " << o_.patience() << " (must be >= 1)");
  HF_CHECK(o_.min_delta() >= 0, "EarlyStopping", "invalid min_delta " << o_.min_delta() << " (must be >= 0)");
  best_ = o_.mode() == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool EarlyStopping::step(double metric, const Module& module) {
  const bool better = o_.mode() == "min" ? metric < best_ - o_.min_delta() : metric > best_ + o_.min_delta();
  if (better) {  // false for NaN
    best_ = metric;
    best_epoch_ = epoch_;
    bad_ = 0;
    best_state_.clear();
    // Deep copies: the optimizer keeps updating the module's own tensors in place.
    for (const auto& [k, t] : module.state_dict()) best_state_[k] = t.detach().clone();
  } else {
    ++bad_;
  }
  ++epoch_;
  return should_stop();
}

void EarlyStopping::restore_best(Module& module) const {
  HF_CHECK(best_epoch_ >= 0, "EarlyStopping.restore_best", "no epoch improved on the initial value; nothing to restore");
  module.load_state_dict(best_state_);
}

std::map<std::string, Tensor> EarlyStopping::state_dict() const {
  std::map<std::string, Tensor> s;
  s["best"] = from_vector(std::vector<double>{best_}, {}, Dtype::Float64);
  s["best_epoch"] = from_indices({best_epoch_}, {});
  s["epoch"] = from_indices({epoch_}, {});
  s["bad"] = from_indices({bad_}, {});
  for (const auto& [k, t] : best_state_) s["best_state." + k] = t;
  return s;
}

void EarlyStopping::load_state_dict(const std::map<std::string, Tensor>& state) {
  const auto get = [&](const std::string& key, Dtype dtype) -> const Tensor& {
    auto it = state.find(key);
    HF_CHECK(it != state.end(), "EarlyStopping.load_state_dict", "missing entry '" << key << "'");
    HF_CHECK(it->second.dtype() == dtype && it->second.numel() == 1, "EarlyStopping.load_state_dict",
             "entry '" << key << "' must be one " << dtype_name(dtype) << " value");
    return it->second;
  };
  const double best = get("best", Dtype::Float64).data<double>()[0];
  const std::int64_t best_epoch = get("best_epoch", Dtype::Int64).data<std::int64_t>()[0],
                     epoch = get("epoch", Dtype::Int64).data<std::int64_t>()[0],
                     bad = get("bad", Dtype::Int64).data<std::int64_t>()[0];
  std::map<std::string, Tensor> best_state;
  const std::string prefix = "best_state.";
  for (const auto& [k, t] : state)
    if (k.rfind(prefix, 0) == 0) best_state[k.substr(prefix.size())] = t.detach().clone();
  best_ = best;
  best_epoch_ = best_epoch;
  epoch_ = epoch;
  bad_ = bad;
  best_state_ = std::move(best_state);
}

// ---------------------------------------------------------------------------------------------- non-finite guard

namespace {
std::size_t count_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return 0;
  return detail::dispatch_float(t.dtype(), "check_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    std::size_t bad = 0;
    for (std::size_t i = 0, n = t.numel(); i < n; ++i) bad += !std::isfinite(p[i]);
    return bad;
  });
}
}  // namespace

void check_finite(const Tensor& loss, std::int64_t step) {
  HF_CHECK(loss.defined(), "check_finite", "step " << step << ": the loss is undefined");
  if (std::size_t bad = count_non_finite(loss)) {
    std::ostringstream os;
    os << "check_finite: step " << step << ": loss is ";
    if (loss.numel() == 1) os << loss.item();
    else os << "non-finite in " << bad << " of " << loss.numel() << " elements";
    os << " (set_anomaly_detection(true) names the op that produced it)";
    throw NonFiniteError(os.str());
  }
}

void check_finite_grads(const Module& module, std::int64_t step) {
  for (const auto& [name, p] : module.named_parameters())
    if (std::size_t bad = count_non_finite(p.grad()))
      throw NonFiniteError("check_finite_grads: step " + std::to_string(step) + ": gradient of '" + name + "' has " +
                           std::to_string(bad) + " NaN/Inf of " + std::to_string(p.numel()) + " elements");
}

void check_finite_grads(const std::vector<Tensor>& params, std::int64_t step) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (std::size_t bad = count_non_finite(params[i].grad()))
      throw NonFiniteError("check_finite_grads: step " + std::to_string(step) + ": gradient of parameter " +
                           std::to_string(i) + " has " + std::to_string(bad) + " NaN/Inf of " +
                           std::to_string(params[i].numel()) + " elements");
}

}  // namespace hf
