// Optimizers, clipping and schedules beyond the PyTorch reference replay: option validation, parameter
// groups, module construction, state export/import, chained and plateau schedules. Expected values are
// worked out by hand in the comments.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/clip_grad.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/sgd.h"

using namespace hf;

namespace {
Tensor param(std::vector<double> v) {
  const std::size_t n = v.size();
  return from_vector(std::move(v), {n}, Dtype::Float64).requires_grad_();
}
void set_grad(Tensor& p, std::vector<double> g) { p.set_grad(from_vector(std::move(g), p.shape(), Dtype::Float64)); }

struct Frozen : Module {
  Tensor a, frozen, c;
  Frozen() {
    a = register_parameter("a", zeros({2}, Dtype::Float64));
    frozen = register_parameter("frozen", zeros({3}, Dtype::Float64), false);
    c = register_parameter("c", zeros({1}, Dtype::Float64));
  }
};
}  // namespace

TEST_CASE("optim: options are validated, naming the option and the value") {
  Tensor p = param({1.0});
  CHECK_THROWS_WITH_AS(Adam({p}, AdamOptions(1e-3).betas({1.5, 0.999})), "Adam: invalid beta1 1.5 (must be in [0, 1))",
                       Error);
  CHECK_THROWS_WITH_AS(AdamW({p}, AdamWOptions(1e-3).betas({0.9, 1.0})),
                       "AdamW: invalid beta2 1 (must be in [0, 1))", Error);
  CHECK_THROWS_WITH_AS(Adam({p}, AdamOptions(-0.1)), "Adam: invalid learning rate -0.1 (must be >= 0)", Error);
  CHECK_THROWS_WITH_AS(SGD({p}, SGDOptions(0.1).nesterov(true)), doctest::Contains("SGD: nesterov requires momentum > 0"),
                       Error);
  CHECK_THROWS_WITH_AS(SGD({p}, SGDOptions(0.1).weight_decay(-1)), "SGD: invalid weight_decay -1 (must be >= 0)", Error);
  CHECK_THROWS_WITH_AS(SGD({p, p}, SGDOptions(0.1)), doctest::Contains("appears more than once"), Error);
  CHECK_THROWS_AS(SGD(std::vector<Tensor>{}, SGDOptions(0.1)), Error);
}

TEST_CASE("optim: parameter groups keep their own lr and weight decay") {
  Tensor a = param({1.0, 2.0}), b = param({1.0});
  SGD opt(std::vector<ParamGroup>{ParamGroup{{a}, {}, {}, {}}, ParamGroup{{b}, {}, 0.01, 0.5}}, SGDOptions(0.1));
  set_grad(a, {1.0, -1.0});
  set_grad(b, {1.0});
  opt.step();
  // a: 1 - 0.1 * 1 = 0.9, 2 + 0.1 = 2.1; b: d = 1 + 0.5 * 1 = 1.5, 1 - 0.01 * 1.5 = 0.985
  CHECK(a.to_vector() == std::vector<double>{0.9, 2.1});
  CHECK(b.item() == doctest::Approx(0.985).epsilon(1e-15));
  CHECK(opt.lr(0) == 0.1);
  CHECK(opt.lr(1) == 0.01);
  // A parameter without a gradient is left alone (and gets no state).
  opt.zero_grad();
  set_grad(a, {1.0, 1.0});
  opt.step();
  CHECK(b.item() == doctest::Approx(0.985).epsilon(1e-15));
  CHECK(a.to_vector()[0] == doctest::Approx(0.8));
}

TEST_CASE("optim: built from a module, parameters with requires_grad false are skipped") {
  Frozen m;
  Adam opt(m, AdamOptions(0.1));
  REQUIRE(opt.num_params() == 2);
  CHECK(opt.group(0).names == std::vector<std::string>{"a", "c"});
  for (auto& [n, p] : m.named_parameters()) p.set_grad(ones(p.shape(), Dtype::Float64));
  opt.step();
  // First Adam step moves by lr * sign(g) (up to eps): m = 0.1 g, v = 0.001 g^2, both bias-corrected to g, g^2.
  CHECK(m.a.to_vector()[0] == doctest::Approx(-0.1).epsilon(1e-6));
  CHECK(m.frozen.to_vector() == std::vector<double>{0, 0, 0});
}

