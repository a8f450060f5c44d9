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
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/models/mil_net.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/optim/trainer.h"
#include "hopfield/report/csv_log.h"
#include "hopfield/report/plot.h"
#include "hopfield/report/progress.h"
#include "cli_checks.h"

namespace {

using namespace hf;

struct MilConfig {
  std::size_t width = 128;       // w, instance embedding width
  std::size_t depth = 1;         // Linear layers in the embedding
  std::string activation = "relu";
  double dropout = 0.0;          // after every embedding layer
  std::size_t heads = 8;         // H
  std::size_t hidden = 32;       // per-head association dimension
  double scaling = 0.0;          // beta; 0 = hflayers' default 1/sqrt(hidden)
  double pool_dropout = 0.0;     // on the association matrix
  double lr = 1e-3;
  double weight_decay = 1e-4;
  double lr_decay = 0.98;        // per epoch
  std::size_t batch_size = 8;
  std::size_t epochs = 100;
  std::size_t patience = 20;     // epochs without validation improvement before stopping
  double val_fraction = 0.2;     // of the outer training bags, for early stopping
  double clip = 1.0;             // gradient norm clip; 0 = off
  std::size_t ensemble = 5;      // members of the cross-validation ensemble (<= round(1 / val_fraction))
  std::string stop_on = "auc";   // early-stopping metric on the validation bags: auc or loss
  bool early_stopping = true;    // false: exactly `epochs` epochs, the last epoch's parameters, no validation

  std::string summary() const {
    std::ostringstream s;
    s << "width=" << width << " depth=" << depth << " heads=" << heads << " hidden=" << hidden
      << " scaling=" << (scaling > 0 ? std::to_string(scaling) : std::string("1/sqrt(hidden)")) << " dropout=" << dropout
      << " lr=" << lr << " wd=" << weight_decay << " batch=" << batch_size;
    return s.str();
  }
  MilNetOptions net(std::size_t d, std::uint64_t seed) const {
    return MilNetOptions(d).width(width).depth(depth).activation(activation).dropout(dropout).num_heads(heads)
        .hidden_size(hidden).scaling(scaling).pool_dropout(pool_dropout).seed(seed);
  }
  nlohmann::json json() const {
    return {{"width", width}, {"depth", depth}, {"activation", activation}, {"dropout", dropout}, {"heads", heads},
            {"hidden", hidden}, {"scaling", scaling}, {"pool_dropout", pool_dropout}, {"lr", lr},
            {"weight_decay", weight_decay}, {"lr_decay", lr_decay}, {"batch_size", batch_size}, {"epochs", epochs},
            {"patience", patience}, {"val_fraction", val_fraction}, {"clip", clip}, {"ensemble", ensemble},
            {"stop_on", stop_on}, {"early_stopping", early_stopping}};
  }
};

// One epoch's record for the metrics CSV.
struct EpochRow {
  std::size_t epoch;
  double train_loss, val_loss, val_auc, lr;
};

struct FitResult {
  std::vector<double> test_prob;  // per test bag
  std::size_t best_epoch = 0;
  double best_val_loss = 0, best_val_auc = 0;
  std::vector<EpochRow> history;
};

// Scores of `bags` under the model (eval mode, no tape), as probabilities; mean BCE in *loss.
std::vector<double> predict(MilNet& net, const BagBatch& batch, double* loss) {
  NoGrad ng;
  net.eval();
  Tensor logits = net.forward(batch.x, batch.mask);
  if (loss) *loss = binary_cross_entropy_with_logits(logits, batch.labels).item();
  std::vector<double> z = logits.to_vector();
  for (double& v : z) v = 1.0 / (1.0 + std::exp(-v));
  return z;
}



// Trains on `fit` bags with early stopping on `val` bags (both standardised with statistics of fit+val),
// returns probabilities for `test` bags from the best epoch's parameters. Without early stopping
// (c.early_stopping false) it trains exactly c.epochs epochs, never scores `val` (its history values are NaN)
// and predicts with the last epoch's parameters: a fixed amount of work, as a timing comparison needs.
FitResult fit_and_predict(const MilDataset& ds, const std::vector<std::size_t>& fit, const std::vector<std::size_t>& val,
                          const std::vector<std::size_t>& test, const MilConfig& c, std::uint64_t seed) {
  std::vector<std::size_t> all_train = fit;
  all_train.insert(all_train.end(), val.begin(), val.end());
  const Standardizer st = fit_standardizer(ds, all_train);
  const BagBatch val_batch = make_bag_batch(ds, val, &st);
  const BagBatch test_batch = make_bag_batch(ds, test, &st);
  const Labels val_y = gather(ds.bag_labels, val);

  MilNet net(c.net(ds.num_features, seed));
  AdamW opt(net, AdamWOptions(c.lr).weight_decay(c.weight_decay));
  ExponentialLR sched(opt, c.lr_decay);
  // Batches of similar bag sizes (bucket_by), so that a bag of 1000 instances (Musk2) is not padded together
  // with bags of 2; seeded per epoch.
  DataLoader<BagBatch> loader(fit, BagBatchCollate(ds, &st),
                              DataLoaderOptions(c.batch_size).seed(seed).bucket_by(bag_sizes(ds)));
  // Early-stopping criterion: validation AUC, ties broken by the validation loss (the AUC of ~20
  // validation bags moves in coarse steps; among equal AUCs the better-calibrated epoch wins).
  Trainer trainer(net, opt,
                  TrainerOptions()
                      .epochs(static_cast<std::int64_t>(c.epochs))
                      .patience(c.early_stopping ? static_cast<std::int64_t>(c.patience) : 0)
                      .mode("max")
                      .clip_grad_norm(c.clip));
  trainer.scheduler(&sched);
  const TrainResult t = trainer.fit(
      loader,
      [&](const BagBatch& b, const StepInfo&) {
        return BatchLoss{binary_cross_entropy_with_logits(net.forward(b.x, b.mask), b.labels)};
      },
      [&](std::int64_t) {
        if (!c.early_stopping) {
          const double nan = std::numeric_limits<double>::quiet_NaN();
          return EpochMetrics{0.0, {{"val_loss", nan}, {"val_auc", nan}}};
        }
        double val_loss = 0;
        const double val_auc = roc_auc(predict(net, val_batch, &val_loss), val_y);
        const double score = c.stop_on == "loss" ? -val_loss : val_auc - 1e-3 * std::min(val_loss, 10.0);
        return EpochMetrics{score, {{"val_loss", val_loss}, {"val_auc", val_auc}}};
      });
  FitResult r;
  for (const EpochRecord& e : t.history)
    r.history.push_back({static_cast<std::size_t>(e.epoch), e.train_loss, e.values[0], e.values[1], e.lr});
  // Without early stopping the Trainer reports no best epoch: the last one is the one predicted with.
  r.best_epoch = t.best_epoch > 0 ? static_cast<std::size_t>(t.best_epoch) : r.history.size();
  r.best_val_loss = r.history[r.best_epoch - 1].val_loss;
  r.best_val_auc = r.history[r.best_epoch - 1].val_auc;
  r.test_prob = predict(net, test_batch, nullptr);
  return r;
}

}  // namespace


