// Training and cross-validating a MilNet (mil_net.h) the way hopfield-mil does (the paper's section 4.2 /
// Table 2): one outer test fold at a time, a cross-validation ensemble of early-stopped members on its
// training bags, and optionally a nested grid search on inner folds. Here so that a user's own MIL data gets
// the same evaluation in a few calls, and the fold results are units of a resumable run:
//
//   MilConfig c;  c.width = 64;
//   for (const Fold& f : stratified_kfold(ds.bag_labels, 10, seed)) {
//     MilFoldResult r = run_mil_fold(ds, f, c, false, 3, seed);   // r.auc, r.accuracy, r.histories
//   }
//
// Training (fit_mil): AdamW + weight decay, exponential lr decay, gradient clipping, batches of similar bag
// sizes; early stopping on validation bags by AUC (ties by a small loss term; `stop_on` "loss": by loss) with
// the best epoch's weights restored. Features are standardised with the training bags' statistics only.
//
// Legend: B bags in a batch, N instances (padded), d features, w embedding width, H heads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/layers/models/mil_net.h"

namespace hf {

// A MIL run's network and training settings (hopfield-mil's command line fills them).
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

  // "width=128 depth=1 heads=8 ..." for the log.
  std::string summary() const;
  // The MilNet for d features, initialised from seed.
  MilNetOptions net(std::size_t d, std::uint64_t seed) const;
  // Every setting, for a checkpoint directory's run.json.
  nlohmann::json json() const;
};

// One epoch's record for the metrics CSV (validation values NaN without early stopping).
struct MilEpochRow {
  std::size_t epoch;
  double train_loss, val_loss, val_auc, lr;
};

struct MilFit {
  std::vector<double> test_prob;  // per test bag
  std::size_t best_epoch = 0;
  double best_val_loss = 0, best_val_auc = 0;
  std::vector<MilEpochRow> history;
};

// The bags' probabilities under the network (eval mode, no tape); the mean BCE in *loss when not null.
std::vector<double> mil_predict(MilNet& net, const BagBatch& batch, double* loss);

// Trains on `fit` bags with early stopping on `val` bags (both standardised with the statistics of fit+val)
// and returns probabilities for `test` bags from the best epoch's parameters. Without early stopping
// (c.early_stopping false) it trains exactly c.epochs epochs, never scores `val` (its history values are NaN)
// and predicts with the last epoch's parameters: a fixed amount of work, as a timing comparison needs.
MilFit fit_mil(const MilDataset& ds, const std::vector<std::size_t>& fit, const std::vector<std::size_t>& val,
               const std::vector<std::size_t>& test, const MilConfig& c, std::uint64_t seed);

// A cross-validation ensemble on the training bags: they are split into k = round(1 / val_fraction)
// stratified parts; member m trains on all parts but m and early-stops on part m; the test probabilities are
// the members' mean. Every training bag thus trains some members and validates one, and averaging members
// that overfit differently lowers the variance that ~150 training bags leave.
struct MilEnsembleResult {
  std::vector<double> test_prob;
  std::vector<std::size_t> best_epochs;
  std::vector<std::vector<MilEpochRow>> histories;  // per member
};
MilEnsembleResult mil_ensemble_predict(const MilDataset& ds, const std::vector<std::size_t>& train,
                                       const std::vector<std::size_t>& test, const MilConfig& c, std::uint64_t seed);

// The nested search grid around base: width {64, 128} x scaling {0.1, 1, 10} x lr {1e-3, 3e-4} (kept small:
// every point costs inner_folds trainings per outer fold).
std::vector<MilConfig> mil_search_grid(const MilConfig& base);

// One outer fold: the ensemble's test AUC and accuracy (threshold 0.5). search: every grid point is first
// scored by its mean AUC over inner_folds inner folds of the outer training bags (one model per inner fold),
// and the best is used; the test fold is never looked at while choosing.
struct MilFoldResult {
  std::size_t repeat = 0, fold = 0;
  double auc = 0, accuracy = 0;
  std::vector<std::size_t> best_epochs;  // per ensemble member
  MilConfig config;                      // the setting used (the search's choice)
  std::vector<std::vector<MilEpochRow>> histories;
  double seconds = 0;
};
MilFoldResult run_mil_fold(const MilDataset& ds, const Fold& fold, const MilConfig& base, bool search,
                           std::size_t inner_folds, std::uint64_t seed);

// A finished fold for a checkpoint directory and back: doubles round-trip exactly; NaN (the validation
// columns of a run without early stopping) is written as null and read back as NaN. from_json takes the
// settings the search does not change from base.
nlohmann::json mil_fold_to_json(const MilFoldResult& r);
MilFoldResult mil_fold_from_json(const nlohmann::json& j, const MilConfig& base);

}  // namespace hf
