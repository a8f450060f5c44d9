// The members of a UCI ensemble (see hopfield/layers/models/uci_members.h).
#include "hopfield/layers/models/uci_members.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/datasets/piecewise_linear.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/retrieval_classifier.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/trainer.h"

namespace hf {

TabularHopfieldNetOptions uci_net_options(std::size_t d, std::size_t classes, const UciMemberConfig& c,
                                          std::uint64_t seed) {
  return TabularHopfieldNetOptions(d, classes)
      .memory(c.model)
      .width(c.width)
      .num_heads(c.heads)
      .hidden_size(c.hidden)
      .prototypes(c.prototypes)
      .scaling(c.scaling)
      .dropout(c.dropout)
      .seed(seed);
}

namespace {

// Evaluation in chunks (no tape): predicted classes and the mean loss. feats is (n, d), d the encoded width.
Labels predict(TabularHopfieldNet& net, const UciDataset& ds, const std::vector<double>& feats, std::size_t d,
               const std::vector<std::size_t>& rows, const Tensor& memory_rows, double* loss,
               std::vector<double>* probs = nullptr) {
  NoGrad ng;
  net.eval();
  Labels pred;
  double loss_sum = 0;
  const std::size_t chunk = 512;
  for (std::size_t s = 0; s < rows.size(); s += chunk) {
    const std::vector<std::size_t> part(rows.begin() + static_cast<std::ptrdiff_t>(s),
                                        rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), s + chunk)));
    Tensor logits = net.forward(gather_rows(feats, d, part), memory_rows);
    loss_sum += cross_entropy(logits, gather_label_tensor(ds.labels, part), CrossEntropyOptions().reduction(Reduction::Sum)).item();
    if (probs) {
      const std::vector<double> p = softmax(logits, 1).to_vector();
      probs->insert(probs->end(), p.begin(), p.end());
    }
    const Tensor am = argmax(logits, 1);
    const auto* a = am.data<std::int64_t>();
    pred.insert(pred.end(), a, a + part.size());
  }
  if (loss) *loss = loss_sum / static_cast<double>(rows.size());
  return pred;
}

}  // namespace

