// The library's training loop (optim/trainer.h), data loader (datasets/data_loader.h), job runner
// (optim/jobs.h), resumable-run directory (optim/run_checkpoint.h) and the reusable models (layers/models/).
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <set>
#include <stdexcept>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/tape.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/models/mil_net.h"
#include "hopfield/layers/models/tabular_hopfield.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/jobs.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/optim/sgd.h"
#include "hopfield/optim/trainer.h"

using namespace hf;

namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("hf_trainer_" + std::to_string(::getpid()) + "_" + name);
}

// y = x . w_true + 0.5 on 24 rows of 3 features (float64), for a Linear(3, 1).
struct Regression {
  Tensor x, y;
  Regression() {
    Generator g(11);
    x = randn({24, 3}, Dtype::Float64, g);
    const Tensor w = from_vector({1.0, -2.0, 0.5}, {3, 1}, Dtype::Float64);
    y = add(matmul(x, w), 0.5);
  }
  Tensor rows(const std::vector<std::size_t>& idx, const Tensor& t) const {
    std::vector<std::int64_t> i(idx.begin(), idx.end());
    return index_select(t, 0, from_indices(i, {i.size()}));
  }
};

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> u = a.to_vector(), v = b.to_vector();
  REQUIRE(u.size() == v.size());
  double m = 0;
  for (std::size_t i = 0; i < u.size(); ++i) m = std::max(m, std::abs(u[i] - v[i]));
  return m;
}

}  // namespace

TEST_CASE("trainer: early stopping restores the weights of the best validation epoch") {
  Regression data;
  Generator g(3);
  Linear net(LinearOptions(3, 1), g);
  net.to(Dtype::Float64);
  SGD opt(net, SGDOptions(0.05));
  DataLoader<std::vector<std::size_t>> loader(iota_indices(24), [](const std::vector<std::size_t>& i) { return i; },
                                              DataLoaderOptions(6).seed(1));
  // Scripted scores: best in epoch 2, then two epochs without improvement (patience 2) stop training.
  const std::vector<double> scores{0.1, 0.5, 0.3, 0.2, 0.9};
  std::map<std::string, Tensor> at_epoch_2;
  Trainer trainer(net, opt, TrainerOptions().epochs(5).patience(2).mode("max"));
  const TrainResult r = trainer.fit(
      loader,
      [&](const std::vector<std::size_t>& b, const StepInfo&) {
        return BatchLoss{mse_loss(net.forward(data.rows(b, data.x)), data.rows(b, data.y))};
      },
      [&](std::int64_t epoch) {
        if (epoch == 2)
          for (const auto& [k, t] : net.state_dict()) at_epoch_2[k] = t.clone();
        return EpochMetrics{scores[static_cast<std::size_t>(epoch - 1)], {{"scripted", scores[static_cast<std::size_t>(epoch - 1)]}}};
      });
  CHECK(r.history.size() == 4);  // epoch 5 never ran
  CHECK(r.best_epoch == 2);
  CHECK(r.value("scripted") == 0.5);
  CHECK(r.steps == 16);
  for (const auto& [k, t] : net.state_dict())
    CHECK(std::memcmp(t.data<double>(), at_epoch_2.at(k).data<double>(), t.numel() * sizeof(double)) == 0);
  // The training loss went down (the data are a noiseless linear map).
  CHECK(r.history[3].train_loss < r.history[0].train_loss);
}

