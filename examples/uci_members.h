// The ensemble members of hopfield-uci (examples/hopfield_uci.cpp): the classifier, how one split trains and
// evaluates it, and the untrained retrieval member. Header-only so the program stays one hf_program source.
//
//   x (B, d) --[piecewise-linear encoding, `--bins`]--> (B, D) --Linear -> SELU -> Dropout--> h (B, w)
//   --as one state pattern (B, 1, w)--> Hopfield association with a memory --> (B, w)
//   --[h + memory output]--> Linear(w, C) --> logits
//   loss: cross-entropy; Adam; early stopping on the split's validation rows (accuracy, ties by loss).
//
// Three memories, all used (`--model` for a single one):
//   prototypes  HopfieldLayer: q trainable lookup patterns (a learned associative memory, hflayers'
//               HopfieldLayer), shared by all queries.
//   memory      the embedded TRAINING rows themselves are the stored patterns (a soft nearest-neighbour
//               lookup in the learned space; a row never retrieves itself: association mask), with up
//               to `--memory-size` rows drawn per step.
//   retrieval   nothing trained: the paper's Hopfield network (layers/memory.h) stores all standardised
//               training rows and one update reads out their labels (run_retrieval; beta on validation).
// Alone, the two trained ones score about the same (49 small datasets: 0.780 / 0.776 on raw features, 0.794 /
// 0.794 with 8 bins), the retrieval 0.786; they err on different rows, so averaging them is better.
//
// Input encoding (datasets/piecewise_linear.h): every standardised feature is kept and followed by up to
// `--bins` piecewise-linear bin activations with edges from the split's training rows. Many of these tables
// code categories as numbers (flags, molec-biol-promoter, hayes-roth, teaching); with the bins a linear layer
// can read each category separately. Single models on the 49 small datasets: raw 0.776-0.780, 8 bins
// 0.788-0.794, 16 bins 0.786-0.793; six-model ensembles, raw -> 8 bins: flags 0.43 -> 0.54,
// molec-biol-promoter 0.77 -> 0.84, hayes-roth 0.78 -> 0.88.
//
// Legend: B rows in a batch, d features, w embedding width, q prototypes, S stored training rows,
// C classes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/piecewise_linear.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/datasets/uci.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/layers/models/tabular_hopfield.h"
#include "hopfield/layers/retrieval_classifier.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/trainer.h"

namespace hf::uci_demo {

struct UciConfig {
  std::string model = "prototypes";
  std::size_t width = 128;
  std::size_t heads = 4;
  std::size_t hidden = 32;
  std::size_t prototypes = 64;      // q
  std::size_t memory_size = 512;    // stored training rows per step (model memory)
  double scaling = 0.0;             // 0 = 1/sqrt(hidden)
  double dropout = 0.1;
  double lr = 1e-3;
  double weight_decay = 1e-5;
  std::size_t batch_size = 32;
  std::size_t epochs = 100;
  std::size_t patience = 10;
  std::size_t max_steps = 3000;     // per split: large datasets stop here (epochs are long)
  std::size_t min_epoch_rows = 1024;
  std::size_t bins = 8;             // piecewise-linear encoding of each feature (0 = raw features only)
  std::string ensemble = "se";      // which grid candidates are averaged: se, all or K (ensemble_members)
};

inline TabularHopfieldNetOptions net_options(std::size_t d, std::size_t classes, const UciConfig& c, std::uint64_t seed) {
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

// Evaluation in chunks (no tape): predicted classes and the mean loss. feats is (n, d), d the encoded width.
inline Labels predict(TabularHopfieldNet& net, const UciDataset& ds, const std::vector<double>& feats, std::size_t d, const std::vector<std::size_t>& rows,
               const Tensor& memory_rows, double* loss, std::vector<double>* probs = nullptr) {
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

// One epoch of a trained member: mean training loss over its steps, then loss and accuracy on the validation rows.
struct MemberEpoch {
  std::size_t epoch;
  double train_loss, val_loss, val_accuracy;
};

struct SplitResult {
  double test_accuracy = 0, val_accuracy = 0, val_loss = 0;
  std::vector<MemberEpoch> history;  // per epoch trained (empty for the retrieval member, which does not train)
  double beta = 0;  // the retrieval member's b (0 for trained members)
  std::size_t best_epoch = 0;
  std::vector<double> val_prob, test_prob;  // (rows, C) class probabilities, row-major
};

inline SplitResult run_split(const UciDataset& ds, std::size_t k, const UciConfig& c, std::uint64_t seed) {
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
  TabularHopfieldNet net(net_options(d, ds.num_classes, c, seed));
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
  SplitResult res;
  for (const EpochRecord& e : t.history)
    res.history.push_back({static_cast<std::size_t>(e.epoch), e.train_loss, e.values[0], e.values[1]});
  res.best_epoch = static_cast<std::size_t>(t.best_epoch);
  double unused = 0;
  res.val_accuracy = accuracy(predict(net, ds, feats, d, sp.validation, eval_mem, &res.val_loss, &res.val_prob), val_y);
  res.test_accuracy = accuracy(predict(net, ds, feats, d, sp.test, eval_mem, &unused, &res.test_prob), test_y);
  return res;
}

// The retrieval member: the paper's Hopfield network itself as a classifier, nothing trained
// (layers/retrieval_classifier.h): the stored patterns are the split's standardised training rows, one
// update with their one-hot labels as values gives the class probabilities, and the association weighs
// stored rows by distance, softmax(-beta/2 ||xi - y||^2). beta = 2 b / d (b per feature), with b from a
// fixed grid chosen on the split's validation rows (ties: the smaller b, the smoother model).
inline constexpr double kRetrievalB[] = {0.3, 1, 3, 10, 30, 100, 300};

inline SplitResult run_retrieval(const UciDataset& ds, std::size_t k) {
  const UciSplit sp = ds.split(k);
  std::vector<double> feats = ds.features;
  ds.fit_standardizer(k).apply(feats);
  const std::size_t d = ds.num_features, C = ds.num_classes;
  const Tensor stored = gather_rows(feats, d, sp.train, Dtype::Float64), val_x = gather_rows(feats, d, sp.validation, Dtype::Float64);
  const Labels train_y = gather(ds.labels, sp.train), val_y = gather(ds.labels, sp.validation), test_y = gather(ds.labels, sp.test);
  const auto classifier = [&](double b) {
    return RetrievalClassifier(stored, train_y, C, RetrievalClassifierOptions().beta(2 * b / static_cast<double>(d)));
  };
  SplitResult res;
  res.val_accuracy = -1;
  for (double b : kRetrievalB) {
    std::vector<double> p = classifier(b).predict_proba(val_x).to_vector();
    const double acc = ensemble_accuracy({&p}, val_y, C);
    if (acc > res.val_accuracy) res.val_accuracy = acc, res.val_loss = multiclass_log_loss(p, val_y, C), res.val_prob = std::move(p), res.beta = b;
  }
  res.test_prob = classifier(res.beta).predict_proba(gather_rows(feats, d, sp.test, Dtype::Float64)).to_vector();
  res.test_accuracy = ensemble_accuracy({&res.test_prob}, test_y, C);
  return res;
}

}  // namespace hf::uci_demo
