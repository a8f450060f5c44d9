// hopfield-uci: a small tabular classifier with a Hopfield layer, on the UCI benchmark layout of
// Fernández-Delgado et al. (2014) (../shared/data/uci121), 4 fixed splits with their own validation rows.
//
//   x (B, d) --encoding, Linear, SELU, Dropout--> h --Hopfield association with a memory--> Linear --> logits,
// in three variants (prototypes, memory, retrieval): hopfield/layers/models/uci_members.h.
//
// Validation grid and ensemble: every split trains one model per grid candidate, bins {0, 8, 16} x memory
// {prototypes, memory} x dropout {0, 0.25} (12 models, each with its own seed), adds the retrieval member,
// and averages the class probabilities of the candidates whose validation accuracy is within one standard
// error of the best (`--ensemble se`, ensemble_members): on small datasets that is nearly all of them (the
// one best on validation is worse than the average: with 4-60 validation rows the choice is mostly noise),
// on large ones only those really as good as the best. The grid and the rule are the same for every
// dataset (nothing tuned per dataset); `--no-grid` trains the single --model/--bins/--dropout/
// --weight-decay setting. An epoch covers at least `--min-epoch-rows` rows (repeated passes over tiny training
// sets), so that lenses (12 training rows) gets as many steps per validation check as larger sets.
// Results against a tuned random forest and RBF SVM (bench/uci_baselines.py): README, "hopfield-uci".
//
// Legend: B rows in a batch, d features, w embedding width, q prototypes, S stored training rows,
// C classes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/datasets/uci.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/report/plot.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/layers/models/uci_members.h"
#include "hopfield/optim/jobs.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/report/progress.h"
#include "cli_checks.h"