TEST_CASE("trainer: a run resumed from its checkpoint ends with the uninterrupted run's weights bit for bit") {
  Regression data;
  const fs::path ckpt = temp_path("resume.npz"), csv = temp_path("resume.csv");
  struct Crash : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  // run(crash_after): a fresh model and optimizer each time (different init seed when resuming, so the loaded
  // state must replace it); validate throws after epoch crash_after, like a killed process.
  const auto run = [&](std::uint64_t init_seed, std::int64_t crash_after, bool resume, const std::string& path,
                       TrainResult* out) {
    Generator g(init_seed);
    Linear net(LinearOptions(3, 1), g);
    net.to(Dtype::Float64);
    Adam opt(net, AdamOptions(0.05));
    ExponentialLR sched(opt, 0.9);
    DataLoader<std::vector<std::size_t>> loader(iota_indices(24), [](const std::vector<std::size_t>& i) { return i; },
                                                DataLoaderOptions(5).seed(7));
    TrainerOptions o = TrainerOptions().epochs(8).patience(3).mode("min").checkpoint(path).resume(resume);
    if (!path.empty()) o.metrics_csv(csv.string());
    Trainer trainer(net, opt, o);
    trainer.scheduler(&sched);
    *out = trainer.fit(
        loader,
        [&](const std::vector<std::size_t>& b, const StepInfo&) {
          return BatchLoss{mse_loss(net.forward(data.rows(b, data.x)), data.rows(b, data.y))};
        },
        [&](std::int64_t epoch) {
          if (epoch > crash_after) throw Crash("killed");
          const double loss = mse_loss(net.forward(data.x), data.y).item();
          // A noisy score, so that early stopping's state matters for where the run ends.
          return EpochMetrics{loss * (epoch % 3 == 0 ? 2.0 : 1.0), {{"val_loss", loss}}};
        });
    return net.state_dict();
  };
  TrainResult full, part, resumed;
  const auto a = run(1, 100, false, "", &full);
  fs::remove(ckpt);
  CHECK_THROWS_AS(run(1, 3, false, ckpt.string(), &part), Crash);
  REQUIRE(fs::exists(ckpt));
  const auto b = run(99, 100, true, ckpt.string(), &resumed);
  CHECK(resumed.resumed);
  CHECK(resumed.history.size() == full.history.size());
  CHECK(resumed.best_epoch == full.best_epoch);
  CHECK(resumed.steps == full.steps);
  for (const auto& [k, t] : a)
    CHECK(std::memcmp(t.data<double>(), b.at(k).data<double>(), t.numel() * sizeof(double)) == 0);
  for (std::size_t e = 0; e < full.history.size(); ++e) {
    CHECK(resumed.history[e].train_loss == full.history[e].train_loss);
    CHECK(resumed.history[e].score == full.history[e].score);
  }
  // The metrics CSV has one row per epoch, none repeated by the resume.
  std::ifstream in(csv);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  CHECK(lines == 1 + full.history.size());
  // A checkpoint of another model is refused, naming the file.
  {
    Linear other(LinearOptions(4, 1));
    other.to(Dtype::Float64);
    SGD opt(other, SGDOptions(0.1));
    Trainer t(other, opt, TrainerOptions().epochs(2).checkpoint(ckpt.string()).resume(true));
    CHECK_THROWS_WITH_AS(t.fit_batches([](std::int64_t) { return std::size_t{0}; },
                                       [](std::size_t, const StepInfo&) { return BatchLoss{}; },
                                       [](std::int64_t) { return EpochMetrics{}; }),
                         doctest::Contains(ckpt.string().c_str()), Error);
  }
  fs::remove(ckpt);
  fs::remove(csv);
}

TEST_CASE("trainer: accumulating k micro-batches equals one batch k times larger") {
  Regression data;
  const auto train = [&](std::size_t batch, std::int64_t accumulate) {
    Generator g(5);
    auto net = std::make_shared<Linear>(LinearOptions(3, 1), g);
    net->to(Dtype::Float64);
    SGD opt(*net, SGDOptions(0.1));
    // No shuffling: micro-batches 2i and 2i+1 are exactly the rows of big batch i.
    DataLoader<std::vector<std::size_t>> loader(iota_indices(24), [](const std::vector<std::size_t>& i) { return i; },
                                                DataLoaderOptions(batch).shuffle(false));
    Trainer trainer(*net, opt, TrainerOptions().epochs(3).accumulate(accumulate));
    const TrainResult r = trainer.fit(
        loader,
        [&](const std::vector<std::size_t>& b, const StepInfo&) {
          return BatchLoss{mse_loss(net->forward(data.rows(b, data.x)), data.rows(b, data.y))};
        },
        [](std::int64_t) { return EpochMetrics{}; });
    CHECK(r.steps == 3 * 24 / 8);
    return net;
  };
  const auto one = train(8, 1), four = train(2, 4);
  CHECK(max_abs_diff(one->weight, four->weight) < 1e-12);
  CHECK(max_abs_diff(one->bias, four->bias) < 1e-12);
  CHECK(max_abs_diff(one->weight, zeros_like(one->weight)) > 0.1);  // it did train
}

