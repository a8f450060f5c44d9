// Optimizer base: groups, zero_grad, positional per-parameter state and its checkpoint form.
#include "hopfield/optim/optimizer.h"

#include <set>

#include "hopfield/layers/module.h"

namespace hf {

namespace detail {
Tensor scalar64(double v) { return scalar_tensor(v, Dtype::Float64); }

double scalar_at(const std::map<std::string, Tensor>& m, const std::string& key, const std::string& where) {
  auto it = m.find(key);
  HF_CHECK(it != m.end(), where.c_str(), "missing key '" << key << "'");
  HF_CHECK(it->second.defined() && it->second.numel() == 1, where.c_str(),
           "key '" << key << "' must hold one value, got shape " << shape_str(it->second.shape()));
  return it->second.item();
}
}  // namespace detail

ParamGroup trainable_parameters(const Module& module) {
  ParamGroup g;
  for (const auto& [n, p] : module.named_parameters())
    if (p.requires_grad()) {
      g.params.push_back(p);
      g.names.push_back(n);
    }
  return g;
}

void Optimizer::add_group(ParamGroup group, const std::string& who) {
  const std::string where = who + ": param group " + std::to_string(groups_.size());
  HF_CHECK(!group.params.empty(), where.c_str(), "has no parameters");
  HF_CHECK(group.names.empty() || group.names.size() == group.params.size(), where.c_str(),
           group.names.size() << " names for " << group.params.size() << " parameters");
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.impl().get());
  for (std::size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    HF_CHECK(p.defined() && is_floating(p.dtype()), where.c_str(), "parameter " << i << " is undefined or not floating point");
    HF_CHECK(p.is_leaf(), where.c_str(), "parameter " << i << " is not a leaf tensor");
    HF_CHECK(seen.insert(p.impl().get()).second, where.c_str(),
             "parameter " << i << " appears more than once (in this or an earlier group)");
  }
  state_.resize(state_.size() + group.params.size());
  groups_.push_back(std::move(group));
  initial_lr_.push_back(std::nullopt);
}

const ParamGroup& Optimizer::group(std::size_t g) const {
  HF_CHECK(g < groups_.size(), name().c_str(), "group " << g << " out of range (" << groups_.size() << " groups)");
  return groups_[g];
}

std::size_t Optimizer::num_params() const { return state_.size(); }

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  for (std::size_t g = 0; g < groups_.size(); ++g) set_lr(g, lr);
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  out["num_params"] = from_indices({static_cast<std::int64_t>(num_params())}, {});
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string k = "group." + std::to_string(g) + ".";
    out[k + "lr"] = detail::scalar64(lr(g));
    out[k + "weight_decay"] = detail::scalar64(weight_decay(g));
    if (initial_lr_[g]) out[k + "initial_lr"] = detail::scalar64(*initial_lr_[g]);
  }
  for (std::size_t i = 0; i < state_.size(); ++i)
    for (const auto& [key, t] : state_[i]) out["state." + std::to_string(i) + "." + key] = t.detach().clone();
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& sd) {
  const std::string where = name() + ".load_state_dict";
  const double n = detail::scalar_at(sd, "num_params", where);
  HF_CHECK(n == static_cast<double>(num_params()), where.c_str(),
           "the state is for " << n << " parameters, this optimizer has " << num_params());
  // Parse and check everything first: a failed load leaves the optimizer unchanged.
  std::vector<Tensor> params;
  for (const auto& g : groups_) params.insert(params.end(), g.params.begin(), g.params.end());
  std::vector<ParamState> state(state_.size());
  std::vector<double> lrs(groups_.size()), wds(groups_.size());
  std::vector<std::optional<double>> init(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string k = "group." + std::to_string(g) + ".";
    lrs[g] = detail::scalar_at(sd, k + "lr", where);
    wds[g] = detail::scalar_at(sd, k + "weight_decay", where);
    if (sd.count(k + "initial_lr")) init[g] = detail::scalar_at(sd, k + "initial_lr", where);
  }
  for (const auto& [key, t] : sd) {
    if (key.rfind("group.", 0) == 0) {
      const std::size_t g = std::stoul(key.substr(6));
      HF_CHECK(g < groups_.size(), where.c_str(), "key '" << key << "' names group " << g << " of " << groups_.size());
      continue;
    }
    if (key == "num_params") continue;
    HF_CHECK(key.rfind("state.", 0) == 0, where.c_str(), "unknown key '" << key << "'");
    const std::size_t dot = key.find('.', 6);
    HF_CHECK(dot != std::string::npos && dot > 6, where.c_str(), "malformed key '" << key << "'");
    std::size_t i = 0;
    try {
      i = std::stoul(key.substr(6, dot - 6));
    } catch (const std::logic_error&) {
      HF_FAIL(where.c_str(), "malformed key '" << key << "'");
    }
    HF_CHECK(i < params.size(), where.c_str(), "key '" << key << "' names parameter " << i << " of " << params.size());
    const std::string sub = key.substr(dot + 1);
    // Moment buffers have the parameter's shape; counters ("step") are 0-d.
    HF_CHECK(t.defined() && (t.dim() == 0 || t.shape() == params[i].shape()), where.c_str(),
             "key '" << key << "' has shape " << shape_str(t.shape()) << ", parameter " << i << " has "
                     << shape_str(params[i].shape()));
    const bool buffer = t.shape() == params[i].shape() && sub != "step";
    state[i][sub] = buffer ? t.detach().to(params[i].dtype()).clone() : t.detach().clone();
  }
  state_ = std::move(state);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    set_lr(g, lrs[g]);
    set_weight_decay(g, wds[g]);
    initial_lr_[g] = init[g];
  }
}

}  // namespace hf
