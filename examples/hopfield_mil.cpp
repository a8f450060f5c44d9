// hopfield-mil: multiple-instance learning with Hopfield pooling (the paper's section 4.2 / Table 2).
//
//   instances of a bag x (B, N, d) --[Linear -> act -> Dropout] x depth--> h (B, N, w)
//   --HopfieldPooling over the N instances (padding mask (B, N), true = padded slot)--> (B, 1, w)
//   --act -> Linear(w, 1)--> one logit per bag;  loss: BCE with logits; AdamW + weight decay,
//   exponential lr decay, gradient clipping, early stopping on an inner validation split
//   (--no-early-stopping: exactly --epochs epochs, no validation work; what bench/mil_e2e.sh times).
//
// Evaluation: stratified k-fold cross-validation over bags (repeated `--repeats` times with new folds);
// features are standardised with the statistics of each outer training fold only. ROC AUC and accuracy
// (threshold 0.5) per test fold and mean +/- std over all folds of all repeats.
// `--search` runs a nested search: every outer training fold is split into inner folds, a small grid is
// scored on them (mean validation AUC), and the best setting is retrained on the outer training fold;
// test folds are never looked at while choosing.
//
// Legend: B bags in a batch, N instances (padded), d features, w embedding width, H heads.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/layers/models/mil_cv.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/report/csv_log.h"
#include "hopfield/report/plot.h"
#include "hopfield/report/progress.h"
#include "cli_checks.h"

using namespace hf;

