// optim/distributed.h and optim/data_parallel.h in one process (no mpirun): what a build without MPI, and a
// program started without a launcher, get. Every collective must leave the data as it is and every task-parallel
// unit must run here, so the programs behave as before MPI; DataParallel must not change a training run by a
// single bit. (The 2-rank behaviour is tested under mpirun: tests/mpi/.)
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/linear.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/data_parallel.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/trainer.h"

using namespace hf;

TEST_CASE("distributed in one process: rank 0 of 1, collectives leave the data as it is") {
  // No launcher started this test, so even an MPI build stays a world of one (ProcessGroup initialises nothing).
  int argc = 0;
  char** argv = nullptr;
  distributed::ProcessGroup group(&argc, &argv);
  CHECK_FALSE(distributed::is_initialized());
  CHECK(distributed::get_rank() == 0);
  CHECK(distributed::get_world_size() == 1);

  const std::vector<double> d0{1.5, -2.25, 1e-300, 3e300};
  const std::vector<float> f0{0.1f, -7.0f, 1e-30f};
  for (const auto op : {distributed::ReduceOp::Sum, distributed::ReduceOp::Mean}) {
    std::vector<double> d = d0;
    std::vector<float> f = f0;
    distributed::all_reduce(d, op);
    distributed::all_reduce(f, op);
    CHECK(d == d0);
    CHECK(f == f0);
    CHECK(distributed::all_reduce(0.3, op) == 0.3);
  }

  Generator g(3);
  const Tensor a = randn({4, 5}, Dtype::Float32, g), b = randn({7}, Dtype::Float64, g);
  const Tensor a0 = a.clone(), b0 = b.clone();
  distributed::all_reduce({a, b}, distributed::ReduceOp::Mean, 3);  // buckets smaller than a tensor
  distributed::broadcast({a, b});
  CHECK(a.to_vector() == a0.to_vector());
  CHECK(b.to_vector() == b0.to_vector());
  CHECK(distributed::hash_tensors({a, b}) == distributed::hash_tensors({a0, b0}));
  CHECK(distributed::hash_tensors({a, b}) != distributed::hash_tensors({b, a}));

  std::string text = "rank 0's text";
  distributed::broadcast(text);
  CHECK(text == "rank 0's text");
  distributed::barrier();
  CHECK(distributed::gather(2.5) == std::vector<double>{2.5});
  CHECK(distributed::gather_object("x") == std::vector<std::string>{"x"});
  CHECK(distributed::all_gather_object("y") == std::vector<std::string>{"y"});
  CHECK(distributed::all_gather({1.0, 2.0}) == std::vector<double>{1.0, 2.0});
  distributed::fault_point(1);  // HOPFIELD_FAULT_* unset: no fault
}

TEST_CASE("distributed in one process: run_distributed_jobs runs every unit here, done sees each result once") {
  for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
    std::map<std::size_t, std::string> done;
    distributed::run_distributed_jobs(
        9, threads, [](std::size_t j) { return "unit " + std::to_string(j); },
        [&](std::size_t j, const std::string& r) {
          CHECK(done.count(j) == 0);
          done[j] = r;
        },
        [](std::size_t j) { return j % 3 == 0; });
    REQUIRE(done.size() == 9);
    for (const auto& [j, r] : done) CHECK(r == "unit " + std::to_string(j));
  }
  // A unit's error reaches the caller.
  CHECK_THROWS_WITH_AS(distributed::run_distributed_jobs(
                           3, 1,
                           [](std::size_t j) -> std::string {
                             if (j == 1) throw Error("unit 1 failed");
                             return "";
                           },
                           [](std::size_t, const std::string&) {}),
                       doctest::Contains("unit 1 failed"), Error);
}

TEST_CASE("data parallel in one process: the shard is the whole batch and the run is the plain run, bit for bit") {
  // y = x . w + 0.5 on 22 rows in batches of 5 (the last one 2 rows), float32.
  Generator gd(11);
  const Tensor x = randn({22, 3}, Dtype::Float32, gd);
  const Tensor y = add(matmul(x, from_vector({1.0, -2.0, 0.5}, {3, 1}, Dtype::Float32)), 0.5);
  const auto rows = [](const Tensor& t, const std::vector<std::size_t>& idx) {
    std::vector<std::int64_t> i(idx.begin(), idx.end());
    return index_select(t, 0, from_indices(i, {i.size()}));
  };
  const auto train = [&](bool data_parallel) {
    Generator g(5);
    Linear net(LinearOptions(3, 1), g);
    std::unique_ptr<DataParallel> dp;
    if (data_parallel) dp = std::make_unique<DataParallel>(net);
    Adam opt(net, AdamOptions(0.05));
    DataLoader<std::vector<std::size_t>> loader(iota_indices(22), [](const std::vector<std::size_t>& i) { return i; },
                                                DataLoaderOptions(5).seed(2));
    Trainer trainer(net, opt, TrainerOptions().epochs(3));
    std::function<BatchLoss(const std::vector<std::size_t>&, const StepInfo&)> loss =
        [&](const std::vector<std::size_t>& b, const StepInfo&) {
          const std::vector<std::size_t> mine = dp ? dp->shard(b) : b;
          if (dp) CHECK(mine == b);
          return BatchLoss{mse_loss(net.forward(rows(x, mine)), rows(y, mine)), static_cast<double>(mine.size())};
        };
    if (dp) {
      CHECK(dp->rank() == 0);
      CHECK(dp->world_size() == 1);
      CHECK(dp->shard_range(7) == std::pair<std::size_t, std::size_t>{0, 7});
      trainer.grad_hook(dp->hook());
      loss = dp->loss(loss);
    }
    const TrainResult r = trainer.fit(loader, loss, [](std::int64_t) { return EpochMetrics{}; });
    CHECK(r.steps == 3 * 5);  // 4 batches of 5 and one of 2 per epoch
    std::vector<std::vector<double>> out;
    for (const Tensor& p : net.parameters()) out.push_back(p.to_vector());
    return out;
  };
  const auto plain = train(false), parallel = train(true);
  CHECK(plain == parallel);
  Generator g(5);
  Linear start(LinearOptions(3, 1), g);
  CHECK(start.parameters()[0].to_vector() != plain[0]);  // it did train
}
