// The hflayers demonstrations' runs (see hopfield/layers/models/demo_runs.h).
#include "hopfield/layers/models/demo_runs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/trainer.h"
#include "hopfield/report/plot.h"

namespace hf {

std::vector<DemoVariant> demo_variants(std::size_t epochs, std::size_t lookup_epochs) {
  return {{"hopfield", DemoKind::Association, false, epochs, 0},
          {"hopfield_adapted", DemoKind::Association, true, epochs, 1},
          {"hopfield_pooling", DemoKind::Pooling, false, epochs, 2},
          {"hopfield_pooling_adapted", DemoKind::Pooling, true, epochs, 3},
          {"hopfield_lookup", DemoKind::Lookup, false, lookup_epochs, 4},
          {"hopfield_lookup_adapted", DemoKind::Lookup, true, lookup_epochs, 5}};
}

std::vector<std::vector<double>> unique_instances(const MilDataset& ds, const std::vector<std::size_t>& bags) {
  std::set<std::vector<double>> rows;
  for (std::size_t b : bags)
    for (std::size_t r = ds.bag_offsets[b]; r < ds.bag_offsets[b + 1]; ++r)
      rows.insert(std::vector<double>(ds.instance(r), ds.instance(r) + ds.num_features));
  return {rows.begin(), rows.end()};
}

namespace {

// Correct predictions at threshold 0.5 among logits z for labels y.
double correct(const Tensor& z, const Tensor& y) {
  const std::vector<double> zs = z.to_vector(), ys = y.to_vector();
  double right = 0;
  for (std::size_t i = 0; i < zs.size(); ++i) right += ((zs[i] > 0) == (ys[i] > 0.5)) ? 1 : 0;
  return right;
}

}  // namespace

DemoVariantResult train_demo_variant(const DemoVariant& v, const MilDataset& ds, const std::vector<std::size_t>& train,
                                     const std::vector<std::size_t>& eval, std::size_t epochs,
                                     const DemoRunOptions& s) {
  const auto t0 = std::chrono::steady_clock::now();
  Generator gen(s.seed);
  std::vector<std::vector<double>> uniq;
  if (v.kind == DemoKind::Lookup) uniq = unique_instances(ds, train);
  // The weights come from gen; the modules' own streams (the association dropout) are seeded from
  // default_generator() at construction, so seed it too: the masks then change with --seed like the rest.
  manual_seed(s.seed);
  DemoNetOptions o = s.adapted;
  o.kind(v.kind).num_features(ds.num_features).num_instances(ds.bag_size(train.front())).embedding(s.embedding);
  DemoNet net(o.lookup_quantity(std::max<std::size_t>(1, uniq.size())).adapted(v.adapted), gen);
  if (v.kind == DemoKind::Lookup && v.adapted && s.embedding == 0) {
    // Start the stored patterns at the distinct training instances (the notebooks' lookup_weights[:] = ...).
    // With an embedding they live in the embedding space, so they keep their random start.
    std::vector<double> w;
    for (const auto& r : uniq) w.insert(w.end(), r.begin(), r.end());
    net.lookup->lookup_weights.copy_(from_vector(w, {1, uniq.size(), ds.num_features}));
  }
  AdamW opt(net, AdamWOptions(s.lr));
  const BagBatch eval_batch = make_bag_batch(ds, eval);
  DataLoader<BagBatch> loader(train, BagBatchCollate(ds), DataLoaderOptions(s.batch_size).seed(s.seed));

  DemoVariantResult r;
  r.name = v.name;
  r.parameters = net.num_parameters(true);
  if (!s.quiet) std::printf("\n== %s (%zu trainable parameters)\n%6s %11s %10s %11s %10s\n", v.name.c_str(), r.parameters,
                            "epoch", "train_loss", "train_acc", "eval_loss", "eval_acc");
  double right = 0, loss_sum = 0;
  Trainer trainer(net, opt,
                  TrainerOptions()
                      .epochs(static_cast<std::int64_t>(epochs))
                      .clip_grad_norm(s.clip)
                      .zero_grad(!s.accumulate)
                      .progress(v.name));
  trainer.fit(
      loader,
      [&](const BagBatch& b, const StepInfo& info) {
        if (info.batch == 0) right = loss_sum = 0;
        const Tensor z = net.forward(b.x);
        Tensor loss = binary_cross_entropy_with_logits(z, b.labels);
        right += correct(z.detach(), b.labels);
        loss_sum += loss.item() * static_cast<double>(b.labels.numel());
        return BatchLoss{loss};
      },
      [&](std::int64_t epoch) {
        // Mean BCE and accuracy on the held-out set (eval mode, no tape).
        NoGrad ng;
        net.eval();
        const Tensor z = net.forward(eval_batch.x);
        const double eval_loss = binary_cross_entropy_with_logits(z, eval_batch.labels).item();
        const double eval_acc = correct(z, eval_batch.labels) / static_cast<double>(eval.size());
        const auto n = static_cast<double>(train.size());
        r.epochs.push_back({static_cast<std::size_t>(epoch), loss_sum / n, right / n, eval_loss, eval_acc});
        if (!s.quiet) {
          std::printf("%6lld %11.4f %10.4f %11.4f %10.4f\n", static_cast<long long>(epoch), loss_sum / n, right / n,
                      eval_loss, eval_acc);
          std::fflush(stdout);
        }
        return EpochMetrics{eval_acc, {}};
      });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void write_demo_outputs(const std::string& out_dir, const std::vector<DemoSeedRun>& runs, bool several) {
  std::string csv = std::string(several ? "seed," : "") + "variant,epoch,train_loss,train_accuracy,eval_loss,eval_accuracy\n";
  char line[256];
  for (const DemoSeedRun& run : runs)
    for (const DemoVariantResult& r : run.results)
      for (const DemoEpoch& e : r.epochs) {
        std::snprintf(line, sizeof line, ",%zu,%.10g,%.10g,%.10g,%.10g\n", e.epoch, e.train_loss, e.train_accuracy,
                      e.eval_loss, e.eval_accuracy);
        csv += (several ? std::to_string(run.seed) + "," : std::string()) + r.name + line;
      }
  write_text_file(out_dir + "/metrics.csv", csv);
  if (runs.size() > 1) return;  // the plots are the first seed's, written while it ran
  const DemoVariantResult& r = runs.back().results.back();
  std::vector<double> epoch, train_loss, train_acc, eval_loss, eval_acc;
  for (const DemoEpoch& e : r.epochs) {
    epoch.push_back(static_cast<double>(e.epoch));
    train_loss.push_back(e.train_loss);
    train_acc.push_back(e.train_accuracy);
    eval_loss.push_back(e.eval_loss);
    eval_acc.push_back(e.eval_accuracy);
  }
  LinePlot(PlotOptions().title(r.name + ": loss").xlabel("epoch").ylabel("binary cross-entropy"))
      .line("train", epoch, train_loss)
      .line("eval", epoch, eval_loss)
      .save(out_dir + "/" + r.name + "_loss.svg");
  // Accuracy on a fixed 0..1 axis so that the variants' plots compare at a glance; 0.5 is chance.
  LinePlot(PlotOptions().title(r.name + ": accuracy").xlabel("epoch").ylabel("accuracy").ymin(0.0).ymax(1.0))
      .line("train", epoch, train_acc)
      .line("eval", epoch, eval_acc)
      .hline("chance", 0.5)
      .save(out_dir + "/" + r.name + "_accuracy.svg");
}

std::vector<DemoVariant> select_demo_variants(const std::vector<DemoVariant>& all, const std::string& list,
                                              const std::string& program) {
  if (list.empty() || list == "all") return all;
  std::vector<DemoVariant> out;
  std::string cur;
  auto take = [&](const std::string& name) {
    if (name.empty()) return;
    for (const DemoVariant& v : all)
      if (v.name == name) return out.push_back(v);
    std::string names;
    for (const DemoVariant& v : all) names += (names.empty() ? "" : ", ") + v.name;
    HF_FAIL(program.c_str(), "unknown variant '" << name << "' (choose from: " << names << ")");
  };
  for (char ch : list) {
    if (ch == ',') take(cur), cur.clear();
    else cur += ch;
  }
  take(cur);
  return out;
}

nlohmann::json run_demo_variants(const std::string& demo, const MilDataset& ds, std::size_t epochs,
                                 std::size_t lookup_epochs, const DemoRunOptions& setup) {
  const std::string& out_dir = setup.out_dir;
  const std::size_t num_seeds = setup.num_seeds, n = ds.num_bags(), held = n / 8;
  HF_CHECK(num_seeds >= 1, demo.c_str(), "--seeds must be at least 1");
  blas::set_num_threads(1);  // tiny matrices: threads cost more than they give
  const std::vector<DemoVariant> vs = select_demo_variants(
      demo_variants(setup.epochs > 0 ? setup.epochs : epochs, setup.epochs > 0 ? setup.epochs : lookup_epochs),
      setup.variants, demo);
  std::vector<std::size_t> train, eval;
  for (std::size_t b = 0; b < n; ++b) (b < held || b >= n - held ? eval : train).push_back(b);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<DemoSeedRun> runs;
  for (std::size_t k = 0; k < num_seeds; ++k) {
    const std::uint64_t seed = setup.seed + k;
    if (num_seeds > 1) std::printf("\n### seed %llu (%zu of %zu)\n", static_cast<unsigned long long>(seed), k + 1, num_seeds);
    runs.push_back({seed, {}});
    for (const DemoVariant& v : vs) {
      DemoRunOptions s = setup;
      s.seed = seed * 1000003ULL + v.id;
      runs.back().results.push_back(train_demo_variant(v, ds, train, eval, v.epochs, s));
      if (!out_dir.empty()) write_demo_outputs(out_dir, runs, num_seeds > 1);
    }
    std::printf("\n%s, seed %llu: %zu training and %zu held-out samples\n%-26s %7s %12s %12s %12s %9s\n", demo.c_str(),
                static_cast<unsigned long long>(seed), train.size(), eval.size(), "variant", "epochs", "final_train",
                "final_eval", "best_eval", "seconds");
    for (const DemoVariantResult& r : runs.back().results) {
      double best = 0;
      for (const DemoEpoch& e : r.epochs) best = std::max(best, e.eval_accuracy);
      std::printf("%-26s %7zu %12.4f %12.4f %12.4f %9.1f\n", r.name.c_str(), r.epochs.size(),
                  r.epochs.back().train_accuracy, r.epochs.back().eval_accuracy, best, r.seconds);
    }
    std::fflush(stdout);
  }

  nlohmann::json j;
  j["demo"] = demo;
  j["train_samples"] = train.size();
  j["eval_samples"] = eval.size();
  j["seed"] = setup.seed;
  j["seeds"] = num_seeds;
  if (num_seeds > 1)
    std::printf("\n%s over seeds %llu..%llu: final held-out accuracy, mean +/- sample std (std error = std / sqrt(%zu))\n"
                "%-26s %8s %8s %12s %12s\n",
                demo.c_str(), static_cast<unsigned long long>(setup.seed),
                static_cast<unsigned long long>(setup.seed + num_seeds - 1), num_seeds, "variant", "mean", "std",
                "train_mean", "min..max");
  double worst_final = 1.0;
  for (std::size_t i = 0; i < vs.size(); ++i) {
    std::vector<double> finals, trains, bests;
    double seconds = 0;
    for (const DemoSeedRun& run : runs) {
      const DemoVariantResult& r = run.results[i];
      double best = 0;
      for (const DemoEpoch& e : r.epochs) best = std::max(best, e.eval_accuracy);
      finals.push_back(r.epochs.back().eval_accuracy);
      trains.push_back(r.epochs.back().train_accuracy);
      bests.push_back(best);
      seconds += r.seconds;
    }
    const MeanStd fin = mean_and_std(finals);
    worst_final = std::min(worst_final, fin.mean);
    const DemoVariantResult& first = runs.front().results[i];
    nlohmann::json v;
    v["mean"] = fin.mean;
    v["std"] = fin.std;
    v["seeds"] = num_seeds;
    v["final_eval_accuracy_per_seed"] = finals;
    v["final_train_accuracy_mean"] = mean_and_std(trains).mean;
    v["best_eval_accuracy_mean"] = mean_and_std(bests).mean;
    v["epochs"] = first.epochs.size();
    v["parameters"] = first.parameters;
    v["seconds"] = seconds;
    if (num_seeds == 1) {
      v["final_eval_accuracy"] = finals[0];
      v["best_eval_accuracy"] = bests[0];
      v["final_train_accuracy"] = trains[0];
      std::vector<double> acc;
      for (const DemoEpoch& e : first.epochs) acc.push_back(e.eval_accuracy);
      v["eval_accuracy_per_epoch"] = acc;
    } else {
      std::printf("%-26s %8.4f %8.4f %12.4f %6.3f..%.3f\n", vs[i].name.c_str(), fin.mean, fin.std,
                  mean_and_std(trains).mean, *std::min_element(finals.begin(), finals.end()),
                  *std::max_element(finals.begin(), finals.end()));
    }
    j["variants"][vs[i].name] = v;
  }
  // With one seed the worst variant's final accuracy; with several the worst variant's mean.
  j["min_final_eval_accuracy"] = worst_final;
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!out_dir.empty()) write_text_file(out_dir + "/results.json", j.dump(2) + "\n");
  if (setup.json) std::printf("%s\n", j.dump().c_str());
  return j;
}

}  // namespace hf