namespace {

using namespace hf;

// The validation grid: every split trains one model per candidate and ranks them by validation accuracy
// (ties: lower validation loss); `--ensemble 1` keeps the best one, as the SVM / random-forest baselines
// are tuned (bench/uci_baselines.py), the default averages all. The grid is the same for every dataset.
struct Candidate {
  double dropout, lr, weight_decay;
  std::string model;
  std::size_t bins;
  bool trained() const { return model != "retrieval"; }
  std::string label() const {
    std::ostringstream s;
    if (!trained()) return "retrieval (Hopfield over the training rows, beta on validation)";
    s << model << " bins=" << bins << " dropout=" << dropout << " lr=" << lr << " wd=" << weight_decay;
    return s.str();
  }
};

struct Grid {
  std::vector<double> dropout{0.0, 0.25}, lr{}, weight_decay{};
  std::vector<std::string> model{"prototypes", "memory", "retrieval"};
  std::vector<std::size_t> bins{0, 8, 16};
  std::vector<Candidate> candidates(const UciMemberConfig& c) const {
    const std::vector<double> ds = dropout.empty() ? std::vector<double>{c.dropout} : dropout;
    const std::vector<double> ls = lr.empty() ? std::vector<double>{c.lr} : lr;
    const std::vector<double> ws = weight_decay.empty() ? std::vector<double>{c.weight_decay} : weight_decay;
    const std::vector<std::string> ms = model.empty() ? std::vector<std::string>{c.model} : model;
    const std::vector<std::size_t> bs = bins.empty() ? std::vector<std::size_t>{c.bins} : bins;
    std::vector<Candidate> out;
    for (std::size_t b : bs)
      for (const std::string& m : ms) {
        if (m == "retrieval") continue;
        for (double d : ds)
          for (double l : ls)
            for (double w : ws) out.push_back({d, l, w, m, b});
      }
    // The retrieval member has nothing to train, so it is one candidate, last (its own b grid is inside).
    if (std::find(ms.begin(), ms.end(), "retrieval") != ms.end()) out.push_back({0, 0, 0, "retrieval", 0});
    return out;
  }
};

struct DatasetResult {
  std::string name;
  std::size_t n = 0, d = 0, classes = 0;
  std::vector<double> split_accuracy;            // test accuracy of the ensemble per split
  std::vector<std::vector<UciSplitResult>> trials;  // [split][candidate]
  std::vector<std::size_t> chosen;               // candidate index per split (the best on validation)
  std::vector<std::vector<bool>> in_ensemble;     // [split][candidate]: averaged into the prediction
  std::vector<std::vector<double>> top_k_accuracy;  // [split][K-1]: test accuracy of the top-K ensemble
  std::vector<Labels> test_labels;                 // [split]
  double accuracy_mean = 0, seconds = 0;
};

// Which candidates the prediction averages (rank: candidates by validation accuracy, best first):
//   "se"   every candidate whose validation accuracy is within one standard error of the best one,
//          sqrt(p (1 - p) / n_val) with p the best accuracy. With a few dozen validation rows that keeps
//          nearly all (their differences are noise, and the average beats any single pick); with
//          thousands it keeps only those really as good as the best (chess-krvk, letter: the retrieval
//          member alone). A perfect best has no spread and keeps only the perfect ones (trains, 2
//          validation rows: 3 of 13 in split 1).
//   "all"  every candidate;  K  the best K.
std::vector<bool> ensemble_members(const std::string& rule, const std::vector<UciSplitResult>& trials,
                                   const std::vector<std::size_t>& rank, std::size_t n_val) {
  std::vector<bool> keep(trials.size(), false);
  if (rule == "se") {
    std::vector<double> acc;
    for (const UciSplitResult& t : trials) acc.push_back(t.val_accuracy);
    keep = within_one_standard_error(acc, n_val);
  } else {
    const std::size_t K = rule == "all" ? trials.size() : std::min<std::size_t>(std::stoul(rule), trials.size());
    for (std::size_t i = 0; i < K; ++i) keep[rank[i]] = true;
  }
  return keep;
}

// A finished member for the checkpoint directory (doubles round-trip exactly).
nlohmann::json to_json(const UciSplitResult& r) {
  nlohmann::json h = nlohmann::json::array();
  for (const UciMemberEpoch& e : r.history) h.push_back({e.epoch, e.train_loss, e.val_loss, e.val_accuracy});
  return {{"test_accuracy", r.test_accuracy}, {"val_accuracy", r.val_accuracy}, {"val_loss", r.val_loss},
          {"history", h}, {"beta", r.beta}, {"best_epoch", r.best_epoch}, {"val_prob", r.val_prob},
          {"test_prob", r.test_prob}};
}

UciSplitResult split_from_json(const nlohmann::json& j) {
  UciSplitResult r;
  r.test_accuracy = number_from_json(j.at("test_accuracy"));
  r.val_accuracy = number_from_json(j.at("val_accuracy"));
  r.val_loss = number_from_json(j.at("val_loss"));
  for (const auto& e : j.at("history")) r.history.push_back({e.at(0), number_from_json(e.at(1)), number_from_json(e.at(2)), number_from_json(e.at(3))});
  r.beta = j.at("beta");
  r.best_epoch = j.at("best_epoch");
  r.val_prob = j.at("val_prob").get<std::vector<double>>();
  r.test_prob = j.at("test_prob").get<std::vector<double>>();
  return r;
}

std::string member_unit(const std::string& dataset, std::size_t k, std::size_t g) {
  return dataset + ".split" + std::to_string(k + 1) + ".member" + std::to_string(g + 1);
}

UciMemberConfig candidate_config(const UciMemberConfig& c, const Candidate& cd) {
  UciMemberConfig cg = c;
  cg.dropout = cd.dropout;
  cg.lr = cd.lr;
  cg.weight_decay = cd.weight_decay;
  cg.model = cd.model;
  cg.bins = cd.bins;
  return cg;
}

// One member (split k, candidate g), or its saved result when the checkpoint directory holds it. write: a
// member trained here is saved (on rank 0 only: under mpirun the other ranks read the directory, rank 0
// writes what they send it).
UciSplitResult run_member(const UciDataset& ds, std::size_t k, std::size_t g, const UciMemberConfig& cg, bool trained,
                       std::uint64_t seed, const RunCheckpoint* ckpt, bool write) {
  const std::string unit = member_unit(ds.name, k, g);
  if (ckpt && ckpt->has(unit)) {
    try {
      return split_from_json(ckpt->load(unit));
    } catch (const nlohmann::json::exception&) {
      HF_FAIL("--resume", ckpt->dir() << "/" << unit << ".json is damaged (not a member result of hopfield-uci)");
    }
  }
  // Every candidate has its own initialisation and batch order: the ensemble gains from that diversity.
  UciSplitResult r = trained ? train_uci_member(ds, k, cg, seed + k + 7919 * g) : run_uci_retrieval(ds, k);
  if (ckpt && write) ckpt->save(unit, to_json(r));
  return r;
}

// The ensembles of a dataset from its members' results, trials[split][candidate].
DatasetResult assemble(const UciDataset& ds, const UciMemberConfig& c, const std::vector<Candidate>& grid,
                       std::vector<std::vector<UciSplitResult>> all_trials, bool verbose) {
  DatasetResult r;
  r.name = ds.name;
  r.n = ds.num_samples;
  r.d = ds.num_features;
  r.classes = ds.num_classes;
  for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
    std::vector<UciSplitResult> trials = std::move(all_trials.at(k));
    // Rank the candidates on validation; the prediction averages the class probabilities of the members
    // the --ensemble rule keeps (see ensemble_members).
    std::vector<std::size_t> rank = iota_indices(grid.size());
    std::stable_sort(rank.begin(), rank.end(), [&](std::size_t a, std::size_t b) {
      const UciSplitResult &x = trials[a], &y = trials[b];
      return x.val_accuracy != y.val_accuracy ? x.val_accuracy > y.val_accuracy : x.val_loss < y.val_loss;
    });
    const Labels test_y = gather(ds.labels, ds.split(k).test);
    std::vector<double> top_k;
    std::vector<const std::vector<double>*> members;
    for (std::size_t g : rank) {
      members.push_back(&trials[g].test_prob);
      top_k.push_back(ensemble_accuracy(members, test_y, ds.num_classes));
    }
    const std::size_t best = rank[0];
    const UciSplitResult& s = trials[best];
    const std::vector<bool> keep = ensemble_members(c.ensemble, trials, rank, ds.split(k).validation.size());
    members.clear();
    for (std::size_t g : rank)
      if (keep[g]) members.push_back(&trials[g].test_prob);
    r.split_accuracy.push_back(ensemble_accuracy(members, test_y, ds.num_classes));
    r.chosen.push_back(best);
    r.in_ensemble.push_back(keep);
    r.top_k_accuracy.push_back(top_k);
    r.test_labels.push_back(test_y);
    if (verbose) {
      std::ostringstream when;  // how the best single model was fitted: its epochs, or the retrieval's b
      if (grid[best].trained()) when << "epoch " << s.best_epoch << " of " << s.history.size();
      else when << "b = " << s.beta;
      std::printf("%s split %zu: test accuracy %.4f, %zu of %zu members averaged  (best single model: validation %.4f, "
                  "test %.4f, %s%s%s)\n",
                  ds.name.c_str(), k + 1, r.split_accuracy.back(), members.size(), grid.size(), s.val_accuracy,
                  s.test_accuracy, when.str().c_str(), grid.size() > 1 ? ", " : "",
                  grid.size() > 1 ? grid[best].label().c_str() : "");
    }
    r.trials.push_back(std::move(trials));
  }
  for (double a : r.split_accuracy) r.accuracy_mean += a / static_cast<double>(r.split_accuracy.size());
  return r;
}