TEST_CASE("optim: state_dict round trip continues identically - mismatches are refused naming the key") {
  Generator gen(3);
  auto run = [&](Optimizer& opt, std::vector<Tensor>& ps, int steps, Generator& g) {
    for (int s = 0; s < steps; ++s) {
      opt.zero_grad();
      for (auto& p : ps) p.set_grad(randn(p.shape(), Dtype::Float64, g));
      opt.step();
    }
  };
  std::vector<Tensor> p1 = {randn({2, 3}, Dtype::Float64, gen).requires_grad_(), randn({4}, Dtype::Float64, gen).requires_grad_()};
  std::vector<Tensor> p2 = {p1[0].detach().clone().requires_grad_(), p1[1].detach().clone().requires_grad_()};
  Adam a1(p1, AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
  Generator g1(9);
  run(a1, p1, 3, g1);
  // p2 is only brought to p1's values; its moments come from the state dict.
  p2[0].copy_(p1[0]);
  p2[1].copy_(p1[1]);
  Adam a2(p2, AdamOptions(0.5));
  auto sd = a1.state_dict();
  CHECK(sd.count("state.0.exp_avg"));
  CHECK(sd.count("state.1.max_exp_avg_sq"));
  CHECK(sd.at("state.1.step").data<std::int64_t>()[0] == 3);
  a2.load_state_dict(sd);
  CHECK(a2.lr() == 0.01);
  Generator g2 = g1;
  run(a1, p1, 4, g1);
  a2.options().amsgrad(true).weight_decay(0.1);  // options other than lr / weight_decay belong to the code
  run(a2, p2, 4, g2);
  CHECK(p1[0].to_vector() == p2[0].to_vector());
  CHECK(p1[1].to_vector() == p2[1].to_vector());

  Tensor q = param({1, 2, 3, 4, 5});
  std::vector<Tensor> ps = {randn({2, 3}, Dtype::Float64, gen).requires_grad_(), q};
  Adam bad(ps, AdamOptions(0.01));
  CHECK_THROWS_WITH_AS(bad.load_state_dict(sd), doctest::Contains("'state.1.exp_avg' has shape (4,), parameter 1 has (5,)"), Error);
  SGD fewer(std::vector<Tensor>{q}, SGDOptions(0.1));
  CHECK_THROWS_WITH_AS(fewer.load_state_dict(sd), doctest::Contains("the state is for 2 parameters"), Error);
}

TEST_CASE("optim: clip_grad_norm (L2 and inf) and clip_grad_value") {
  Tensor a = param({0, 0}), b = param({0});
  set_grad(a, {3, -4});
  set_grad(b, {12});
  // L2: sqrt(9 + 16 + 144) = 13; coef = 6.5 / (13 + 1e-6) ~ 0.5.
  const double total = clip_grad_norm({a, b}, 6.5);
  CHECK(total == doctest::Approx(13.0).epsilon(1e-15));
  CHECK(b.grad().item() == doctest::Approx(12 * 6.5 / (13 + 1e-6)).epsilon(1e-15));
  // Below max_norm: coef clamps to 1, nothing changes.
  set_grad(a, {0.3, 0.4});
  CHECK(clip_grad_norm({a}, 1.0) == doctest::Approx(0.5));
  CHECK(a.grad().to_vector() == std::vector<double>{0.3, 0.4});
  // inf norm = max |g| = 4.
  set_grad(a, {3, -4});
  CHECK(clip_grad_norm({a}, 2.0, INFINITY) == 4.0);
  CHECK(a.grad().to_vector()[1] == doctest::Approx(-2.0).epsilon(1e-6));
  set_grad(a, {3, -4});
  clip_grad_value({a}, 3.5);
  CHECK(a.grad().to_vector() == std::vector<double>{3, -3.5});
  set_grad(a, {NAN, 1});
  CHECK_THROWS_WITH_AS(clip_grad_norm({a}, 1.0, 2.0, true), doctest::Contains("non-finite"), Error);
}

TEST_CASE("optim: SequentialLR chains a linear warm-up with an exponential decay (torch semantics)") {
  Tensor p = param({0});
  SGD opt(std::vector<Tensor>{p}, SGDOptions(1.0));
  auto warm = std::make_shared<LinearWarmup>(opt, LinearWarmupOptions().start_factor(0.1).total_iters(2));
  auto decay = std::make_shared<ExponentialLR>(opt, 0.5);
  SequentialLR sched(opt, {warm, decay}, {2});
  // epoch 0: 1.0 * 0.1; epoch 1: 0.1 * (1 + 0.9 / (2 * 0.1 + 0 * 0.9)) = 0.55;
  // epoch 2 = milestone: the decay restarts at its epoch 0, closed form 1.0 * 0.5^0 = 1; then 0.5, 0.25.
  const std::vector<double> want = {0.1, 0.55, 1.0, 0.5, 0.25};
  for (double w : want) {
    CHECK(opt.lr() == doctest::Approx(w).epsilon(1e-15));
    sched.step();
  }
  CHECK_THROWS_WITH_AS(SequentialLR(opt, {warm, decay}, {}), doctest::Contains("need 1 milestones"), Error);
}

TEST_CASE("optim: ReduceLROnPlateau halves the lr after `patience` bad epochs") {
  Tensor p = param({0});
  SGD opt(std::vector<Tensor>{p}, SGDOptions(1.0));
  ReduceLROnPlateau sched(opt, ReduceLROnPlateauOptions().patience(1).factor(0.5));
  // 1.0 best; 0.9 best; 0.95 bad 1; 0.96 bad 2 > 1 -> 0.5; 0.5 best; 0.6 bad 1; 0.7 bad 2 -> 0.25
  const std::vector<double> metric = {1.0, 0.9, 0.95, 0.96, 0.5, 0.6, 0.7};
  const std::vector<double> want = {1, 1, 1, 0.5, 0.5, 0.5, 0.25};
  for (std::size_t i = 0; i < metric.size(); ++i) {
    sched.step(metric[i]);
    CHECK(opt.lr() == want[i]);
  }
  CHECK(sched.best() == 0.5);
  CHECK_THROWS_WITH_AS(ReduceLROnPlateau(opt, ReduceLROnPlateauOptions().mode("up")), doctest::Contains("invalid mode 'up'"),
                       Error);
}

TEST_CASE("optim: schedule state export resumes the exact lr sequence") {
  auto make = [](SGD& opt) { return std::make_unique<CosineAnnealingLR>(opt, CosineAnnealingLROptions(6).eta_min(0.01)); };
  Tensor p = param({0}), q = param({0});
  SGD o1(std::vector<Tensor>{p}, SGDOptions(0.3)), o2(std::vector<Tensor>{q}, SGDOptions(0.3));
  auto s1 = make(o1);
  for (int i = 0; i < 7; ++i) s1->step();
  auto s2 = make(o2);
  s2->load_state_dict(s1->state_dict());
  o2.load_state_dict(o1.state_dict());
  for (int i = 0; i < 9; ++i) {
    s1->step();
    s2->step();
    CHECK(o1.lr() == o2.lr());
  }
  CHECK(s2->last_epoch() == 16);
  CHECK_THROWS_AS(StepLR(o1, StepLROptions(0)), Error);
}
