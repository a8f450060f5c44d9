// MIL training and cross-validation (see hopfield/layers/models/mil_cv.h); moved here from
// examples/hopfield_mil.cpp.
#include "hopfield/layers/models/mil_cv.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "hopfield/datasets/data_loader.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/engine/ops.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/optim/trainer.h"

namespace hf {

std::string MilConfig::summary() const {
  std::ostringstream s;
  s << "width=" << width << " depth=" << depth << " heads=" << heads << " hidden=" << hidden
    << " scaling=" << (scaling > 0 ? std::to_string(scaling) : std::string("1/sqrt(hidden)")) << " dropout=" << dropout
    << " lr=" << lr << " wd=" << weight_decay << " batch=" << batch_size;
  return s.str();
}

MilNetOptions MilConfig::net(std::size_t d, std::uint64_t seed) const {
  return MilNetOptions(d).width(width).depth(depth).activation(activation).dropout(dropout).num_heads(heads)
      .hidden_size(hidden).scaling(scaling).pool_dropout(pool_dropout).seed(seed);
}

nlohmann::json MilConfig::json() const {
  return {{"width", width}, {"depth", depth}, {"activation", activation}, {"dropout", dropout}, {"heads", heads},
          {"hidden", hidden}, {"scaling", scaling}, {"pool_dropout", pool_dropout}, {"lr", lr},
          {"weight_decay", weight_decay}, {"lr_decay", lr_decay}, {"batch_size", batch_size}, {"epochs", epochs},
          {"patience", patience}, {"val_fraction", val_fraction}, {"clip", clip}, {"ensemble", ensemble},
          {"stop_on", stop_on}, {"early_stopping", early_stopping}};
}

std::vector<double> mil_predict(MilNet& net, const BagBatch& batch, double* loss) {
  NoGrad ng;
  net.eval();
  Tensor logits = net.forward(batch.x, batch.mask);
  if (loss) *loss = binary_cross_entropy_with_logits(logits, batch.labels).item();
  std::vector<double> z = logits.to_vector();
  for (double& v : z) v = 1.0 / (1.0 + std::exp(-v));
  return z;
}

MilFit fit_mil(const MilDataset& ds, const std::vector<std::size_t>& fit, const std::vector<std::size_t>& val,
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
        const double val_auc = roc_auc(mil_predict(net, val_batch, &val_loss), val_y);
        const double score = c.stop_on == "loss" ? -val_loss : val_auc - 1e-3 * std::min(val_loss, 10.0);
        return EpochMetrics{score, {{"val_loss", val_loss}, {"val_auc", val_auc}}};
      });
  MilFit r;
  for (const EpochRecord& e : t.history)
    r.history.push_back({static_cast<std::size_t>(e.epoch), e.train_loss, e.values[0], e.values[1], e.lr});
  // Without early stopping the Trainer reports no best epoch: the last one is the one predicted with.
  r.best_epoch = t.best_epoch > 0 ? static_cast<std::size_t>(t.best_epoch) : r.history.size();
  r.best_val_loss = r.history[r.best_epoch - 1].val_loss;
  r.best_val_auc = r.history[r.best_epoch - 1].val_auc;
  r.test_prob = mil_predict(net, test_batch, nullptr);
  return r;
}

MilEnsembleResult mil_ensemble_predict(const MilDataset& ds, const std::vector<std::size_t>& train,
                                       const std::vector<std::size_t>& test, const MilConfig& c, std::uint64_t seed) {
  const std::size_t k = std::min<std::size_t>(
      train.size(), std::max<std::size_t>(2, static_cast<std::size_t>(std::lround(1.0 / c.val_fraction))));
  const std::vector<Fold> parts = stratified_kfold(gather(ds.bag_labels, train), k, seed);
  const std::size_t members = std::min(c.ensemble, k);
  MilEnsembleResult e;
  e.test_prob.assign(test.size(), 0.0);
  for (std::size_t m = 0; m < members; ++m) {
    MilFit r = fit_mil(ds, take(train, parts[m].train), take(train, parts[m].test), test, c, seed + 101 * m);
    for (std::size_t i = 0; i < test.size(); ++i) e.test_prob[i] += r.test_prob[i] / static_cast<double>(members);
    e.best_epochs.push_back(r.best_epoch);
    e.histories.push_back(std::move(r.history));
  }
  return e;
}

std::vector<MilConfig> mil_search_grid(const MilConfig& base) {
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

MilFoldResult run_mil_fold(const MilDataset& ds, const Fold& fold, const MilConfig& base, bool search,
                           std::size_t inner_folds, std::uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  MilFoldResult out;
  MilConfig chosen = base;
  if (search) {
    // Score each grid point by its mean AUC over inner folds of the outer training bags (one model per
    // inner fold instead of an ensemble, to keep the search affordable).
    const std::vector<Fold> inner = stratified_kfold(gather(ds.bag_labels, fold.train), inner_folds, seed ^ 0x9e3779b97f4a7c15ULL);
    double best = -1;
    for (MilConfig c : mil_search_grid(base)) {
      c.ensemble = 1;
      double s = 0;
      for (std::size_t i = 0; i < inner.size(); ++i) {
        const std::vector<std::size_t> tr = take(fold.train, inner[i].train), te = take(fold.train, inner[i].test);
        const MilEnsembleResult r = mil_ensemble_predict(ds, tr, te, c, seed + 31 * i);
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
  MilEnsembleResult r = mil_ensemble_predict(ds, fold.train, fold.test, chosen, seed);
  const Labels y = gather(ds.bag_labels, fold.test);
  out.auc = roc_auc(r.test_prob, y);
  out.accuracy = accuracy_at(r.test_prob, y);
  out.best_epochs = r.best_epochs;
  out.config = chosen;
  out.histories = std::move(r.histories);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

nlohmann::json mil_fold_to_json(const MilFoldResult& o) {
  nlohmann::json h = nlohmann::json::array();
  for (const auto& member : o.histories) {
    nlohmann::json m = nlohmann::json::array();
    for (const MilEpochRow& e : member)
      m.push_back({e.epoch, json_number(e.train_loss), json_number(e.val_loss), json_number(e.val_auc), e.lr});
    h.push_back(m);
  }
  return {{"repeat", o.repeat}, {"fold", o.fold}, {"auc", o.auc}, {"accuracy", o.accuracy},
          {"best_epochs", o.best_epochs}, {"config", o.config.json()}, {"histories", h}, {"seconds", o.seconds}};
}

MilFoldResult mil_fold_from_json(const nlohmann::json& j, const MilConfig& base) {
  MilFoldResult o;
  o.repeat = j.at("repeat");
  o.fold = j.at("fold");
  o.auc = number_from_json(j.at("auc"));
  o.accuracy = number_from_json(j.at("accuracy"));
  o.best_epochs = j.at("best_epochs").get<std::vector<std::size_t>>();
  o.config = base;
  const nlohmann::json& c = j.at("config");
  o.config.width = c.at("width");
  o.config.scaling = c.at("scaling");
  o.config.lr = c.at("lr");
  for (const auto& m : j.at("histories")) {
    std::vector<MilEpochRow> rows;
    for (const auto& e : m)
      rows.push_back({e.at(0), number_from_json(e.at(1)), number_from_json(e.at(2)), number_from_json(e.at(3)),
                      number_from_json(e.at(4))});
    o.histories.push_back(std::move(rows));
  }
  o.seconds = j.at("seconds");
  return o;
}

}  // namespace hf
