// MIL training and cross-validation of hopfield-mil (layers/models/mil_cv.h): the settings map onto the
// network, the search grid, one outer fold on planted bags (repeatable, better than chance, one history per
// ensemble member), and the fold's checkpoint round trip with NaN validation values.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/models/mil_cv.h"

using namespace hf;

TEST_CASE("mil_cv: the settings build the network, the search grid varies width, scaling and lr only") {
  MilConfig c;
  c.width = 16;
  c.heads = 2;
  c.hidden = 4;
  c.depth = 2;
  c.activation = "tanh";
  const MilNetOptions o = c.net(7, 3);
  CHECK(o.num_features() == 7);
  CHECK(o.width() == 16);
  CHECK(o.num_heads() == 2);
  CHECK(o.hidden_size() == 4);
  CHECK(o.depth() == 2);
  CHECK(o.activation() == "tanh");
  CHECK(o.seed() == 3);
  CHECK(c.json().at("width") == 16);
  CHECK(c.json().at("stop_on") == "auc");
  CHECK(c.summary().rfind("width=16 depth=2 heads=2 hidden=4 scaling=1/sqrt(hidden)", 0) == 0);
  const std::vector<MilConfig> grid = mil_search_grid(c);
  CHECK(grid.size() == 2 * 3 * 2);
  std::set<std::string> seen;
  for (const MilConfig& g : grid) {
    seen.insert(std::to_string(g.width) + "/" + std::to_string(g.scaling) + "/" + std::to_string(g.lr));
    CHECK(g.depth == 2);  // the rest is base
    CHECK(g.activation == "tanh");
  }
  CHECK(seen.size() == 12);
}

TEST_CASE("mil_cv: a fold on planted bags beats chance, repeats its seed, and its result round-trips") {
  const MilDataset ds = planted_mil_bags(PlantedMilOptions(60, 6).signal(4.0).seed(2));
  MilConfig c;
  c.width = 16;
  c.heads = 2;
  c.hidden = 8;
  c.epochs = 30;
  c.patience = 30;
  c.ensemble = 2;
  c.val_fraction = 0.25;
  const std::vector<Fold> folds = stratified_kfold(ds.bag_labels, 3, 1);
  const MilFoldResult a = run_mil_fold(ds, folds[0], c, false, 3, 5);
  CHECK(a.auc > 0.75);  // a witness 4 standard deviations out in each positive bag
  CHECK(a.accuracy >= 0.0);
  CHECK(a.accuracy <= 1.0);
  REQUIRE(a.histories.size() == 2);  // min(ensemble, round(1 / val_fraction)) members
  REQUIRE(a.best_epochs.size() == 2);
  CHECK(a.histories[0].size() <= 30);
  CHECK(a.best_epochs[0] >= 1);
  const MilFoldResult b = run_mil_fold(ds, folds[0], c, false, 3, 5);
  CHECK(b.auc == a.auc);
  CHECK(b.histories[1].back().train_loss == a.histories[1].back().train_loss);

  // The ensemble's probabilities are the mean of its members' (fit_mil with the members' parts and seeds).
  const std::vector<Fold> parts = stratified_kfold(gather(ds.bag_labels, folds[0].train), 4, 5);
  const MilEnsembleResult e = mil_ensemble_predict(ds, folds[0].train, folds[0].test, c, 5);
  const MilFit m0 = fit_mil(ds, take(folds[0].train, parts[0].train), take(folds[0].train, parts[0].test),
                            folds[0].test, c, 5);
  const MilFit m1 = fit_mil(ds, take(folds[0].train, parts[1].train), take(folds[0].train, parts[1].test),
                            folds[0].test, c, 5 + 101);
  REQUIRE(e.test_prob.size() == folds[0].test.size());
  for (std::size_t i = 0; i < e.test_prob.size(); ++i)
    CHECK(e.test_prob[i] == doctest::Approx((m0.test_prob[i] + m1.test_prob[i]) / 2).epsilon(1e-12));

  // Without early stopping: the validation columns are NaN, saved as null and read back as NaN.
  c.early_stopping = false;
  c.epochs = 2;
  c.ensemble = 1;
  MilFoldResult n = run_mil_fold(ds, folds[1], c, false, 3, 5);
  REQUIRE(n.histories.size() == 1);
  CHECK(n.histories[0].size() == 2);
  CHECK(n.best_epochs[0] == 2);  // the last epoch is the one predicted with
  CHECK(std::isnan(n.histories[0][0].val_auc));
  n.repeat = 1;
  n.fold = 2;
  const MilFoldResult back = mil_fold_from_json(nlohmann::json::parse(mil_fold_to_json(n).dump()), c);
  CHECK(back.repeat == 1);
  CHECK(back.fold == 2);
  CHECK(back.auc == n.auc);
  CHECK(back.accuracy == n.accuracy);
  CHECK(back.best_epochs == n.best_epochs);
  CHECK(back.histories[0][1].train_loss == n.histories[0][1].train_loss);
  CHECK(back.histories[0][1].lr == n.histories[0][1].lr);
  CHECK(std::isnan(back.histories[0][1].val_loss));
  CHECK(back.config.width == c.width);
}

TEST_CASE("mil_cv: mil_predict gives the sigmoid of the logits and the mean BCE") {
  const MilDataset ds = planted_mil_bags(PlantedMilOptions(6, 3).seed(1));
  MilNet net(MilNetOptions(3).width(8).num_heads(1).hidden_size(4).seed(2));
  const BagBatch batch = make_bag_batch(ds, {0, 1, 2, 3, 4, 5}, nullptr);
  double loss = 0;
  const std::vector<double> p = mil_predict(net, batch, &loss);
  NoGrad ng;
  const std::vector<double> z = net.forward(batch.x, batch.mask).to_vector();
  const std::vector<double> y = batch.labels.to_vector();
  REQUIRE(p.size() == 6);
  double bce = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(p[i] == doctest::Approx(1 / (1 + std::exp(-z[i]))).epsilon(1e-12));
    bce -= y[i] * std::log(p[i]) + (1 - y[i]) * std::log(1 - p[i]);
  }
  CHECK(loss == doctest::Approx(bce / 6).epsilon(1e-6));
}
