// hopfield-uci: a small tabular classifier with a Hopfield layer, on the UCI benchmark layout of
// Fernández-Delgado et al. (2014) (../shared/data/uci121), 4 fixed splits with their own validation rows.
//
//   x (B, d) --encoding, Linear, SELU, Dropout--> h --Hopfield association with a memory--> Linear --> logits,
// in three variants (prototypes, memory, retrieval): hopfield/layers/models/uci_members.h.
//
// Validation grid and ensemble (hopfield/layers/models/uci_ensemble.h): every split trains one model per
// grid candidate (12, each with its own seed), adds the retrieval member, and averages the class
// probabilities of the candidates within one standard error of the best on validation (`--ensemble se`);
// grid and rule are the same for every dataset. `--no-grid` trains the single --model/--bins/--dropout/
// --weight-decay setting. An epoch covers at least `--min-epoch-rows` rows (repeated passes over tiny training
// sets), so that lenses (12 training rows) gets as many steps per validation check as larger sets.
// Results against a tuned random forest and RBF SVM (bench/uci_baselines.py): README, "hopfield-uci".
//
// Legend: B rows in a batch, d features, w embedding width, q prototypes, S stored training rows,
// C classes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/uci.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/layers/models/uci_ensemble.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/report/progress.h"
#include "cli_checks.h"

