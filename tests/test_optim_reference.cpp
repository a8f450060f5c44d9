// Replays the PyTorch optimizer reference trajectories of OPTIM_REFERENCE_DIR (default
// ../shared/reference/optim; format in its README): parameters after each of 12 steps for SGD / Adam / AdamW
// cases, the clipped gradients of clip_grad_norm, and 30-step learning-rate sequences of the schedules.
// Everything in float64, scaled error <= 1e-12.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "hopfield/optim/adam.h"
#include "hopfield/optim/clip_grad.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/sgd.h"
#include "support.h"

using namespace hf;
namespace fs = std::filesystem;

namespace {
constexpr double kTol = 1e-12;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in.good(), "cannot read " << p.string());
  return nlohmann::json::parse(in);
}

std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& c, const std::vector<Tensor>& params) {
  const std::string kind = c.at("optimizer");
  const auto& o = c.at("options");
  auto get = [&](const char* k, double def) { return o.contains(k) ? o.at(k).get<double>() : def; };
  auto flag = [&](const char* k) { return o.contains(k) && o.at(k).get<bool>(); };
  Betas betas{0.9, 0.999};
  if (o.contains("betas")) betas = {o.at("betas")[0].get<double>(), o.at("betas")[1].get<double>()};
  if (kind == "SGD")
    return std::make_unique<SGD>(params, SGDOptions(get("lr", 0))
                                             .momentum(get("momentum", 0))
                                             .dampening(get("dampening", 0))
                                             .nesterov(flag("nesterov"))
                                             .weight_decay(get("weight_decay", 0)));
  if (kind == "Adam")
    return std::make_unique<Adam>(params, AdamOptions(get("lr", 1e-3))
                                              .betas(betas)
                                              .eps(get("eps", 1e-8))
                                              .weight_decay(get("weight_decay", 0))
                                              .amsgrad(flag("amsgrad")));
  if (kind == "AdamW")
    return std::make_unique<AdamW>(params, AdamWOptions(get("lr", 1e-3))
                                               .betas(betas)
                                               .eps(get("eps", 1e-8))
                                               .weight_decay(get("weight_decay", 1e-2))
                                               .amsgrad(flag("amsgrad")));
  FAIL("unknown optimizer '" << kind << "'");
  return nullptr;
}

std::string npy(const fs::path& dir, const std::string& name) { return (dir / name).string(); }

int replay_optimizer_case(const fs::path& dir) {
  const auto c = read_json(dir / "case.json");
  const int steps = c.at("steps"), n = c.at("params");
  std::vector<Tensor> params;
  for (int i = 0; i < n; ++i) params.push_back(load_npy(npy(dir, "param" + std::to_string(i) + "_initial.npy")).requires_grad_());
  auto opt = make_optimizer(c, params);
  double worst = 0;
  for (int k = 1; k <= steps; ++k) {
    opt->zero_grad();
    for (int i = 0; i < n; ++i)
      params[i].set_grad(load_npy(npy(dir, "param" + std::to_string(i) + "_grad_step" + std::to_string(k) + ".npy")));
    opt->step();
    for (int i = 0; i < n; ++i) {
      Tensor want = load_npy(npy(dir, "param" + std::to_string(i) + "_after_step" + std::to_string(k) + ".npy"));
      const double err = test::scaled_error(params[i], want);
      worst = std::max(worst, err);
      INFO(dir.filename().string() << ": param " << i << " after step " << k);
      CHECK(err <= kTol);
    }
  }
  MESSAGE(dir.filename().string() << ": " << steps << " steps x " << n << " params, worst scaled error " << worst);
  return 1;
}

void replay_clip_case(const fs::path& dir) {
  const auto c = read_json(dir / "case.json");
  const int n = c.at("params");
  std::vector<Tensor> params;
  for (int i = 0; i < n; ++i) {
    Tensor g = load_npy(npy(dir, "param" + std::to_string(i) + "_grad.npy"));
    Tensor p = zeros(g.shape(), Dtype::Float64).requires_grad_();
    p.set_grad(g);
    params.push_back(p);
  }
  const double total = clip_grad_norm(params, c.at("max_norm").get<double>(), c.at("norm_type").get<double>());
  const double want = c.at("total_norm_before");
  CHECK(std::abs(total - want) <= kTol * want);
  for (int i = 0; i < n; ++i) {
    INFO("clipped gradient " << i);
    CHECK(test::scaled_error(params[i].grad(), load_npy(npy(dir, "param" + std::to_string(i) + "_grad_clipped.npy"))) <= kTol);
  }
}

void replay_schedules(const fs::path& dir) {
  const auto c = read_json(dir / "case.json");
  const double base = c.at("base_lr");
  const int steps = c.at("steps");
  int matched = 0;
  for (const auto& [key, seq] : c.at("lr_at_step").items()) {
    Tensor p = zeros({1}, Dtype::Float64).requires_grad_();
    SGD opt(std::vector<Tensor>{p}, SGDOptions(base));
    std::unique_ptr<LRScheduler> s;
    if (key == "step_lr(step_size=7,gamma=0.5)") s = std::make_unique<StepLR>(opt, StepLROptions(7).gamma(0.5));
    else if (key == "exponential_lr(gamma=0.9)") s = std::make_unique<ExponentialLR>(opt, 0.9);
    else if (key == "cosine_annealing_lr(t_max=10,eta_min=0.001)")
      s = std::make_unique<CosineAnnealingLR>(opt, CosineAnnealingLROptions(10).eta_min(0.001));
    else if (key == "linear_warmup(start_factor=0.1,total_iters=5)")
      s = std::make_unique<LinearWarmup>(opt, LinearWarmupOptions().start_factor(0.1).total_iters(5));
    else FAIL("schedule '" << key << "' in the reference has no counterpart here");
    REQUIRE(static_cast<int>(seq.size()) == steps);
    for (int k = 0; k < steps; ++k) {
      const double want = seq[static_cast<std::size_t>(k)];
      INFO(key << " at step " << k + 1 << ": got " << opt.lr() << ", want " << want);
      CHECK(std::abs(opt.lr() - want) <= kTol * std::max(1.0, std::abs(want)));
      s->step();
    }
    ++matched;
  }
  MESSAGE("schedules: " << matched << " sequences of " << steps << " steps");
  CHECK(matched == 4);
}
}  // namespace

TEST_CASE("optim reference: every PyTorch case of OPTIM_REFERENCE_DIR is reproduced in float64") {
  auto root = test::shared_dir("OPTIM_REFERENCE_DIR", "reference/optim", "optimizer reference trajectories");
  if (!root) return;
  int optimizer_cases = 0, clip_cases = 0, schedule_cases = 0;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(*root))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    if (!fs::exists(d / "case.json")) continue;
    const auto c = read_json(d / "case.json");
    if (c.contains("optimizer")) optimizer_cases += replay_optimizer_case(d);
    else if (c.contains("max_norm")) replay_clip_case(d), ++clip_cases;
    else if (c.contains("lr_at_step")) replay_schedules(d), ++schedule_cases;
    else FAIL("unrecognised case " << d.string());
  }
  MESSAGE("matched " << optimizer_cases << " optimizer cases, " << clip_cases << " clip case(s), " << schedule_cases
                     << " schedule file(s)");
  CHECK(optimizer_cases > 0);
  CHECK(clip_cases > 0);
  CHECK(schedule_cases > 0);
}