int main(int argc, char** argv) {
  // Under mpirun / srun the folds are spread over the ranks; rank 0 gathers, prints and writes everything.
  distributed::ProcessGroup group(&argc, &argv);
  const bool root = distributed::get_rank() == 0;
  CLI::App app{"hopfield-mil: multiple-instance learning with Hopfield pooling, k-fold cross-validated ROC AUC"};
  std::string data_path, out_dir, checkpoint_dir;
  std::size_t folds = 10, repeats = 1, threads = 2, inner_folds = 3, synthetic_bags = 200;
  std::uint64_t seed = 1;
  bool json = false, search = false, resume = false;
  MilConfig c;
  app.add_option("--data", data_path, "unified MIL CSV (bag_id,label,f1..fd); default: synthetic planted bags");
  app.add_option("--synthetic-bags", synthetic_bags, "bags of the synthetic set (without --data)")->check(CLI::Range(4, 100000));
  app.add_option("--folds", folds, "cross-validation folds")->check(CLI::Range(2, 1000));
  app.add_option("--repeats", repeats, "repetitions with new fold assignments")->check(CLI::Range(1, 1000));
  app.add_option("--seed", seed, "seed of folds, initialisation, shuffling and dropout");
  app.add_option("--epochs", c.epochs, "maximum epochs per training")->check(CLI::Range(1, 100000));
  app.add_option("--patience", c.patience, "early stopping: epochs without validation improvement")->check(CLI::Range(1, 100000));
  bool no_early_stopping = false;
  app.add_flag("--no-early-stopping", no_early_stopping,
               "train exactly --epochs epochs and predict with the last epoch (no validation work; for timings)")
      ->excludes("--patience");
  app.add_option("--val-fraction", c.val_fraction, "fraction of the training bags used for early stopping")
      ->check(hf::cli::between(0.05, 0.5));
  app.add_option("--lr", c.lr, "learning rate (AdamW)")->check(hf::cli::kPositive);
  app.add_option("--lr-decay", c.lr_decay, "learning-rate factor per epoch")->check(hf::cli::between(0.5, 1.0));
  app.add_option("--weight-decay", c.weight_decay, "AdamW decoupled weight decay")->check(hf::cli::between(0.0, 1.0));
  app.add_option("--heads", c.heads, "Hopfield heads")->check(CLI::Range(1, 256));
  app.add_option("--hidden", c.hidden, "Hopfield association size per head")->check(CLI::Range(1, 4096));
  app.add_option("--scaling", c.scaling, "Hopfield beta (0 = 1/sqrt(hidden))")->check(hf::cli::between(0.0, 1e6));
  app.add_option("--dropout", c.dropout, "dropout after each embedding layer")->check(hf::cli::between(0.0, 0.95));
  app.add_option("--pool-dropout", c.pool_dropout, "dropout on the Hopfield association matrix")->check(hf::cli::between(0.0, 0.95));
  app.add_option("--width", c.width, "instance embedding width")->check(CLI::Range(1, 8192));
  app.add_option("--depth", c.depth, "instance embedding layers")->check(CLI::Range(1, 16));
  app.add_option("--activation", c.activation, "embedding activation")->check(CLI::IsMember({"relu", "selu", "gelu", "tanh"}));
  app.add_option("--batch-size", c.batch_size, "bags per training step")->check(CLI::Range(1, 100000));
  app.add_option("--clip", c.clip, "gradient-norm clipping (0 = off)")->check(hf::cli::between(0.0, 1e9));
  app.add_option("--ensemble", c.ensemble, "cross-validation ensemble members per outer fold (1 = single model)")
      ->check(CLI::Range(1, 20));
  app.add_option("--stop-on", c.stop_on, "early-stopping metric on the validation bags")
      ->check(CLI::IsMember({"auc", "loss"}));
  app.add_flag("--search", search, "nested hyperparameter search on inner folds of every outer training fold");
  app.add_option("--inner-folds", inner_folds, "inner folds of --search")->check(CLI::Range(2, 20));
  app.add_option("--threads", threads, "folds trained in parallel (the whole thread budget: BLAS and intra-op loops run on 1 thread per fold; "
                                       "under mpirun: per rank, and the folds are dealt over the ranks)")->check(CLI::Range(1, 256));
  app.add_option("--out", out_dir, "directory for metrics.csv (per epoch) and results.csv/json");
  app.add_option("--checkpoint-dir", checkpoint_dir,
                 "keep every finished fold in this directory (a killed run continues with --resume)");
  app.add_flag("--resume", resume, "continue the run in --checkpoint-dir: finished folds are loaded, not trained again")
      ->needs("--checkpoint-dir");
  app.add_flag("--json", json, "print one JSON object with the results as the last line");
  if (const int rc = cli::parse(app, argc, argv, "hopfield-mil"); rc >= 0) return rc;
  c.early_stopping = !no_early_stopping;

  try {
    const auto t0 = std::chrono::steady_clock::now();
    MilDataset ds;
    if (data_path.empty()) {
      ds = planted_mil_bags(PlantedMilOptions(synthetic_bags, 16).signal(3.0).seed(seed));
      ds.name = "synthetic";
    } else {
      ds = load_mil_csv(data_path);
      ds.name = std::filesystem::path(data_path).stem().string();
    }
    HF_CHECK(ds.num_bags() >= folds, "--folds", ds.num_bags() << " bags cannot be split into " << folds << " folds");
    if (root) std::printf("dataset %s: %zu bags (%zu positive), %zu instances, d=%zu, bag size %zu..%zu\n", ds.name.c_str(),
                ds.num_bags(), ds.num_positive(), ds.num_instances(), ds.num_features, ds.min_bag_size(),
                ds.max_bag_size());
    if (root) std::printf("model: %s%s; %zu-fold CV x %zu repeat(s)\n", c.summary().c_str(), search ? " (base of --search)" : "",
                folds, repeats);
    std::fflush(stdout);
    HF_CHECK(c.heads * c.hidden > 0, "hopfield-mil", "heads and hidden must be positive");
    blas::set_num_threads(1);  // folds run in parallel; the matrices are small

    struct Job {
      std::size_t repeat, fold;
      Fold split;
    };
    std::vector<Job> jobs;
    for (std::size_t r = 0; r < repeats; ++r) {
      const std::vector<Fold> f = stratified_kfold(ds.bag_labels, folds, seed + 1000003ULL * r);
      for (std::size_t i = 0; i < f.size(); ++i) jobs.push_back({r, i, f[i]});
    }
    std::unique_ptr<CsvLogger> epoch_log, fold_log;
    if (!out_dir.empty() && root) {
      std::filesystem::create_directories(out_dir);
      epoch_log = std::make_unique<CsvLogger>(
          out_dir + "/metrics.csv",
          std::vector<std::string>{"repeat", "fold", "member", "epoch", "train_loss", "val_loss", "val_auc", "lr"});
      fold_log = std::make_unique<CsvLogger>(
          out_dir + "/results.csv", std::vector<std::string>{"repeat", "fold", "auc", "accuracy", "mean_best_epoch", "seconds"});
    }
    // --checkpoint-dir: every finished fold is kept (written by rank 0); --resume loads those and trains only
    // the others.
    std::optional<RunCheckpoint> ckpt;
    if (!checkpoint_dir.empty() && root) {
      nlohmann::json run = {{"program", "hopfield-mil"}, {"data", data_path.empty() ? "synthetic" : data_path},
                            {"synthetic_bags", synthetic_bags}, {"folds", folds}, {"repeats", repeats},
                            {"seed", seed}, {"search", search}, {"inner_folds", inner_folds}, {"model", c.json()}};
      ckpt.emplace(checkpoint_dir, run, resume);
    }
    std::optional<Progress> progress;
    if (root) progress.emplace(static_cast<std::int64_t>(jobs.size()), "folds");
    std::vector<MilFoldResult> results(jobs.size());
    const auto unit_of = [&](std::size_t j) {
      return "fold_r" + std::to_string(jobs[j].repeat + 1) + "_f" + std::to_string(jobs[j].fold + 1);
    };
    // A fold's result travels as its checkpoint JSON (doubles round-trip exactly), from whichever rank ran it
    // to rank 0; folds already in the checkpoint directory stay with rank 0, which loads them.
    distributed::run_distributed_jobs(
        jobs.size(), threads,
        [&](std::size_t j) {
          if (ckpt && ckpt->has(unit_of(j))) return ckpt->load(unit_of(j)).dump();
          MilFoldResult o = run_mil_fold(ds, jobs[j].split, c, search, inner_folds, seed * 7919 + j);
          o.repeat = jobs[j].repeat;
          o.fold = jobs[j].fold;
          return mil_fold_to_json(o).dump();
        },
        [&](std::size_t j, const std::string& text) {
          const std::string unit = unit_of(j);
          try {
            results[j] = mil_fold_from_json(nlohmann::json::parse(text), c);
          } catch (const nlohmann::json::exception&) {
            HF_FAIL("--resume", (ckpt ? ckpt->dir() : std::string("checkpoint")) << "/" << unit
                                    << ".json is damaged (not a fold result of hopfield-mil)");
          }
          if (ckpt && !ckpt->has(unit)) ckpt->save(unit, nlohmann::json::parse(text));
          const MilFoldResult& o = results[j];
          const double rf[2] = {static_cast<double>(o.repeat + 1), static_cast<double>(o.fold + 1)};
          double mean_best = 0;
          std::string epochs;
          for (std::size_t m = 0; m < o.histories.size(); ++m) {
            mean_best += static_cast<double>(o.best_epochs[m]) / static_cast<double>(o.histories.size());
            if (m) epochs += ',';
            epochs += std::to_string(o.best_epochs[m]);
            if (epoch_log)
              for (const MilEpochRow& e : o.histories[m])
                epoch_log->row({rf[0], rf[1], static_cast<double>(m + 1), static_cast<double>(e.epoch), e.train_loss,
                                e.val_loss, e.val_auc, e.lr});
          }
          if (fold_log) fold_log->row({rf[0], rf[1], o.auc, o.accuracy, mean_best, o.seconds});
          std::printf("repeat %zu fold %2zu: AUC %.4f  accuracy %.4f  (best epochs %s, %.1f s)%s\n", o.repeat + 1,
                      o.fold + 1, o.auc, o.accuracy, epochs.c_str(), o.seconds,
                      search ? ("  chosen: " + o.config.summary()).c_str() : "");
          std::fflush(stdout);
          std::ostringstream info;
          info << "AUC " << o.auc;
          progress->update(1, info.str());
        },
        [&](std::size_t j) { return ckpt && ckpt->has(unit_of(j)); });
    if (!root) return 0;  // rank 0 has every result; it alone reports and writes
    progress->finish();

    std::vector<double> aucs, accs;
    for (const auto& o : results) {
      aucs.push_back(o.auc);
      accs.push_back(o.accuracy);
    }
    const MeanStd auc = mean_and_std(aucs), acc = mean_and_std(accs);
    const double auc_m = auc.mean, auc_s = auc.std, acc_m = acc.mean, acc_s = acc.std;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: ROC AUC %.4f +/- %.4f, accuracy %.4f +/- %.4f over %zu folds x %zu repeat(s), %.1f s\n",
                ds.name.c_str(), auc_m, auc_s, acc_m, acc_s, folds, repeats, seconds);

    nlohmann::json j;
    j["dataset"] = ds.name;
    j["folds"] = folds;
    j["repeats"] = repeats;
    j["search"] = search;
    j["auc_mean"] = auc_m;
    j["auc_std"] = auc_s;
    j["accuracy_mean"] = acc_m;
    j["accuracy_std"] = acc_s;
    j["auc_per_fold"] = aucs;
    j["seconds"] = seconds;
    if (!out_dir.empty()) write_text_file(out_dir + "/results.json", j.dump(2) + "\n");
    if (json) std::printf("%s\n", j.dump().c_str());
  } catch (const std::exception& e) {
    // Under mpirun: one line naming the rank, and the whole job ends (no rank waits for this one).
    if (distributed::get_world_size() > 1) distributed::abort_job("hopfield-mil", e.what());
    return cli::fail("hopfield-mil", e);
  }
  return 0;
}