TEST_CASE("trainer: without zero_grad the gradients add up over steps, scale_accumulated(false) leaves k to the loss") {
  Regression data;
  // lr 0 keeps the weights where they start, so every step's fresh gradient is taken at the same point.
  const auto grads = [&](bool zero, std::int64_t accumulate, bool scale, double factor) {
    Generator g(5);
    Linear net(LinearOptions(3, 1), g);
    net.to(Dtype::Float64);
    SGD opt(net, SGDOptions(0.0));
    DataLoader<std::vector<std::size_t>> loader(iota_indices(24), [](const std::vector<std::size_t>& i) { return i; },
                                                DataLoaderOptions(4).seed(3));
    std::vector<std::vector<double>> seen;
    Trainer trainer(net, opt, TrainerOptions().epochs(1).zero_grad(zero).accumulate(accumulate).scale_accumulated(scale));
    trainer.grad_hook([&](Module& m) { seen.push_back(m.parameters()[0].grad().to_vector()); });
    trainer.fit(
        loader,
        [&](const std::vector<std::size_t>& b, const StepInfo&) {
          return BatchLoss{mul(mse_loss(net.forward(data.rows(b, data.x)), data.rows(b, data.y)), factor)};
        },
        [](std::int64_t) { return EpochMetrics{}; });
    return seen;
  };
  const auto fresh = grads(true, 1, true, 1.0), summed = grads(false, 1, true, 1.0);
  REQUIRE(fresh.size() == 6);
  REQUIRE(summed.size() == 6);
  std::vector<double> running(3, 0.0);
  for (std::size_t s = 0; s < 6; ++s)
    for (std::size_t i = 0; i < 3; ++i) {
      running[i] += fresh[s][i];
      CHECK(summed[s][i] == doctest::Approx(running[i]).epsilon(1e-12));
    }
  CHECK(std::abs(summed[5][0] - fresh[5][0]) > 1e-3);  // the sum is not the last gradient
  // The loss function dividing by k itself gives the trainer's own division bit for bit.
  CHECK(grads(true, 2, false, 0.5) == grads(true, 2, true, 1.0));
  CHECK(grads(true, 2, false, 1.0) != grads(true, 2, true, 1.0));
}

TEST_CASE("trainer: the gradient hook runs after backward and before the step, max_steps ends mid-epoch") {
  Regression data;
  Linear net(LinearOptions(3, 1));
  net.to(Dtype::Float64);
  const auto before = net.state_dict();
  std::map<std::string, Tensor> start;
  for (const auto& [k, t] : before) start[k] = t.clone();
  SGD opt(net, SGDOptions(0.1));
  DataLoader<std::vector<std::size_t>> loader(iota_indices(24), [](const std::vector<std::size_t>& i) { return i; },
                                              DataLoaderOptions(4).seed(2));
  int calls = 0;
  Trainer trainer(net, opt, TrainerOptions().epochs(10).max_steps(8));
  // An all-reduce would average the gradients here; zeroing them must leave the weights unchanged.
  trainer.grad_hook([&](Module& m) {
    ++calls;
    for (const Tensor& p : m.parameters()) {
      CHECK(p.grad().defined());
      Tensor g = p.grad();
      std::fill(g.data<double>(), g.data<double>() + g.numel(), 0.0);
    }
  });
  const TrainResult r = trainer.fit(
      loader,
      [&](const std::vector<std::size_t>& b, const StepInfo&) {
        return BatchLoss{mse_loss(net.forward(data.rows(b, data.x)), data.rows(b, data.y))};
      },
      [](std::int64_t) { return EpochMetrics{}; });
  CHECK(calls == 8);
  CHECK(r.steps == 8);
  CHECK(r.history.size() == 2);  // 6 steps in epoch 1, the budget runs out in epoch 2 (which is validated)
  for (const auto& [k, t] : net.state_dict()) CHECK(max_abs_diff(t, start.at(k)) == 0.0);
  CHECK_THROWS_WITH_AS(Trainer(net, opt, TrainerOptions().accumulate(0)), doctest::Contains("accumulate"), Error);
}