// A whole dataset on this thread: every member in order, then the ensembles.
DatasetResult run_dataset(const std::string& dir, const UciMemberConfig& c, const std::vector<Candidate>& grid,
                          std::uint64_t seed, const RunCheckpoint* ckpt, bool write) {
  const auto t0 = std::chrono::steady_clock::now();
  const UciDataset ds = load_uci(dir);
  std::vector<std::vector<UciSplitResult>> trials(UciDataset::num_splits);
  for (std::size_t k = 0; k < UciDataset::num_splits; ++k)
    for (std::size_t g = 0; g < grid.size(); ++g)
      trials[k].push_back(run_member(ds, k, g, candidate_config(c, grid[g]), grid[g].trained(), seed, ckpt, write));
  DatasetResult r = assemble(ds, c, grid, std::move(trials), false);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// A dataset's result as JSON (doubles round-trip exactly), to travel from the rank that ran it to rank 0.
nlohmann::json to_json(const DatasetResult& r) {
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& split : r.trials) {
    nlohmann::json s = nlohmann::json::array();
    for (const UciSplitResult& t : split) s.push_back(to_json(t));
    trials.push_back(s);
  }
  return {{"name", r.name}, {"n", r.n}, {"d", r.d}, {"classes", r.classes}, {"split_accuracy", r.split_accuracy},
          {"trials", trials}, {"chosen", r.chosen}, {"in_ensemble", r.in_ensemble},
          {"top_k_accuracy", r.top_k_accuracy}, {"test_labels", r.test_labels},
          {"accuracy_mean", r.accuracy_mean}, {"seconds", r.seconds}};
}

