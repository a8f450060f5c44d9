// Shared part of the two hflayers demonstrations (examples/hopfield_bit_pattern.cpp, hopfield_latch.cpp,
// after ml-jku/hopfield-layers examples/bit_pattern and examples/latch_sequence): the six variants of the
// notebooks (the networks: hopfield/layers/models/demo_net.h), their command line, and the notebooks' training
// loop on hf::Trainer (AdamW lr 1e-3, batches of 32 in random order, BCE with logits, gradient norm clipped at
// 1, mean accuracy at threshold 0.5 on a held-out set after every epoch).
//
// Gradients: every step starts from zero gradients, as in the current bit-pattern notebook (ml-jku/hopfield-layers
// commit 5231d29 calls optimiser.zero_grad()); the first published notebooks never zeroed them, so their
// gradients added up over all steps before clipping; TrainSetup::accumulate reproduces that old loop.
//
// Header-only so that each demo stays one hf_program source. Legend: B bags/sequences in a batch,
// N instances per bag, d features, U distinct training instances.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/models/demo_net.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/trainer.h"
#include "hopfield/report/plot.h"
#include "cli_checks.h"

namespace hf::demo {

struct Variant {
  std::string name;
  DemoKind kind;
  bool adapted;
  std::size_t epochs;  // as in the reference notebook
  std::size_t id;      // position in the notebooks' order: seeds the variant, so --variants picks the same run
};

// The six settings of the notebooks, in their order.
inline std::vector<Variant> variants(std::size_t epochs, std::size_t lookup_epochs) {
  return {{"hopfield", DemoKind::Association, false, epochs, 0},
          {"hopfield_adapted", DemoKind::Association, true, epochs, 1},
          {"hopfield_pooling", DemoKind::Pooling, false, epochs, 2},
          {"hopfield_pooling_adapted", DemoKind::Pooling, true, epochs, 3},
          {"hopfield_lookup", DemoKind::Lookup, false, lookup_epochs, 4},
          {"hopfield_lookup_adapted", DemoKind::Lookup, true, lookup_epochs, 5}};
}

// The distinct instance rows of the given bags (the notebooks' `samples_unique`), sorted.
inline std::vector<std::vector<double>> unique_instances(const MilDataset& ds, const std::vector<std::size_t>& bags) {
  std::set<std::vector<double>> rows;
  for (std::size_t b : bags)
    for (std::size_t r = ds.bag_offsets[b]; r < ds.bag_offsets[b + 1]; ++r)
      rows.insert(std::vector<double>(ds.instance(r), ds.instance(r) + ds.num_features));
  return {rows.begin(), rows.end()};
}

struct EpochResult {
  std::size_t epoch;
  double train_loss, train_accuracy, eval_loss, eval_accuracy;
};

struct VariantResult {
  std::string name;
  std::vector<EpochResult> epochs;
  double seconds = 0;
  std::size_t parameters = 0;
};

// Correct predictions at threshold 0.5 among logits z for labels y.
inline double correct(const Tensor& z, const Tensor& y) {
  const std::vector<double> zs = z.to_vector(), ys = y.to_vector();
  double right = 0;
  for (std::size_t i = 0; i < zs.size(); ++i) right += ((zs[i] > 0) == (ys[i] > 0.5)) ? 1 : 0;
  return right;
}

// The command line both demos share, and the training setup it fills. The notebooks invite trying other
// adapted settings ("explore and try the new functionalities"): --adapted-* override them.
struct TrainSetup {
  std::size_t epochs = 0;  // 0 = the notebook's
  std::size_t num_seeds = 1;
  std::string out_dir, variants = "all";
  bool json = false;
  std::size_t batch_size = 32;
  double lr = 1e-3;
  DemoNetOptions adapted{DemoKind::Association, 1, 1};  // only its adapted_* settings are used
  double clip = 1.0;
  std::uint64_t seed = 0;
  bool quiet = false;  // no per-epoch lines
  bool accumulate = false;  // the first notebooks' loop: gradients are never zeroed, they add up over all steps
  std::size_t embedding = 0;  // > 0: Linear(d, embedding) -> ReLU per instance in front of the Hopfield module