TEST_CASE("data loader: every sample once per epoch, in a seeded order, drop_last and long epochs") {
  const std::vector<std::size_t> idx = {3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377};
  BatchSampler s(idx, DataLoaderOptions(4).seed(9));
  for (std::uint64_t e = 1; e <= 3; ++e) {
    std::vector<std::size_t> seen;
    const auto batches = s.epoch_batches(e);
    CHECK(batches.size() == 3);
    CHECK(batches.back().size() == 3);
    for (const auto& b : batches) seen.insert(seen.end(), b.begin(), b.end());
    std::sort(seen.begin(), seen.end());
    CHECK(seen == idx);
  }
  CHECK(s.epoch_batches(1) == BatchSampler(idx, DataLoaderOptions(4).seed(9)).epoch_batches(1));
  CHECK(s.epoch_batches(1) != s.epoch_batches(2));
  CHECK(s.epoch_batches(1) != BatchSampler(idx, DataLoaderOptions(4).seed(10)).epoch_batches(1));
  CHECK(BatchSampler(idx, DataLoaderOptions(4).seed(9).drop_last(true)).epoch_batches(1).size() == 2);
  CHECK(BatchSampler(idx, DataLoaderOptions(4).shuffle(false)).epoch_batches(1)[0] == std::vector<std::size_t>{3, 5, 8, 13});
  // min_epoch_size: whole passes until at least 25 samples (3 passes of 11), each sample 3 times.
  const auto long_epoch = BatchSampler(idx, DataLoaderOptions(4).seed(9).min_epoch_size(25)).epoch_batches(1);
  std::multiset<std::size_t> counts;
  for (const auto& b : long_epoch) counts.insert(b.begin(), b.end());
  CHECK(counts.size() == 33);
  for (std::size_t i : idx) CHECK(counts.count(i) == 3);
  // Bucketing: every batch comes from one window of 2 batches, sorted by size inside it.
  std::vector<std::size_t> sizes(12);
  for (std::size_t i = 0; i < 12; ++i) sizes[i] = (i * 7) % 12;
  const auto buckets = BatchSampler(iota_indices(12), DataLoaderOptions(3).seed(4).bucket_by(sizes).bucket_window(2)).epoch_batches(1);
  std::vector<std::size_t> all;
  for (const auto& b : buckets) {
    CHECK(std::is_sorted(b.begin(), b.end(), [&](std::size_t a, std::size_t c) { return sizes[a] < sizes[c]; }));
    all.insert(all.end(), b.begin(), b.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == iota_indices(12));
  CHECK_THROWS_WITH_AS(BatchSampler({}, DataLoaderOptions(2)), doctest::Contains("no samples"), Error);
  CHECK_THROWS_WITH_AS(BatchSampler(idx, DataLoaderOptions(0)), doctest::Contains("batch_size"), Error);
}

TEST_CASE("data loader: the bag collate pads every bag to the largest and masks exactly the padded slots") {
  MilDataset ds;
  ds.num_features = 2;
  ds.add_bag(1, 0, {1, 2, 3, 4, 5, 6});  // 3 instances
  ds.add_bag(2, 1, {7, 8});              // 1
  ds.add_bag(3, 1, {9, 10, 11, 12});     // 2
  DataLoader<BagBatch> loader(iota_indices(3), BagBatchCollate(ds, nullptr, Dtype::Float64),
                              DataLoaderOptions(3).shuffle(false));
  REQUIRE(loader.begin_epoch(1) == 1);
  const BagBatch b = loader.batch(0);
  CHECK(b.x.shape() == Shape{3, 3, 2});
  CHECK(b.mask.to_vector() == std::vector<double>{0, 0, 0, 0, 1, 1, 0, 0, 1});
  CHECK(b.labels.to_vector() == std::vector<double>{0, 1, 1});
  const std::vector<double> x = b.x.to_vector();
  CHECK(x[6] == 7);   // bag 2, instance 0
  CHECK(x[8] == 0);   // bag 2, padded slot 1
  CHECK(x[14] == 11);  // bag 3, instance 1
  CHECK(bag_sizes(ds) == std::vector<std::size_t>{3, 1, 2});
}

TEST_CASE("jobs: every job runs once whatever the thread count, done is serialised, the first error is rethrown") {
  for (std::size_t threads : {1, 2, 5}) {
    std::vector<int> ran(40, 0);
    int done = 0;  // not atomic: done() runs under the runner's lock
    run_jobs(40, threads, [&](std::size_t i) { ran[i] += 1; }, [&](std::size_t i) { done += static_cast<int>(i); });
    CHECK(std::count(ran.begin(), ran.end(), 1) == 40);
    CHECK(done == 39 * 40 / 2);
  }
  std::atomic<int> after{0};
  CHECK_THROWS_WITH_AS(run_jobs(100, 2,
                                [&](std::size_t i) {
                                  if (i == 3) HF_FAIL("job", "fold 3 failed");
                                  if (i > 60) ++after;
                                }),
                       "job: fold 3 failed", Error);
  CHECK(after.load() < 40);  // jobs stop being handed out after the failure
}

TEST_CASE("run checkpoint: finished units round-trip exactly, a foreign or damaged directory is refused") {
  const fs::path dir = temp_path("run");
  fs::remove_all(dir);
  const nlohmann::json config = {{"program", "test"}, {"seed", 1}};
  {
    RunCheckpoint c(dir.string(), config, false);
    CHECK_FALSE(c.has("fold_1"));
    c.save("fold_1", {{"auc", 0.1 + 0.2}, {"probs", {1.0 / 3.0, 2.0 / 3.0}}});
  }
  CHECK_THROWS_WITH_AS(RunCheckpoint(dir.string(), config, false), doctest::Contains("--resume"), Error);
  CHECK_THROWS_WITH_AS(RunCheckpoint(dir.string(), {{"program", "test"}, {"seed", 2}}, true),
                       doctest::Contains("holds a different run"), Error);
  RunCheckpoint c(dir.string(), config, true);
  REQUIRE(c.has("fold_1"));
  CHECK(c.load("fold_1").at("auc").get<double>() == 0.1 + 0.2);
  CHECK(c.load("fold_1").at("probs").at(0).get<double>() == 1.0 / 3.0);
  std::ofstream(dir / "fold_2.json") << "{\"auc\": 0.";
  CHECK_THROWS_WITH_AS(c.load("fold_2"), doctest::Contains("fold_2.json is not a valid"), Error);
  std::ofstream(dir / "run.json") << "garbage";
  CHECK_THROWS_WITH_AS(RunCheckpoint(dir.string(), config, true), doctest::Contains("run.json is not a valid"), Error);
  const fs::path other = temp_path("other");
  fs::create_directories(other);
  std::ofstream(other / "notes.txt") << "x";
  CHECK_THROWS_WITH_AS(RunCheckpoint(other.string(), config, true), doctest::Contains("not a checkpoint directory"), Error);
  fs::remove_all(dir);
  fs::remove_all(other);
}

TEST_CASE("run checkpoint: run_unit computes a unit once, reads it back after, and names a file it cannot read") {
  const fs::path dir = temp_path("units");
  fs::remove_all(dir);
  RunCheckpoint c(dir.string(), {{"program", "test"}}, false);
  int computed = 0;
  const auto to_json = [](double v) { return nlohmann::json{{"v", v}}; };
  const auto from_json = [](const nlohmann::json& j) { return j.at("v").get<double>(); };
  const auto unit = [&](const RunCheckpoint* ck) { return run_unit(ck, "u", [&] { return ++computed / 3.0; }, to_json, from_json); };
  CHECK(unit(&c) == 1.0 / 3.0);
  CHECK(unit(&c) == 1.0 / 3.0);  // read back exactly, not computed again
  CHECK(computed == 1);
  CHECK(unit(nullptr) == 2.0 / 3.0);  // no checkpoint: always computed
  std::ofstream(dir / "u.json") << "{\"w\": 1}";
  CHECK_THROWS_WITH_AS(unit(&c), doctest::Contains("u.json is damaged"), Error);
  fs::remove_all(dir);
}

TEST_CASE("run checkpoint: a NaN metric is saved as null and read back as NaN, through a unit file") {
  const fs::path dir = temp_path("nan");
  fs::remove_all(dir);
  RunCheckpoint c(dir.string(), {{"program", "test"}}, false);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  c.save("u", {{"val_loss", json_number(nan)}, {"auc", json_number(0.1 + 0.2)}});
  const nlohmann::json j = c.load("u");
  CHECK(j.at("val_loss").is_null());
  CHECK(std::isnan(number_from_json(j.at("val_loss"))));
  CHECK(number_from_json(j.at("auc")) == 0.1 + 0.2);
  CHECK_THROWS_AS(number_from_json(nlohmann::json("x")), nlohmann::json::type_error);
  fs::remove_all(dir);
}

TEST_CASE("layers: a layer built with a generator is initialised once, with the draws of reset_parameters") {
  Generator g1(42), g2(42);
  Linear a(LinearOptions(5, 3), g1);
  Linear b(LinearOptions(5, 3), init::deferred);
  CHECK(max_abs_diff(b.weight, zeros_like(b.weight)) == 0.0);
  b.reset_parameters(g2);
  CHECK(max_abs_diff(a.weight, b.weight) == 0.0);
  CHECK(max_abs_diff(a.bias, b.bias) == 0.0);
  CHECK(g1.next_u64() == g2.next_u64());  // both generators advanced by exactly one initialisation
  // A composite layer draws nothing from the default generator when given its own, and draws its children in
  // its reset_parameters order.
  HopfieldOptions ho(8);
  ho.num_heads(2).hidden_size(4);
  const std::string before = default_generator().state();
  Generator g3(7), g4(7);
  HopfieldPooling p(HopfieldPoolingOptions(ho), g3);
  CHECK(default_generator().state() == before);
  HopfieldPooling q(HopfieldPoolingOptions(ho), init::deferred);
  q.reset_parameters(g4);
  for (const auto& [k, t] : p.state_dict()) CHECK(max_abs_diff(t, q.state_dict().at(k)) == 0.0);
  CHECK(g3.next_u64() == g4.next_u64());
}

TEST_CASE("models: MilNet gives one logit per bag, ignores padded instances and is fixed by its seed") {
  Generator g(3);
  const Tensor x = randn({2, 4, 5}, Dtype::Float32, g);
  const Tensor mask = from_mask({false, false, true, true, false, false, false, false}, {2, 4});
  MilNet net(MilNetOptions(5).width(16).num_heads(2).hidden_size(4).depth(2).seed(4));
  net.eval();
  const Tensor y = net.forward(x, mask);
  CHECK(y.shape() == Shape{2});
  // Changing bag 0's padded instances changes nothing.
  std::vector<double> v = x.to_vector();
  for (std::size_t i = 2 * 5; i < 4 * 5; ++i) v[i] = 100.0;
  CHECK(max_abs_diff(net.forward(from_vector(v, {2, 4, 5}), mask), y) == 0.0);
  MilNet same(MilNetOptions(5).width(16).num_heads(2).hidden_size(4).depth(2).seed(4));
  same.eval();
  CHECK(max_abs_diff(same.forward(x, mask), y) == 0.0);
  CHECK(net.num_parameters() == 5 * 16 + 16 + 16 * 16 + 16 + same.pooling->num_parameters() + 16 + 1);
  CHECK_THROWS_WITH_AS(MilNet(MilNetOptions(5).activation("swish")), doctest::Contains("swish"), Error);
  CHECK_THROWS_WITH_AS(MilNet(MilNetOptions(0)), doctest::Contains("num_features=0"), Error);
}

TEST_CASE("models: TabularHopfieldNet classifies rows through learned prototypes or stored rows") {
  Generator g(8);
  const Tensor x = randn({6, 4}, Dtype::Float32, g);
  TabularHopfieldNet proto(TabularHopfieldNetOptions(4, 3).width(8).num_heads(2).hidden_size(4).prototypes(5).seed(1));
  proto.eval();
  CHECK(proto.forward(x).shape() == Shape{6, 3});
  CHECK(proto.prototypes->lookup_weights.shape() == Shape{1, 5, 8});
  TabularHopfieldNet mem(TabularHopfieldNetOptions(4, 3).memory("memory").width(8).num_heads(2).hidden_size(4).seed(1));
  mem.eval();
  CHECK(mem.uses_stored_rows());
  // A query that may not see its own stored row (self mask) gets another answer than one that may.
  const Tensor self = from_mask(std::vector<bool>(36, false), {6, 6});
  std::vector<bool> eye(36, false);
  for (std::size_t i = 0; i < 6; ++i) eye[i * 7] = true;
  const Tensor a = mem.forward(x, x, self), b = mem.forward(x, x, from_mask(eye, {6, 6}));
  CHECK(a.shape() == Shape{6, 3});
  CHECK(max_abs_diff(a, b) > 0.0);
  CHECK_THROWS_WITH_AS(mem.forward(x), doctest::Contains("stored rows"), Error);
  CHECK_THROWS_WITH_AS(TabularHopfieldNet(TabularHopfieldNetOptions(4, 3).memory("lookup")), doctest::Contains("lookup"), Error);
}

TEST_CASE("models: the README's MIL program trains on a user's CSV, resumes, and beats chance on planted bags") {
  const fs::path dir = temp_path("readme");
  fs::remove_all(dir);
  fs::create_directories(dir);
  {  // the user's file: planted bags written as bag_id,label,f1..f4
    const MilDataset src = planted_mil_bags(PlantedMilOptions(60, 4).signal(4.0).seed(3));
    std::ofstream f(dir / "my_bags.csv");
    f << "bag_id,label,f1,f2,f3,f4\n" << std::setprecision(17);
    for (std::size_t b = 0; b < src.num_bags(); ++b)
      for (std::size_t i = src.bag_offsets[b]; i < src.bag_offsets[b + 1]; ++i) {
        f << b << ',' << src.bag_labels[b];
        for (std::size_t k = 0; k < 4; ++k) f << ',' << src.instance(i)[k];
        f << '\n';
      }
  }
  const fs::path old = fs::current_path();
  fs::current_path(dir);
  const auto readme = [&]() {
    // ---- the README's code, verbatim (epochs 100 -> 15 to keep the test short)
    MilDataset ds = load_mil_csv("my_bags.csv");
    Fold split = stratified_kfold(ds.bag_labels, 5, /*seed*/ 1)[0];  // train 4/5, validate on 1/5
    Standardizer st = fit_standardizer(ds, split.train);
    BagBatch val = make_bag_batch(ds, split.test, &st);
    Labels val_y;
    for (std::size_t b : split.test) val_y.push_back(ds.bag_labels[b]);

    MilNet net(MilNetOptions(ds.num_features).width(64).num_heads(4).seed(1));
    AdamW opt(net, AdamWOptions(1e-3).weight_decay(1e-4));
    DataLoader<BagBatch> loader(split.train, BagBatchCollate(ds, &st), DataLoaderOptions(8).seed(1).bucket_by(bag_sizes(ds)));
    Trainer trainer(net, opt, TrainerOptions().epochs(15).patience(20).clip_grad_norm(1.0)
                                  .metrics_csv("metrics.csv").checkpoint("run.ckpt.npz").resume(true));
    TrainResult r = trainer.fit(loader,
        [&](const BagBatch& b, const StepInfo&) {
          return BatchLoss{binary_cross_entropy_with_logits(net.forward(b.x, b.mask), b.labels)};
        },
        [&](std::int64_t) {
          NoGrad no_tape;
          net.eval();
          const double auc = roc_auc(sigmoid(net.forward(val.x, val.mask)).to_vector(), val_y);
          return EpochMetrics{auc, {{"val_auc", auc}}};
        });
    net.save("mil_net.npz");  // the best epoch's weights (r.best_epoch)
    // ----
    return r;
  };
  const TrainResult first = readme();
  CHECK_FALSE(first.resumed);
  CHECK(first.best_score > 0.75);
  CHECK(fs::exists("mil_net.npz"));
  const TrainResult again = readme();  // finished run in the checkpoint: nothing trained again, same answer
  CHECK(again.resumed);
  CHECK(again.best_epoch == first.best_epoch);
  CHECK(again.best_score == first.best_score);
  fs::current_path(old);
  fs::remove_all(dir);
}

TEST_CASE("metrics: mean_and_std over folds uses the sample standard deviation") {
  // (1 + 2 + 3 + 4) / 4 = 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, 5 / 3 under the root.
  const MeanStd m = mean_and_std({1, 2, 3, 4});
  CHECK(m.mean == 2.5);
  CHECK(m.std == doctest::Approx(1.2909944487358056).epsilon(1e-15));
  CHECK(mean_and_std({0.7}).std == 0.0);
  CHECK_THROWS_WITH_AS(mean_and_std({}), "mean_and_std: no values", Error);
}
