// Checkpoints: N steps straight vs N/2 + save + load into fresh objects + N/2 must give bit-identical
// parameters; truncated, corrupted and tampered files are refused and leave the model unchanged.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <unistd.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/npz.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/checkpoint.h"
#include "hopfield/optim/lr_scheduler.h"

using namespace hf;
namespace fs = std::filesystem;

namespace {
// y = x W + b, then a learned per-output scale in a child module (dotted name "head.scale").
struct Head : Module {
  Tensor scale;
  explicit Head(Generator& g) { scale = register_parameter("scale", uniform({2}, 0.5, 1.5, Dtype::Float64, g)); }
};
struct TinyNet : Module {
  Tensor weight, bias;
  std::shared_ptr<Head> head;
  explicit TinyNet(Generator& g) {
    weight = register_parameter("weight", randn({3, 2}, Dtype::Float64, g));
    bias = register_parameter("bias", zeros({2}, Dtype::Float64));
    head = register_module("head", std::make_shared<Head>(g));
  }
  Tensor forward(const Tensor& x) { return mul(add(matmul(x, weight), bias), head->scale); }
};

// Everything a run owns; the schedule is a warm-up chained with cosine annealing.
struct Run {
  Generator init;  // declared first: initialises the model below
  TinyNet model;
  AdamW opt;
  std::shared_ptr<LinearWarmup> warm;
  std::shared_ptr<CosineAnnealingLR> cosine;
  SequentialLR sched;
  Generator data;
  Run(std::uint64_t init_seed, std::uint64_t data_seed)
      : init(init_seed),
        model(init),
        opt(model, AdamWOptions(0.05).weight_decay(0.01).amsgrad(true)),
        warm(std::make_shared<LinearWarmup>(opt, LinearWarmupOptions().start_factor(0.2).total_iters(3))),
        cosine(std::make_shared<CosineAnnealingLR>(opt, CosineAnnealingLROptions(8).eta_min(0.001))),
        sched(opt, {warm, cosine}, {3}),
        data(data_seed) {}
  // One step on a fresh random batch drawn from the run's generator (so its state matters for resuming).
  void step() {
    Tensor x = randn({4, 3}, Dtype::Float64, data), y = randn({4, 2}, Dtype::Float64, data);
    Tensor d = sub(model.forward(x), y);
    Tensor loss = mean(mul(d, d));
    opt.zero_grad();
    loss.backward();
    opt.step();
    sched.step();
  }
  CheckpointParts parts() { return {&model, &opt, &sched, &data}; }
};

std::string scratch(const std::string& name) {
  return (fs::temp_directory_path() / ("hf_ckpt_" + std::to_string(::getpid()) + "_" + name)).string();
}
std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void spit(const std::string& p, const std::string& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(b.data(), static_cast<std::streamsize>(b.size()));
}
std::vector<double> flat_params(const Module& m) {
  std::vector<double> out;
  for (const auto& [n, p] : m.named_parameters())
    for (double v : p.to_vector()) out.push_back(v);
  return out;
}
}  // namespace

TEST_CASE("checkpoint: N steps straight equal N/2 + save + load into fresh objects + N/2, bit for bit") {
  const int N = 10;
  Run straight(1, 42);
  for (int i = 0; i < N; ++i) straight.step();

  const std::string path = scratch("resume.npz");
  {
    Run first(1, 42);
    for (int i = 0; i < N / 2; ++i) first.step();
    save_checkpoint(path, first.parts(), N / 2);
  }
  // Different initial parameters and data seed: everything must come from the file.
  Run resumed(7, 1234);
  CHECK(flat_params(resumed.model) != flat_params(straight.model));
  CHECK(load_checkpoint(path, resumed.parts()) == N / 2);
  for (int i = N / 2; i < N; ++i) resumed.step();

  CHECK(flat_params(resumed.model) == flat_params(straight.model));  // exact equality of doubles
  CHECK(resumed.opt.lr() == straight.opt.lr());
  CHECK(resumed.sched.last_epoch() == straight.sched.last_epoch());
  CHECK(resumed.data.state() == straight.data.state());

  // The file is a plain npz with the documented members.
  auto members = load_npz(path);
  CHECK(members.count("model.head.scale"));
  CHECK(members.count("optimizer.state.0.exp_avg"));
  CHECK(members.count("optimizer.state.2.max_exp_avg_sq"));
  CHECK(members.count("scheduler.child.1.last_epoch"));
  CHECK(members.count("rng"));
  CHECK(members.at("epoch").data<std::int64_t>()[0] == N / 2);
  fs::remove(path);
}

TEST_CASE("checkpoint: truncated, corrupted or tampered files are refused and change nothing") {
  const std::string path = scratch("good.npz"), bad = scratch("bad.npz");
  Run a(1, 42);
  for (int i = 0; i < 3; ++i) a.step();
  save_checkpoint(path, a.parts(), 3);
  const std::string bytes = slurp(path);

  Run b(5, 6);
  const auto before = flat_params(b.model);
  const double lr_before = b.opt.lr();
  auto refused = [&](const std::string& what) {
    INFO(what);
    CHECK_THROWS_AS(load_checkpoint(bad, b.parts()), Error);
    CHECK(flat_params(b.model) == before);
    CHECK(b.opt.lr() == lr_before);
  };

  spit(bad, bytes.substr(0, bytes.size() / 2));
  refused("truncated to half");
  CHECK_THROWS_WITH_AS(load_checkpoint(bad, b.parts()), doctest::Contains(("load_npz " + bad).c_str()), Error);

  std::string flipped = bytes;
  flipped[bytes.size() / 3] = static_cast<char>(flipped[bytes.size() / 3] ^ 0x40);
  spit(bad, flipped);
  refused("one flipped byte");

  // Rewritten as a valid zip (fresh CRCs) with one value changed: only the checksum member catches it.
  auto members = load_npz(path);
  members.at("model.bias").data<double>()[0] += 1e-9;
  save_npz(bad, members);
  refused("tampered member");
  CHECK_THROWS_WITH_AS(load_checkpoint(bad, b.parts()), doctest::Contains("checksum mismatch"), Error);

  // A dropped member is caught the same way.
  members = load_npz(path);
  members.erase("optimizer.state.1.exp_avg");
  save_npz(bad, members);
  refused("dropped member");

  // A missing file names the path.
  CHECK_THROWS_WITH_AS(load_checkpoint(scratch("missing.npz"), b.parts()), doctest::Contains("cannot open"), Error);

  // The two save formats mixed up: each loader names the other one.
  b.model.save(bad);
  refused("a Module::save file");
  CHECK_THROWS_WITH_AS(load_checkpoint(bad, b.parts()), doctest::Contains("loads with Module::load"), Error);
  CHECK_THROWS_WITH_AS(b.model.load(path), doctest::Contains("load it with load_checkpoint"), Error);

  // The intact file still loads.
  CHECK(load_checkpoint(path, b.parts()) == 3);
  CHECK(flat_params(b.model) == flat_params(a.model));
  fs::remove(path);
  fs::remove(bad);
}