namespace {

struct FoldOutcome {
  std::size_t repeat = 0, fold = 0;
  double auc = 0, accuracy = 0;
  std::vector<std::size_t> best_epochs;  // per ensemble member
  MilConfig config;
  std::vector<std::vector<EpochRow>> histories;
  double seconds = 0;
};

// A cross-validation ensemble on the training bags: they are split into k = round(1 / val_fraction)
// stratified parts; member m trains on all parts but m and early-stops on part m; the test probabilities
// are the members' mean. Every training bag thus trains some members and validates one, and averaging
// members that overfit differently lowers the variance that ~150 training bags leave.
struct EnsembleResult {
  std::vector<double> test_prob;
  std::vector<std::size_t> best_epochs;
  std::vector<std::vector<EpochRow>> histories;  // per member
};

EnsembleResult ensemble_predict(const MilDataset& ds, const std::vector<std::size_t>& train,
                                const std::vector<std::size_t>& test, const MilConfig& c, std::uint64_t seed) {
  const std::size_t k = std::min<std::size_t>(
      train.size(), std::max<std::size_t>(2, static_cast<std::size_t>(std::lround(1.0 / c.val_fraction))));
  const std::vector<Fold> parts = stratified_kfold(gather(ds.bag_labels, train), k, seed);
  const std::size_t members = std::min(c.ensemble, k);
  EnsembleResult e;
  e.test_prob.assign(test.size(), 0.0);
  for (std::size_t m = 0; m < members; ++m) {
    FitResult r = fit_and_predict(ds, take(train, parts[m].train), take(train, parts[m].test), test, c, seed + 101 * m);
    for (std::size_t i = 0; i < test.size(); ++i) e.test_prob[i] += r.test_prob[i] / static_cast<double>(members);
    e.best_epochs.push_back(r.best_epoch);
    e.histories.push_back(std::move(r.history));
  }
  return e;
}

// The nested search grid (kept small: every point costs inner_folds trainings per outer fold).
std::vector<MilConfig> search_grid(const MilConfig& base) {
  std::vector<MilConfig> grid;
  for (std::size_t width : {64, 128})
    for (double scaling : {0.1, 1.0, 10.0})
      for (double lr : {1e-3, 3e-4}) {
        MilConfig c = base;
        c.width = width;
        c.scaling = scaling;
        c.lr = lr;
        grid.push_back(c);
      }
  return grid;
}

FoldOutcome run_fold(const MilDataset& ds, const Fold& fold, const MilConfig& base, bool search,
                     std::size_t inner_folds, std::uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  FoldOutcome out;
  MilConfig chosen = base;
  if (search) {
    // Score each grid point by its mean AUC over inner folds of the outer training bags (one model per
    // inner fold instead of an ensemble, to keep the search affordable).
    const std::vector<Fold> inner = stratified_kfold(gather(ds.bag_labels, fold.train), inner_folds, seed ^ 0x9e3779b97f4a7c15ULL);
    double best = -1;
    for (MilConfig c : search_grid(base)) {
      c.ensemble = 1;
      double s = 0;
      for (std::size_t i = 0; i < inner.size(); ++i) {
        const std::vector<std::size_t> tr = take(fold.train, inner[i].train), te = take(fold.train, inner[i].test);
        const EnsembleResult r = ensemble_predict(ds, tr, te, c, seed + 31 * i);
        s += roc_auc(r.test_prob, gather(ds.bag_labels, te));
      }
      s /= static_cast<double>(inner.size());
      if (s > best) {
        best = s;
        chosen = c;
        chosen.ensemble = base.ensemble;
      }
    }
  }
  EnsembleResult r = ensemble_predict(ds, fold.train, fold.test, chosen, seed);
  const Labels y = gather(ds.bag_labels, fold.test);
  out.auc = roc_auc(r.test_prob, y);
  out.accuracy = accuracy_at(r.test_prob, y);
  out.best_epochs = r.best_epochs;
  out.config = chosen;
  out.histories = std::move(r.histories);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// A finished fold for the checkpoint directory: doubles round-trip exactly; NaN (the validation columns of a
// run without early stopping) is written as null and read back as NaN.
nlohmann::json to_json(const FoldOutcome& o) {
  nlohmann::json h = nlohmann::json::array();
  for (const auto& member : o.histories) {
    nlohmann::json m = nlohmann::json::array();
    for (const EpochRow& e : member)
      m.push_back({e.epoch, json_number(e.train_loss), json_number(e.val_loss), json_number(e.val_auc), e.lr});
    h.push_back(m);
  }
  return {{"repeat", o.repeat}, {"fold", o.fold}, {"auc", o.auc}, {"accuracy", o.accuracy},
          {"best_epochs", o.best_epochs}, {"config", o.config.json()}, {"histories", h}, {"seconds", o.seconds}};
}

// JSON has no NaN (nlohmann writes null): the validation values of a run without early stopping.
double number(const nlohmann::json& v) { return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>(); }

FoldOutcome fold_from_json(const nlohmann::json& j, const MilConfig& base) {
  FoldOutcome o;
  o.repeat = j.at("repeat");
  o.fold = j.at("fold");
  o.auc = number(j.at("auc"));
  o.accuracy = number(j.at("accuracy"));
  o.best_epochs = j.at("best_epochs").get<std::vector<std::size_t>>();
  o.config = base;
  const nlohmann::json& c = j.at("config");
  o.config.width = c.at("width");
  o.config.scaling = c.at("scaling");
  o.config.lr = c.at("lr");
  for (const auto& m : j.at("histories")) {
    std::vector<EpochRow> rows;
    for (const auto& e : m)
      rows.push_back({e.at(0), number_from_json(e.at(1)), number_from_json(e.at(2)), number_from_json(e.at(3)),
                      number_from_json(e.at(4))});
    o.histories.push_back(std::move(rows));
  }
  o.seconds = j.at("seconds");
  return o;
}


}  // namespace

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
    std::vector<FoldOutcome> results(jobs.size());
    const auto unit_of = [&](std::size_t j) {
      return "fold_r" + std::to_string(jobs[j].repeat + 1) + "_f" + std::to_string(jobs[j].fold + 1);
    };
    // A fold's result travels as its checkpoint JSON (doubles round-trip exactly), from whichever rank ran it
    // to rank 0; folds already in the checkpoint directory stay with rank 0, which loads them.
    distributed::run_distributed_jobs(
        jobs.size(), threads,
        [&](std::size_t j) {
          if (ckpt && ckpt->has(unit_of(j))) return ckpt->load(unit_of(j)).dump();
          FoldOutcome o = run_fold(ds, jobs[j].split, c, search, inner_folds, seed * 7919 + j);
          o.repeat = jobs[j].repeat;
          o.fold = jobs[j].fold;
          return to_json(o).dump();
        },
        [&](std::size_t j, const std::string& text) {
          const std::string unit = unit_of(j);
          try {
            results[j] = fold_from_json(nlohmann::json::parse(text), c);
          } catch (const nlohmann::json::exception&) {
            HF_FAIL("--resume", (ckpt ? ckpt->dir() : std::string("checkpoint")) << "/" << unit
                                    << ".json is damaged (not a fold result of hopfield-mil)");
          }
          if (ckpt && !ckpt->has(unit)) ckpt->save(unit, nlohmann::json::parse(text));
          const FoldOutcome& o = results[j];
          const double rf[2] = {static_cast<double>(o.repeat + 1), static_cast<double>(o.fold + 1)};
          double mean_best = 0;
          std::string epochs;
          for (std::size_t m = 0; m < o.histories.size(); ++m) {
            mean_best += static_cast<double>(o.best_epochs[m]) / static_cast<double>(o.histories.size());
            if (m) epochs += ',';
            epochs += std::to_string(o.best_epochs[m]);
            if (epoch_log)
              for (const EpochRow& e : o.histories[m])
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