DatasetResult dataset_from_json(const nlohmann::json& j) {
  DatasetResult r;
  r.name = j.at("name");
  r.n = j.at("n");
  r.d = j.at("d");
  r.classes = j.at("classes");
  for (const auto& v : j.at("split_accuracy")) r.split_accuracy.push_back(number_from_json(v));
  for (const auto& split : j.at("trials")) {
    std::vector<UciSplitResult> s;
    for (const auto& t : split) s.push_back(split_from_json(t));
    r.trials.push_back(std::move(s));
  }
  r.chosen = j.at("chosen").get<std::vector<std::size_t>>();
  r.in_ensemble = j.at("in_ensemble").get<std::vector<std::vector<bool>>>();
  for (const auto& split : j.at("top_k_accuracy")) {
    std::vector<double> s;
    for (const auto& v : split) s.push_back(number_from_json(v));
    r.top_k_accuracy.push_back(std::move(s));
  }
  r.test_labels = j.at("test_labels").get<std::vector<Labels>>();
  r.accuracy_mean = number_from_json(j.at("accuracy_mean"));
  r.seconds = j.at("seconds");
  return r;
}

// One row per (dataset, split, candidate): what the validation choice saw, for inspecting the grid.
// metrics.csv: one row per epoch of every trained member (its training curve; the candidate column indexes
// the rows of uci_trials.csv within a split). Also uci_top_k.csv (the test accuracy of the top-K ensemble for
// every K) and uci_test_probabilities.csv (every candidate's class probabilities on every test row, so that
// other ensembles can be scored offline).
void write_trials(const std::string& dir, const std::vector<DatasetResult>& results, const std::vector<Candidate>& grid) {
  std::ostringstream trials, top_k, probs, metrics;
  trials << "dataset,split,model,bins,dropout,lr,weight_decay,val_accuracy,val_loss,test_accuracy,best_epoch,chosen,in_ensemble,beta\n";
  top_k << "dataset,split,k,test_accuracy\n";
  probs << "dataset,split,candidate,row,label,probabilities\n";
  metrics << "dataset,split,candidate,model,bins,dropout,epoch,train_loss,val_loss,val_accuracy\n";
  for (const DatasetResult& r : results)
    for (std::size_t k = 0; k < r.trials.size(); ++k) {
      for (std::size_t K = 0; K < r.top_k_accuracy[k].size(); ++K)
        top_k << r.name << ',' << k + 1 << ',' << K + 1 << ',' << r.top_k_accuracy[k][K] << '\n';
      const Labels& y = r.test_labels[k];
      for (std::size_t g = 0; g < r.trials[k].size(); ++g) {
        const UciSplitResult& t = r.trials[k][g];
        for (const UciMemberEpoch& e : t.history)
          metrics << r.name << ',' << k + 1 << ',' << g << ',' << grid[g].model << ',' << grid[g].bins << ','
                  << grid[g].dropout << ',' << e.epoch << ',' << e.train_loss << ',' << e.val_loss << ','
                  << e.val_accuracy << '\n';
        trials << r.name << ',' << k + 1 << ',' << grid[g].model << ',' << grid[g].bins << ',' << grid[g].dropout << ','
               << grid[g].lr << ',' << grid[g].weight_decay << ',' << t.val_accuracy << ',' << t.val_loss << ','
               << t.test_accuracy << ',' << t.best_epoch << ',' << (r.chosen[k] == g ? 1 : 0) << ','
               << (r.in_ensemble[k][g] ? 1 : 0) << ',' << t.beta << '\n';
        const std::size_t C = y.empty() ? 0 : t.test_prob.size() / y.size();
        for (std::size_t i = 0; i < y.size(); ++i) {
          probs << r.name << ',' << k + 1 << ',' << g << ',' << i << ',' << y[i] << ',';
          for (std::size_t c = 0; c < C; ++c) probs << (c ? ";" : "") << t.test_prob[i * C + c];
          probs << '\n';
        }
      }
    }
  write_text_file(dir + "/metrics.csv", metrics.str());
  write_text_file(dir + "/uci_trials.csv", trials.str());
  write_text_file(dir + "/uci_top_k.csv", top_k.str());
  write_text_file(dir + "/uci_test_probabilities.csv", probs.str());
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
  Grid grid;
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
    if (no_grid) grid = Grid{{}, {}, {}, {}, {}};
    const std::vector<Candidate> candidates = grid.candidates(c);
    // What the results came from: the single setting, or "ensemble of N: <candidate>; <candidate>; ...".
    std::string model_desc = candidates.size() == 1 ? candidates[0].label() : "ensemble of " + std::to_string(candidates.size()) + ":";
    if (candidates.size() > 1)
      for (const Candidate& cd : candidates) model_desc += (model_desc.back() == ':' ? " " : "; ") + cd.label();
    if (!out_dir.empty() && root) std::filesystem::create_directories(out_dir);
    // --checkpoint-dir: every finished member (split x candidate) is kept; --resume loads those. Rank 0 opens
    // (or creates) the run first; the other ranks then only read it, rank 0 writes the members they send.
    std::optional<RunCheckpoint> ckpt;
    if (!checkpoint_dir.empty()) {
      nlohmann::json grid_json = nlohmann::json::array();
      for (const Candidate& cd : candidates) grid_json.push_back(cd.label());
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
            return to_json(run_member(ds, k, g, candidate_config(c, candidates[g]), candidates[g].trained(), seed, ck, root))
                .dump();
          },
          [&](std::size_t u, const std::string& text) {
            const std::size_t k = u / G, g = u % G;
            const nlohmann::json m = nlohmann::json::parse(text);
            trials[k][g] = split_from_json(m);
            if (ckpt && !ckpt->has(member_unit(ds.name, k, g))) ckpt->save(member_unit(ds.name, k, g), m);
            char info[96];
            std::snprintf(info, sizeof info, "split %zu %s: validation %.4f", k + 1, candidates[g].model.c_str(),
                          trials[k][g].val_accuracy);
            progress->update(1, info);
          },
          [&](std::size_t u) { return ck && ck->has(member_unit(ds.name, u / G, u % G)); });
      if (!root) return 0;  // rank 0 has every member; it alone reports and writes
      progress->finish();
      DatasetResult r = assemble(ds, c, candidates, std::move(trials), true);
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!out_dir.empty()) write_trials(out_dir, {r}, candidates);
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
      std::vector<DatasetResult> results(names.size());
      std::optional<Progress> progress;
      if (root) progress.emplace(static_cast<std::int64_t>(names.size()), "datasets");
      // The datasets are the units (each on one rank, `threads` of them at a time there); a dataset travels to
      // rank 0 as JSON, and rank 0 checkpoints the members of those trained elsewhere.
      distributed::run_distributed_jobs(
          names.size(), threads,
          [&](std::size_t i) { return to_json(run_dataset(all_dir + "/" + names[i], c, candidates, seed, ck, root)).dump(); },
          [&](std::size_t i, const std::string& text) {
            results[i] = dataset_from_json(nlohmann::json::parse(text));
            const DatasetResult& r = results[i];
            if (ckpt)
              for (std::size_t k = 0; k < r.trials.size(); ++k)
                for (std::size_t g = 0; g < r.trials[k].size(); ++g)
                  if (!ckpt->has(member_unit(r.name, k, g))) ckpt->save(member_unit(r.name, k, g), to_json(r.trials[k][g]));
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
      if (!out_dir.empty()) write_trials(out_dir, results, candidates);
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