  void add_options(CLI::App& app, const std::string& epochs_help, const std::string& seed_help) {
    app.add_option("--epochs", epochs, epochs_help)->check(CLI::Range(0, 100000));
    app.add_option("--seed", seed, seed_help)->capture_default_str();
    app.add_option("--seeds", num_seeds,
                   "run every variant with K seeds (--seed .. --seed+K-1) and report the mean and std of the final "
                   "held-out accuracy")
        ->check(CLI::Range(1, 1000))->capture_default_str();
    app.add_option("--variants", variants, "comma-separated subset of hopfield, hopfield_adapted, hopfield_pooling, "
                                           "hopfield_pooling_adapted, hopfield_lookup, hopfield_lookup_adapted")
        ->capture_default_str();
    app.add_option("--out", out_dir, "directory for metrics.csv (per variant and epoch) and results.json");
    app.add_flag("--accumulate-gradients", accumulate, "never zero the gradients, like the first published notebooks' loop");
    app.add_option("--lr", lr, "AdamW learning rate (the notebooks': 1e-3)")->check(hf::cli::kPositive)->capture_default_str();
    app.add_option("--adapted-heads", adapted.adapted_num_heads(), "adapted Hopfield/HopfieldPooling: heads")
        ->check(CLI::Range(1, 256))->capture_default_str();
    app.add_option("--adapted-hidden", adapted.adapted_hidden_size(), "adapted Hopfield/HopfieldPooling: association size per head")
        ->check(CLI::Range(1, 4096))->capture_default_str();
    app.add_option("--adapted-update-steps", adapted.adapted_update_steps_max(),
                   "adapted Hopfield/HopfieldPooling: update_steps_max (0 = one update)")
        ->check(CLI::Range(0, 1000))->capture_default_str();
    app.add_option("--adapted-scaling", adapted.adapted_scaling(), "adapted Hopfield/HopfieldPooling: scaling (beta)")
        ->check(hf::cli::between(1e-6, 1e6))->capture_default_str();
    app.add_option("--adapted-dropout", adapted.adapted_dropout(), "adapted Hopfield/HopfieldPooling: dropout on the association")
        ->check(hf::cli::between(0.0, 0.95))->capture_default_str();
    app.add_option("--embedding", embedding,
                   "not in the notebooks: width of a Linear + ReLU instance embedding in front of every Hopfield module "
                   "(0 = none, as the notebooks)")
        ->check(CLI::Range(0, 4096))->capture_default_str();
    app.add_flag("--quiet", quiet, "no per-epoch lines, only the summary");
    app.add_flag("--json", json, "print one JSON object with the results as the last line");
  }
};

// Trains one variant and returns its per-epoch record; prints one line per epoch unless quiet.
inline VariantResult train_variant(const Variant& v, const MilDataset& ds, const std::vector<std::size_t>& train,
                                   const std::vector<std::size_t>& eval, std::size_t epochs, const TrainSetup& s) {
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

  VariantResult r;
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

// With --out: the per-epoch table of every variant so far (rewritten whole after each variant, so an
// interrupted run leaves the finished variants readable) and, per variant, the notebooks' two panels
// (plot_performance: loss and accuracy, train and held-out, per epoch) as <variant>_loss.svg and
// <variant>_accuracy.svg. With several seeds the table gets a leading seed column and the plots are those of
// the first seed.
struct SeedRun {
  std::uint64_t seed;
  std::vector<VariantResult> results;
};

inline void write_outputs(const std::string& out_dir, const std::vector<SeedRun>& runs, bool several) {
  std::string csv = std::string(several ? "seed," : "") + "variant,epoch,train_loss,train_accuracy,eval_loss,eval_accuracy\n";
  char line[256];
  for (const SeedRun& run : runs)
    for (const VariantResult& r : run.results)
      for (const EpochResult& e : r.epochs) {
        std::snprintf(line, sizeof line, ",%zu,%.10g,%.10g,%.10g,%.10g\n", e.epoch, e.train_loss, e.train_accuracy,
                      e.eval_loss, e.eval_accuracy);
        csv += (several ? std::to_string(run.seed) + "," : std::string()) + r.name + line;
      }
  write_text_file(out_dir + "/metrics.csv", csv);
  if (runs.size() > 1) return;  // the plots are the first seed's, written while it ran
  const VariantResult& r = runs.back().results.back();
  std::vector<double> epoch, train_loss, train_acc, eval_loss, eval_acc;
  for (const EpochResult& e : r.epochs) {
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

// Selects variants by a comma-separated list of names ("all" = every one); throws naming an unknown name.
inline std::vector<Variant> select_variants(const std::vector<Variant>& all, const std::string& list,
                                            const std::string& program) {
  if (list.empty() || list == "all") return all;
  std::vector<Variant> out;
  std::string cur;
  auto take = [&](const std::string& name) {
    if (name.empty()) return;
    for (const Variant& v : all)
      if (v.name == name) return out.push_back(v);
    std::string names;
    for (const Variant& v : all) names += (names.empty() ? "" : ", ") + v.name;
    HF_FAIL(program.c_str(), "unknown variant '" << name << "' (choose from: " << names << ")");
  };
  for (char ch : list) {
    if (ch == ',') take(cur), cur.clear();
    else cur += ch;
  }
  take(cur);
  return out;
}

// Runs the selected variants once per seed (seed, seed + 1, ..., seed + num_seeds - 1), prints a summary
// table per seed (final train accuracy next to the held-out ones: a variant that cannot fit its training bags
// lacks capacity, one that fits them but not the held-out bags overfits) and, with several seeds, the mean
// and sample standard deviation of the final held-out accuracy per variant. Returns the JSON record: per
// variant "mean", "std", "seeds" and the per-seed final accuracies, and with one seed also that run's
// per-epoch curve; with out_dir, also writes the files of write_outputs and results.json; with --json prints it.
// The first and last eighth of the samples are held out (the notebooks' split); epochs: the notebook's
// (`epochs`, `lookup_epochs` for the lookup variants) unless --epochs is given.
inline nlohmann::json run_all(const std::string& demo, const MilDataset& ds, std::size_t epochs,
                              std::size_t lookup_epochs, const TrainSetup& setup) {
  const std::string& out_dir = setup.out_dir;
  const std::size_t num_seeds = setup.num_seeds, n = ds.num_bags(), held = n / 8;
  HF_CHECK(num_seeds >= 1, demo.c_str(), "--seeds must be at least 1");
  blas::set_num_threads(1);  // tiny matrices: threads cost more than they give
  const std::vector<Variant> vs = select_variants(
      variants(setup.epochs > 0 ? setup.epochs : epochs, setup.epochs > 0 ? setup.epochs : lookup_epochs),
      setup.variants, demo);
  std::vector<std::size_t> train, eval;
  for (std::size_t b = 0; b < n; ++b) (b < held || b >= n - held ? eval : train).push_back(b);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<SeedRun> runs;
  for (std::size_t k = 0; k < num_seeds; ++k) {
    const std::uint64_t seed = setup.seed + k;
    if (num_seeds > 1) std::printf("\n### seed %llu (%zu of %zu)\n", static_cast<unsigned long long>(seed), k + 1, num_seeds);
    runs.push_back({seed, {}});
    for (const Variant& v : vs) {
      TrainSetup s = setup;
      s.seed = seed * 1000003ULL + v.id;
      runs.back().results.push_back(train_variant(v, ds, train, eval, v.epochs, s));
      if (!out_dir.empty()) write_outputs(out_dir, runs, num_seeds > 1);
    }
    std::printf("\n%s, seed %llu: %zu training and %zu held-out samples\n%-26s %7s %12s %12s %12s %9s\n", demo.c_str(),
                static_cast<unsigned long long>(seed), train.size(), eval.size(), "variant", "epochs", "final_train",
                "final_eval", "best_eval", "seconds");
    for (const VariantResult& r : runs.back().results) {
      double best = 0;
      for (const EpochResult& e : r.epochs) best = std::max(best, e.eval_accuracy);
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
    for (const SeedRun& run : runs) {
      const VariantResult& r = run.results[i];
      double best = 0;
      for (const EpochResult& e : r.epochs) best = std::max(best, e.eval_accuracy);
      finals.push_back(r.epochs.back().eval_accuracy);
      trains.push_back(r.epochs.back().train_accuracy);
      bests.push_back(best);
      seconds += r.seconds;
    }
    const MeanStd fin = mean_and_std(finals);
    worst_final = std::min(worst_final, fin.mean);
    const VariantResult& first = runs.front().results[i];
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
      for (const EpochResult& e : first.epochs) acc.push_back(e.eval_accuracy);
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

}  // namespace hf::demo