namespace {

using namespace hf;

// The split lines of a --data run: the ensemble's test accuracy and the best single member on validation.
void print_splits(const UciDatasetResult& r, const std::vector<UciCandidate>& grid) {
  for (std::size_t k = 0; k < r.trials.size(); ++k) {
    const std::size_t best = r.chosen[k];
    const UciSplitResult& s = r.trials[k][best];
    std::ostringstream when;  // how the best single model was fitted: its epochs, or the retrieval's b
    if (grid[best].trained()) when << "epoch " << s.best_epoch << " of " << s.history.size();
    else when << "b = " << s.beta;
    std::printf("%s split %zu: test accuracy %.4f, %zu of %zu members averaged  (best single model: validation %.4f, "
                "test %.4f, %s%s%s)\n",
                r.name.c_str(), k + 1, r.split_accuracy[k],
                static_cast<std::size_t>(std::count(r.in_ensemble[k].begin(), r.in_ensemble[k].end(), true)),
                grid.size(), s.val_accuracy, s.test_accuracy, when.str().c_str(), grid.size() > 1 ? ", " : "",
                grid.size() > 1 ? grid[best].label().c_str() : "");
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Under mpirun / srun the members (--data) or datasets (--all) are spread over the ranks; rank 0 gathers,
  // prints and writes everything.
  distributed::ProcessGroup group(&argc, &argv);
  const int rank = distributed::get_rank();
  const bool root = rank == 0;
  CLI::App app{"hopfield-uci: Hopfield-layer classifier on the UCI benchmark (4 splits with validation rows)"};
  std::string data_dir, all_dir, csv_path, out_dir, checkpoint_dir;
  std::uint64_t seed = 1;
  std::size_t threads = 2, max_n = 0;
  bool json = false, resume = false;
  UciGrid grid;
  UciMemberConfig c;
  auto* data_opt = app.add_option("--data", data_dir, "one dataset folder (<name>/<name>_py.dat, labels_py.dat, ...)");
  auto* all_opt = app.add_option("--all", all_dir, "run every dataset folder below this directory");
  data_opt->excludes(all_opt);
  app.add_option("--csv", csv_path, "table written by --all (default: <out>/uci_results.csv or uci_results.csv)");
  app.add_option("--max-n", max_n, "--all: skip datasets with more samples than this (0 = none skipped)");
  app.add_option("--model", c.model, "Hopfield memory: prototypes (HopfieldLayer), memory (training rows) or retrieval (the untrained "
                              "Hopfield retrieval over the training rows)")
      ->check(CLI::IsMember({"prototypes", "memory", "retrieval"}));
  app.add_option("--width", c.width, "embedding width")->check(CLI::Range(1, 8192));
  app.add_option("--heads", c.heads, "Hopfield heads")->check(CLI::Range(1, 256));
  app.add_option("--hidden", c.hidden, "association size per head")->check(CLI::Range(1, 4096));
  app.add_option("--prototypes", c.prototypes, "stored patterns of the HopfieldLayer")->check(CLI::Range(1, 100000));
  app.add_option("--memory-size", c.memory_size, "stored training rows per step (--model memory)")
      ->check(CLI::Range(2, 1000000));
  app.add_option("--scaling", c.scaling, "beta (0 = 1/sqrt(hidden))")->check(hf::cli::between(0.0, 1e6));
  app.add_option("--dropout", c.dropout, "dropout after the embedding")->check(hf::cli::between(0.0, 0.95));
  app.add_option("--lr", c.lr, "Adam learning rate")->check(hf::cli::kPositive);
  app.add_option("--weight-decay", c.weight_decay, "Adam L2 weight decay")->check(hf::cli::between(0.0, 1.0));
  app.add_option("--batch-size", c.batch_size, "rows per step")->check(CLI::Range(1, 1000000));
  app.add_option("--epochs", c.epochs, "maximum epochs per split")->check(CLI::Range(1, 100000));
  app.add_option("--patience", c.patience, "early stopping patience (epochs)")->check(CLI::Range(1, 100000));
  app.add_option("--min-epoch-rows", c.min_epoch_rows, "an epoch repeats passes over the training rows up to this many rows")
      ->check(CLI::Range(1, 100000000));
  app.add_option("--bins", c.bins, "piecewise-linear encoding: up to this many quantile bins per feature, "
                                   "appended to the raw features (0 = raw features only)")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--max-steps", c.max_steps, "maximum optimizer steps per split")->check(CLI::Range(1, 100000000));
  app.add_option("--grid-dropout", grid.dropout, "validation grid: dropout values (empty = --dropout only)")
      ->check(hf::cli::between(0.0, 0.95))->capture_default_str();
  app.add_option("--grid-lr", grid.lr, "validation grid: learning rates (empty = --lr only)")
      ->check(hf::cli::kPositive)->capture_default_str();
  app.add_option("--grid-model", grid.model, "validation grid: memories (prototypes, memory, retrieval; empty = --model only)")
      ->check(CLI::IsMember({"prototypes", "memory", "retrieval"}))->capture_default_str();
  app.add_option("--grid-bins", grid.bins, "validation grid: piecewise-linear bins (0 = raw features; empty = --bins only)")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--grid-weight-decay", grid.weight_decay, "validation grid: weight decays (empty = --weight-decay only)")
      ->check(hf::cli::between(0.0, 1.0))->capture_default_str();
  bool no_grid = false;
  app.add_flag("--no-grid", no_grid, "train the single setting of --dropout, --lr, --weight-decay (no validation grid)");
  app.add_option("--ensemble", c.ensemble,
                 "which grid candidates' class probabilities are averaged: se (those within one standard error of "
                 "the best validation accuracy), all, or K (the best K on validation; 1 = the best only)")
      ->check(CLI::IsMember({"se", "all"}) | CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--seed", seed, "seed of initialisation, shuffling and dropout");
  app.add_option("--threads", threads, "datasets trained in parallel (--all)")->check(CLI::Range(1, 256));
  app.add_option("--out", out_dir, "directory for results: metrics.csv (per epoch of every trained member), uci_trials.csv, results.json, ...");
  app.add_option("--checkpoint-dir", checkpoint_dir,
                 "keep every finished member (split x candidate) in this directory (a killed run continues with --resume)");
  app.add_flag("--resume", resume, "continue the run in --checkpoint-dir: finished members are loaded, not trained again")
      ->needs("--checkpoint-dir");
  app.add_flag("--json", json, "print one JSON object with the results as the last line");
  if (const int rc = cli::parse(app, argc, argv, "hopfield-uci"); rc >= 0) return rc;
  if (data_dir.empty() && all_dir.empty()) {
    std::cerr << "hopfield-uci: --data or --all is required\n";
    return 2;
  }

  try {
    blas::set_num_threads(1);
    if (no_grid) grid = UciGrid{{}, {}, {}, {}, {}};
    const std::vector<UciCandidate> candidates = grid.candidates(c);
    // What the results came from: the single setting, or "ensemble of N: <candidate>; <candidate>; ...".
    std::string model_desc = candidates.size() == 1 ? candidates[0].label() : "ensemble of " + std::to_string(candidates.size()) + ":";
    if (candidates.size() > 1)
      for (const UciCandidate& cd : candidates) model_desc += (model_desc.back() == ':' ? " " : "; ") + cd.label();
    if (!out_dir.empty() && root) std::filesystem::create_directories(out_dir);
    // --checkpoint-dir: every finished member (split x candidate) is kept; --resume loads those. Rank 0 opens
    // (or creates) the run first; the other ranks then only read it, rank 0 writes the members they send.
    std::optional<RunCheckpoint> ckpt;
    if (!checkpoint_dir.empty()) {
      nlohmann::json grid_json = nlohmann::json::array();
      for (const UciCandidate& cd : candidates) grid_json.push_back(cd.label());
      const nlohmann::json run = {
          {"program", "hopfield-uci"}, {"data", data_dir}, {"all", all_dir}, {"max_n", max_n}, {"seed", seed},
          {"grid", grid_json}, {"ensemble", c.ensemble},
          {"model", {{"width", c.width}, {"heads", c.heads}, {"hidden", c.hidden}, {"prototypes", c.prototypes},
                     {"memory_size", c.memory_size}, {"scaling", c.scaling}, {"batch_size", c.batch_size},
                     {"epochs", c.epochs}, {"patience", c.patience}, {"max_steps", c.max_steps},
                     {"min_epoch_rows", c.min_epoch_rows}}}};
      if (root) ckpt.emplace(checkpoint_dir, run, resume);
      distributed::barrier();
      if (!root) ckpt.emplace(checkpoint_dir, run, true);
    }
    const RunCheckpoint* ck = ckpt ? &*ckpt : nullptr;
    nlohmann::json j;
    if (!data_dir.empty()) {
      // The members (split x candidate) are the units; each travels to rank 0 as its checkpoint JSON.
      const auto t0 = std::chrono::steady_clock::now();
      const UciDataset ds = load_uci(data_dir);
      const std::size_t G = candidates.size(), units = UciDataset::num_splits * G;
      std::optional<Progress> progress;
      if (root) progress.emplace(static_cast<std::int64_t>(units), "members");
      std::vector<std::vector<UciSplitResult>> trials(UciDataset::num_splits, std::vector<UciSplitResult>(G));
      distributed::run_distributed_jobs(
          units, 1,
          [&](std::size_t u) {
            const std::size_t k = u / G, g = u % G;
            return uci_member_to_json(run_uci_member(ds, k, g, candidates[g], c, seed, ck, root)).dump();
          },
          [&](std::size_t u, const std::string& text) {
            const std::size_t k = u / G, g = u % G;
            const nlohmann::json m = nlohmann::json::parse(text);
            trials[k][g] = uci_member_from_json(m);
            if (ckpt && !ckpt->has(uci_member_unit(ds.name, k, g))) ckpt->save(uci_member_unit(ds.name, k, g), m);
            char info[96];
            std::snprintf(info, sizeof info, "split %zu %s: validation %.4f", k + 1, candidates[g].model.c_str(),
                          trials[k][g].val_accuracy);
            progress->update(1, info);
          },
          [&](std::size_t u) { return ck && ck->has(uci_member_unit(ds.name, u / G, u % G)); });
      if (!root) return 0;  // rank 0 has every member; it alone reports and writes
      progress->finish();
      UciDatasetResult r = assemble_uci_ensembles(ds, c, candidates, std::move(trials));
      print_splits(r, candidates);
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!out_dir.empty()) write_uci_trials(out_dir, {r}, candidates);
      std::printf("%s: mean test accuracy %.4f over 4 splits (n=%zu, d=%zu, C=%zu, %.1f s)\n", r.name.c_str(),
                  r.accuracy_mean, r.n, r.d, r.classes, r.seconds);
      j = {{"dataset", r.name}, {"n", r.n},         {"d", r.d},
           {"classes", r.classes}, {"model", model_desc}, {"accuracy_per_split", r.split_accuracy},
           {"accuracy_mean", r.accuracy_mean}, {"seconds", r.seconds}};
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<std::string> names;
      for (const std::string& name : list_uci(all_dir)) {
        if (max_n > 0) {
          // Cheap size check (line count of labels_py.dat) before loading everything.
          std::ifstream f(all_dir + "/" + name + "/labels_py.dat");
          const auto lines = static_cast<std::size_t>(
              std::count(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>(), '\n'));
          if (lines > max_n) continue;
        }
        names.push_back(name);
      }
      HF_CHECK(!names.empty(), "hopfield-uci", "no UCI dataset folders below " << all_dir);
      std::vector<UciDatasetResult> results(names.size());
      std::optional<Progress> progress;
      if (root) progress.emplace(static_cast<std::int64_t>(names.size()), "datasets");
      // The datasets are the units (each on one rank, `threads` of them at a time there); a dataset travels to
      // rank 0 as JSON, and rank 0 checkpoints the members of those trained elsewhere.
      distributed::run_distributed_jobs(
          names.size(), threads,
          [&](std::size_t i) {
            return uci_dataset_to_json(run_uci_dataset(all_dir + "/" + names[i], c, candidates, seed, ck, root)).dump();
          },
          [&](std::size_t i, const std::string& text) {
            results[i] = uci_dataset_from_json(nlohmann::json::parse(text));
            const UciDatasetResult& r = results[i];
            if (ckpt)
              for (std::size_t k = 0; k < r.trials.size(); ++k)
                for (std::size_t g = 0; g < r.trials[k].size(); ++g)
                  if (!ckpt->has(uci_member_unit(r.name, k, g)))
                    ckpt->save(uci_member_unit(r.name, k, g), uci_member_to_json(r.trials[k][g]));
            std::printf("%-40s n=%6zu d=%4zu C=%3zu  accuracy %.4f  (%.1f s)\n", r.name.c_str(), r.n, r.d, r.classes,
                        r.accuracy_mean, r.seconds);
            std::fflush(stdout);
            progress->update(1, r.name);
          });
      if (!root) return 0;
      progress->finish();
      if (csv_path.empty()) csv_path = out_dir.empty() ? "uci_results.csv" : out_dir + "/uci_results.csv";
      std::ofstream f(csv_path);
      f << "dataset,n,d,classes,accuracy_mean,seconds\n";
      double mean = 0;
      for (const auto& r : results) {
        f << r.name << ',' << r.n << ',' << r.d << ',' << r.classes << ',' << r.accuracy_mean << ',' << r.seconds << '\n';
        mean += r.accuracy_mean / static_cast<double>(results.size());
      }
      f.close();
      HF_CHECK(f.good(), "hopfield-uci", "cannot write " << csv_path);
      if (!out_dir.empty()) write_uci_trials(out_dir, results, candidates);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%zu datasets: mean accuracy %.4f (%s), table in %s, %.1f s\n", results.size(), mean, model_desc.c_str(),
                  csv_path.c_str(), seconds);
      j = {{"dataset", "all"},       {"datasets", results.size()}, {"model", model_desc},
           {"accuracy_mean", mean}, {"csv", csv_path},            {"seconds", seconds}};
    }
    if (!out_dir.empty()) {
      std::ofstream f(out_dir + "/results.json");
      f << j.dump(2) << "\n";
    }
    if (json) std::printf("%s\n", j.dump().c_str());
  } catch (const std::exception& e) {
    // Under mpirun: one line naming the rank, and the whole job ends (no rank waits for this one).
    if (distributed::get_world_size() > 1) distributed::abort_job("hopfield-uci", e.what());
    return cli::fail("hopfield-uci", e);
  }
  return 0;
}