UciSplitResult train_uci_member(const UciDataset& ds, std::size_t k, const UciMemberConfig& c, std::uint64_t seed) {
  const UciSplit sp = ds.split(k);
  HF_CHECK(!sp.train.empty() && !sp.validation.empty() && !sp.test.empty(), "hopfield-uci",
           ds.name << " split " << k << " has an empty train, validation or test part");
  std::vector<double> feats = ds.features;
  ds.fit_standardizer(k).apply(feats);  // statistics of the split's training rows only
  std::size_t d = ds.num_features;
  if (c.bins > 0) {  // edges from the split's training rows only, like the standardiser
    const PiecewiseLinearEncoder enc = fit_piecewise_linear(feats, d, sp.train, c.bins);
    feats = enc.apply(feats);
    d = enc.output_dim();
  }
  TabularHopfieldNet net(uci_net_options(d, ds.num_classes, c, seed));
  Adam opt(net, AdamOptions(c.lr).weight_decay(c.weight_decay));
  const Labels val_y = gather(ds.labels, sp.validation), test_y = gather(ds.labels, sp.test);
  const bool mem = c.model == "memory";
  // Fixed memory for evaluation: a seeded sample of training rows (all of them if few).
  const std::vector<std::size_t> eval_mem_rows = [&] {
    std::vector<std::size_t> r = shuffled(sp.train, seed, 0);
    r.resize(std::min(r.size(), c.memory_size));
    return r;
  }();
  const Tensor eval_mem = mem ? gather_rows(feats, d, eval_mem_rows) : Tensor();
  // On tiny training sets (lenses: 12 rows) one pass is a single step; an epoch of at least min_epoch_rows rows
  // keeps the number of steps per validation check (and per patience epoch) sane. Batches are row indices.
  DataLoader<std::vector<std::size_t>> loader(
      sp.train, [](const std::vector<std::size_t>& rows) { return rows; },
      DataLoaderOptions(c.batch_size).seed(seed).min_epoch_size(c.min_epoch_rows));
  Trainer trainer(net, opt,
                  TrainerOptions()
                      .epochs(static_cast<std::int64_t>(c.epochs))
                      .max_steps(static_cast<std::int64_t>(c.max_steps))
                      .patience(static_cast<std::int64_t>(c.patience))
                      .mode("max"));
  const TrainResult t = trainer.fit(
      loader,
      [&](const std::vector<std::size_t>& batch, const StepInfo& at) {
        Tensor stored, self_mask;
        if (mem) {
          // Stored rows: a random sample of training rows; a query never sees itself.
          std::vector<std::size_t> m =
              shuffled(sp.train, seed + 7, static_cast<std::uint64_t>(at.epoch) * 100003 + static_cast<std::uint64_t>(at.step));
          m.resize(std::min(m.size(), c.memory_size));
          stored = gather_rows(feats, d, m);
          self_mask = zeros({batch.size(), m.size()}, Dtype::Bool);
          auto* p = self_mask.data<std::uint8_t>();
          for (std::size_t i = 0; i < batch.size(); ++i)
            for (std::size_t j = 0; j < m.size(); ++j) p[i * m.size() + j] = batch[i] == m[j];
        }
        Tensor loss = cross_entropy(net.forward(gather_rows(feats, d, batch), stored, self_mask), gather_label_tensor(ds.labels, batch));
        return BatchLoss{loss, static_cast<double>(batch.size())};
      },
      [&](std::int64_t) {
        double val_loss = 0;
        const double val_acc = accuracy(predict(net, ds, feats, d, sp.validation, eval_mem, &val_loss), val_y);
        return EpochMetrics{val_acc - 1e-3 * std::min(val_loss, 10.0), {{"val_loss", val_loss}, {"val_accuracy", val_acc}}};
      });
  UciSplitResult res;
  for (const EpochRecord& e : t.history)
    res.history.push_back({static_cast<std::size_t>(e.epoch), e.train_loss, e.values[0], e.values[1]});
  res.best_epoch = static_cast<std::size_t>(t.best_epoch);
  double unused = 0;
  res.val_accuracy = accuracy(predict(net, ds, feats, d, sp.validation, eval_mem, &res.val_loss, &res.val_prob), val_y);
  res.test_accuracy = accuracy(predict(net, ds, feats, d, sp.test, eval_mem, &unused, &res.test_prob), test_y);
  return res;
}

UciSplitResult run_uci_retrieval(const UciDataset& ds, std::size_t k) {
  const UciSplit sp = ds.split(k);
  std::vector<double> feats = ds.features;
  ds.fit_standardizer(k).apply(feats);
  const std::size_t d = ds.num_features, C = ds.num_classes;
  const Tensor stored = gather_rows(feats, d, sp.train, Dtype::Float64), val_x = gather_rows(feats, d, sp.validation, Dtype::Float64);
  const Labels train_y = gather(ds.labels, sp.train), val_y = gather(ds.labels, sp.validation), test_y = gather(ds.labels, sp.test);
  const auto classifier = [&](double b) {
    return RetrievalClassifier(stored, train_y, C, RetrievalClassifierOptions().beta(2 * b / static_cast<double>(d)));
  };
  UciSplitResult res;
  res.val_accuracy = -1;
  for (double b : kUciRetrievalB) {
    std::vector<double> p = classifier(b).predict_proba(val_x).to_vector();
    const double acc = ensemble_accuracy({&p}, val_y, C);
    if (acc > res.val_accuracy) res.val_accuracy = acc, res.val_loss = multiclass_log_loss(p, val_y, C), res.val_prob = std::move(p), res.beta = b;
  }
  res.test_prob = classifier(res.beta).predict_proba(gather_rows(feats, d, sp.test, Dtype::Float64)).to_vector();
  res.test_accuracy = ensemble_accuracy({&res.test_prob}, test_y, C);
  return res;
}

}  // namespace hf
