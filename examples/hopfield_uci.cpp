// hopfield-uci: a small tabular classifier with a Hopfield layer, on the UCI benchmark layout of
// Fernández-Delgado et al. (2014) (../shared/data/uci121), 4 fixed splits with their own validation rows.
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
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "datasets/cv_split.h"
#include "datasets/piecewise_linear.h"
#include "datasets/uci.h"
#include "engine/blas.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "engine/plot.h"
#include "engine/random.h"
#include "layers/dropout.h"
#include "layers/hopfield.h"
#include "layers/hopfield_layer.h"
#include "layers/linear.h"
#include "layers/retrieval_classifier.h"
#include "optim/adam.h"
#include "optim/metrics.h"
#include "optim/training.h"

namespace {

using namespace hf;

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

class UciNet : public Module {
 public:
  UciNet(std::size_t d, std::size_t classes, const UciConfig& c, std::uint64_t seed) : memory_mode_(c.model == "memory") {
    Generator gen(seed);
    embed = register_module("embed", std::make_shared<Linear>(LinearOptions(d, c.width)));
    embed->reset_parameters(gen);
    drop = register_module("drop", std::make_shared<Dropout>(DropoutOptions(c.dropout).seed(gen.next_u64())));
    HopfieldOptions ho(c.width);
    ho.num_heads(c.heads).hidden_size(c.hidden);
    if (c.scaling > 0) ho.scaling(c.scaling);
    if (memory_mode_) {
      memory = register_module("memory", std::make_shared<Hopfield>(ho));
      memory->reset_parameters(gen);
    } else {
      prototypes = register_module("prototypes", std::make_shared<HopfieldLayer>(HopfieldLayerOptions(ho).quantity(c.prototypes)));
      prototypes->reset_parameters(gen);
    }
    head = register_module("head", std::make_shared<Linear>(LinearOptions(c.width, classes)));
    head->reset_parameters(gen);
  }
  Tensor embed_rows(const Tensor& x) { return drop->forward(selu(embed->forward(x))); }
  // x (B, d) -> logits (B, C). Model memory: stored (S, d) training rows, self_mask (B, S) true where the
  // query is that stored row (or undefined).
  Tensor forward(const Tensor& x, const Tensor& stored = Tensor(), const Tensor& self_mask = Tensor()) {
    Tensor h = embed_rows(x);  // (B, w)
    Tensor r;
    if (memory_mode_) {
      Tensor m = unsqueeze(embed_rows(stored), 0);  // (1, S, w)
      Tensor assoc = self_mask.defined() ? self_mask : Tensor();
      r = squeeze(memory->forward(m, unsqueeze(h, 0), m, Tensor(), assoc), 0);  // (B, w)
    } else {
      r = squeeze(prototypes->forward(unsqueeze(h, 1)), 1);  // (B, w)
    }
    return head->forward(add(h, r));
  }
  std::string name() const override { return "UciNet"; }

  std::shared_ptr<Linear> embed, head;
  std::shared_ptr<Dropout> drop;
  std::shared_ptr<HopfieldLayer> prototypes;
  std::shared_ptr<Hopfield> memory;

 private:
  bool memory_mode_;
};

// rows of feats (n, d) as a (rows, d) tensor: float32 for the trained models, float64 for the retrieval.
Tensor rows_tensor(const std::vector<double>& feats, std::size_t d, const std::vector<std::size_t>& rows,
                   Dtype dtype = Dtype::Float32) {
  Tensor t = empty({rows.size(), d}, dtype);
  const auto fill = [&](auto* out) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (std::size_t j = 0; j < d; ++j)
        out[i * d + j] = static_cast<std::remove_pointer_t<decltype(out)>>(feats[rows[i] * d + j]);
  };
  if (dtype == Dtype::Float64) fill(t.data<double>());
  else fill(t.data<float>());
  return t;
}

Tensor labels_tensor(const UciDataset& ds, const std::vector<std::size_t>& rows) {
  Tensor t = zeros({rows.size()}, Dtype::Int64);
  auto* p = t.data<std::int64_t>();
  for (std::size_t i = 0; i < rows.size(); ++i) p[i] = ds.labels[rows[i]];
  return t;
}

Labels labels_of(const UciDataset& ds, const std::vector<std::size_t>& rows) {
  Labels y;
  for (std::size_t r : rows) y.push_back(ds.labels[r]);
  return y;
}

// Evaluation in chunks (no tape): predicted classes and the mean loss. feats is (n, d), d the encoded width.
Labels predict(UciNet& net, const UciDataset& ds, const std::vector<double>& feats, std::size_t d, const std::vector<std::size_t>& rows,
               const Tensor& memory_rows, double* loss, std::vector<double>* probs = nullptr) {
  NoGrad ng;
  net.eval();
  Labels pred;
  double loss_sum = 0;
  const std::size_t chunk = 512;
  for (std::size_t s = 0; s < rows.size(); s += chunk) {
    const std::vector<std::size_t> part(rows.begin() + static_cast<std::ptrdiff_t>(s),
                                        rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), s + chunk)));
    Tensor logits = net.forward(rows_tensor(feats, d, part), memory_rows);
    loss_sum += cross_entropy(logits, labels_tensor(ds, part), CrossEntropyOptions().reduction(Reduction::Sum)).item();
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

struct SplitResult {
  double test_accuracy = 0, val_accuracy = 0, val_loss = 0;
  double beta = 0;  // the retrieval member's b (0 for trained members)
  std::size_t best_epoch = 0, epochs = 0;
  std::vector<double> val_prob, test_prob;  // (rows, C) class probabilities, row-major
};

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
  std::vector<Candidate> candidates(const UciConfig& c) const {
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

SplitResult run_split(const UciDataset& ds, std::size_t k, const UciConfig& c, std::uint64_t seed) {
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
  UciNet net(d, ds.num_classes, c, seed);
  Adam opt(net, AdamOptions(c.lr).weight_decay(c.weight_decay));
  EarlyStopping stop(EarlyStoppingOptions().patience(static_cast<std::int64_t>(c.patience)).mode("max"));
  const Labels val_y = labels_of(ds, sp.validation), test_y = labels_of(ds, sp.test);
  const bool mem = c.model == "memory";
  // Fixed memory for evaluation: a seeded sample of training rows (all of them if few).
  const std::vector<std::size_t> eval_mem_rows = [&] {
    std::vector<std::size_t> r = shuffled(sp.train, seed, 0);
    r.resize(std::min(r.size(), c.memory_size));
    return r;
  }();
  const Tensor eval_mem = mem ? rows_tensor(feats, d, eval_mem_rows) : Tensor();
  Generator gen(seed ^ 0xabcdef);
  SplitResult res;
  std::size_t steps = 0;
  for (std::size_t epoch = 1; epoch <= c.epochs && steps < c.max_steps; ++epoch) {
    net.train();
    // On tiny training sets (lenses: 12 rows) one pass is a single step; an epoch of at least
    // min_epoch_rows rows keeps the number of steps per validation check (and per patience epoch) sane.
    std::vector<std::size_t> order;
    for (std::uint64_t pass = 0; order.empty() || order.size() < c.min_epoch_rows; ++pass) {
      const std::vector<std::size_t> o = shuffled(sp.train, seed, epoch * 1000003 + pass);
      order.insert(order.end(), o.begin(), o.end());
    }
    for (const auto& batch : make_batches(order, c.batch_size)) {
      Tensor stored, self_mask;
      if (mem) {
        // Stored rows: a random sample of training rows; a query never sees itself.
        std::vector<std::size_t> m = shuffled(sp.train, seed + 7, epoch * 100003 + steps);
        m.resize(std::min(m.size(), c.memory_size));
        stored = rows_tensor(feats, d, m);
        self_mask = zeros({batch.size(), m.size()}, Dtype::Bool);
        auto* p = self_mask.data<std::uint8_t>();
        for (std::size_t i = 0; i < batch.size(); ++i)
          for (std::size_t j = 0; j < m.size(); ++j) p[i * m.size() + j] = batch[i] == m[j];
      }
      Tensor loss = cross_entropy(net.forward(rows_tensor(feats, d, batch), stored, self_mask), labels_tensor(ds, batch));
      check_finite(loss, static_cast<std::int64_t>(steps));
      opt.zero_grad();
      loss.backward();
      opt.step();
      if (++steps >= c.max_steps) break;
    }
    double val_loss = 0;
    const double val_acc = accuracy(predict(net, ds, feats, d, sp.validation, eval_mem, &val_loss), val_y);
    res.epochs = epoch;
    if (stop.step(val_acc - 1e-3 * std::min(val_loss, 10.0), net)) break;
  }
  stop.restore_best(net);
  res.best_epoch = static_cast<std::size_t>(stop.best_epoch()) + 1;
  double unused = 0;
  res.val_accuracy = accuracy(predict(net, ds, feats, d, sp.validation, eval_mem, &res.val_loss, &res.val_prob), val_y);
  res.test_accuracy = accuracy(predict(net, ds, feats, d, sp.test, eval_mem, &unused, &res.test_prob), test_y);
  return res;
}

// Accuracy of the argmax of the mean class probabilities of `members` (each (rows, C) row-major).
double ensemble_accuracy(const std::vector<const std::vector<double>*>& members, const Labels& y, std::size_t classes) {
  Labels pred(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    std::size_t arg = 0;
    double best = -1;
    for (std::size_t c = 0; c < classes; ++c) {
      double p = 0;
      for (const auto* m : members) p += (*m)[i * classes + c];
      if (p > best) best = p, arg = c;
    }
    pred[i] = static_cast<std::int64_t>(arg);
  }
  return accuracy(pred, y);
}

// Mean cross-entropy of class probabilities (rows, C) row-major against labels y.
double probs_loss(const std::vector<double>& p, const Labels& y, std::size_t classes) {
  double l = 0;
  for (std::size_t i = 0; i < y.size(); ++i) l -= std::log(std::max(p[i * classes + static_cast<std::size_t>(y[i])], 1e-12));
  return l / static_cast<double>(y.size());
}

// The retrieval member: the paper's Hopfield network itself as a classifier, nothing trained
// (layers/retrieval_classifier.h): the stored patterns are the split's standardised training rows, one
// update with their one-hot labels as values gives the class probabilities, and the association weighs
// stored rows by distance, softmax(-beta/2 ||xi - y||^2). beta = 2 b / d (b per feature), with b from a
// fixed grid chosen on the split's validation rows (ties: the smaller b, the smoother model).
constexpr double kRetrievalB[] = {0.3, 1, 3, 10, 30, 100, 300};

SplitResult run_retrieval(const UciDataset& ds, std::size_t k) {
  const UciSplit sp = ds.split(k);
  std::vector<double> feats = ds.features;
  ds.fit_standardizer(k).apply(feats);
  const std::size_t d = ds.num_features, C = ds.num_classes;
  const Tensor stored = rows_tensor(feats, d, sp.train, Dtype::Float64), val_x = rows_tensor(feats, d, sp.validation, Dtype::Float64);
  const Labels train_y = labels_of(ds, sp.train), val_y = labels_of(ds, sp.validation), test_y = labels_of(ds, sp.test);
  const auto classifier = [&](double b) {
    return RetrievalClassifier(stored, train_y, C, RetrievalClassifierOptions().beta(2 * b / static_cast<double>(d)));
  };
  SplitResult res;
  res.val_accuracy = -1;
  for (double b : kRetrievalB) {
    std::vector<double> p = classifier(b).predict_proba(val_x).to_vector();
    const double acc = ensemble_accuracy({&p}, val_y, C);
    if (acc > res.val_accuracy) res.val_accuracy = acc, res.val_loss = probs_loss(p, val_y, C), res.val_prob = std::move(p), res.beta = b;
  }
  res.test_prob = classifier(res.beta).predict_proba(rows_tensor(feats, d, sp.test, Dtype::Float64)).to_vector();
  res.test_accuracy = ensemble_accuracy({&res.test_prob}, test_y, C);
  return res;
}

struct DatasetResult {
  std::string name;
  std::size_t n = 0, d = 0, classes = 0;
  std::vector<double> split_accuracy;            // test accuracy of the ensemble per split
  std::vector<std::vector<SplitResult>> trials;  // [split][candidate]
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
std::vector<bool> ensemble_members(const std::string& rule, const std::vector<SplitResult>& trials,
                                   const std::vector<std::size_t>& rank, std::size_t n_val) {
  std::vector<bool> keep(trials.size(), false);
  if (rule == "se") {
    std::vector<double> acc;
    for (const SplitResult& t : trials) acc.push_back(t.val_accuracy);
    keep = within_one_standard_error(acc, n_val);
  } else {
    const std::size_t K = rule == "all" ? trials.size() : std::min<std::size_t>(std::stoul(rule), trials.size());
    for (std::size_t i = 0; i < K; ++i) keep[rank[i]] = true;
  }
  return keep;
}

DatasetResult run_dataset(const std::string& dir, const UciConfig& c, const std::vector<Candidate>& grid,
                          std::uint64_t seed, bool verbose) {
  const auto t0 = std::chrono::steady_clock::now();
  const UciDataset ds = load_uci(dir);
  DatasetResult r;
  r.name = ds.name;
  r.n = ds.num_samples;
  r.d = ds.num_features;
  r.classes = ds.num_classes;
  for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
    std::vector<SplitResult> trials;
    for (std::size_t g = 0; g < grid.size(); ++g) {
      UciConfig cg = c;
      cg.dropout = grid[g].dropout;
      cg.lr = grid[g].lr;
      cg.weight_decay = grid[g].weight_decay;
      cg.model = grid[g].model;
      cg.bins = grid[g].bins;
      // Every candidate has its own initialisation and batch order: the ensemble gains from that diversity.
      trials.push_back(grid[g].trained() ? run_split(ds, k, cg, seed + k + 7919 * g) : run_retrieval(ds, k));
    }
    // Rank the candidates on validation; the prediction averages the class probabilities of the members
    // the --ensemble rule keeps (see ensemble_members).
    std::vector<std::size_t> rank = iota_indices(grid.size());
    std::stable_sort(rank.begin(), rank.end(), [&](std::size_t a, std::size_t b) {
      const SplitResult &x = trials[a], &y = trials[b];
      return x.val_accuracy != y.val_accuracy ? x.val_accuracy > y.val_accuracy : x.val_loss < y.val_loss;
    });
    const Labels test_y = labels_of(ds, ds.split(k).test);
    std::vector<double> top_k;
    std::vector<const std::vector<double>*> members;
    for (std::size_t g : rank) {
      members.push_back(&trials[g].test_prob);
      top_k.push_back(ensemble_accuracy(members, test_y, ds.num_classes));
    }
    const std::size_t best = rank[0];
    const SplitResult& s = trials[best];
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
      if (grid[best].trained()) when << "epoch " << s.best_epoch << " of " << s.epochs;
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
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// One row per (dataset, split, candidate): what the validation choice saw, for inspecting the grid.
// Also uci_top_k.csv (the test accuracy of the top-K ensemble for every K) and uci_test_probabilities.csv
// (every candidate's class probabilities on every test row, so that other ensembles can be scored offline).
void write_trials(const std::string& dir, const std::vector<DatasetResult>& results, const std::vector<Candidate>& grid) {
  std::ostringstream trials, top_k, probs;
  trials << "dataset,split,model,bins,dropout,lr,weight_decay,val_accuracy,val_loss,test_accuracy,best_epoch,chosen,in_ensemble,beta\n";
  top_k << "dataset,split,k,test_accuracy\n";
  probs << "dataset,split,candidate,row,label,probabilities\n";
  for (const DatasetResult& r : results)
    for (std::size_t k = 0; k < r.trials.size(); ++k) {
      for (std::size_t K = 0; K < r.top_k_accuracy[k].size(); ++K)
        top_k << r.name << ',' << k + 1 << ',' << K + 1 << ',' << r.top_k_accuracy[k][K] << '\n';
      const Labels& y = r.test_labels[k];
      for (std::size_t g = 0; g < r.trials[k].size(); ++g) {
        const SplitResult& t = r.trials[k][g];
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
  write_text_file(dir + "/uci_trials.csv", trials.str());
  write_text_file(dir + "/uci_top_k.csv", top_k.str());
  write_text_file(dir + "/uci_test_probabilities.csv", probs.str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hopfield-uci: Hopfield-layer classifier on the UCI benchmark (4 splits with validation rows)"};
  std::string data_dir, all_dir, csv_path, out_dir;
  std::uint64_t seed = 1;
  std::size_t threads = 2, max_n = 0;
  bool json = false;
  Grid grid;
  UciConfig c;
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
  app.add_option("--scaling", c.scaling, "beta (0 = 1/sqrt(hidden))")->check(CLI::Range(0.0, 1e6));
  app.add_option("--dropout", c.dropout, "dropout after the embedding")->check(CLI::Range(0.0, 0.95));
  app.add_option("--lr", c.lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--weight-decay", c.weight_decay, "Adam L2 weight decay")->check(CLI::Range(0.0, 1.0));
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
      ->check(CLI::Range(0.0, 0.95))->capture_default_str();
  app.add_option("--grid-lr", grid.lr, "validation grid: learning rates (empty = --lr only)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--grid-model", grid.model, "validation grid: memories (prototypes, memory, retrieval; empty = --model only)")
      ->check(CLI::IsMember({"prototypes", "memory", "retrieval"}))->capture_default_str();
  app.add_option("--grid-bins", grid.bins, "validation grid: piecewise-linear bins (0 = raw features; empty = --bins only)")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--grid-weight-decay", grid.weight_decay, "validation grid: weight decays (empty = --weight-decay only)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  bool no_grid = false;
  app.add_flag("--no-grid", no_grid, "train the single setting of --dropout, --lr, --weight-decay (no validation grid)");
  app.add_option("--ensemble", c.ensemble,
                 "which grid candidates' class probabilities are averaged: se (those within one standard error of "
                 "the best validation accuracy), all, or K (the best K on validation; 1 = the best only)")
      ->check(CLI::IsMember({"se", "all"}) | CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--seed", seed, "seed of initialisation, shuffling and dropout");
  app.add_option("--threads", threads, "datasets trained in parallel (--all)")->check(CLI::Range(1, 256));
  app.add_option("--out", out_dir, "directory for results (results.json, uci_results.csv)");
  app.add_flag("--json", json, "print one JSON object with the results as the last line");
  try {
    app.parse(argc, argv);
    if (data_dir.empty() && all_dir.empty()) throw CLI::RequiredError("--data or --all");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::Error& e) {
    std::cerr << "hopfield-uci: " << e.what() << "\n";
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
    if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
    nlohmann::json j;
    if (!data_dir.empty()) {
      const DatasetResult r = run_dataset(data_dir, c, candidates, seed, true);
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
      std::atomic<std::size_t> next{0};
      std::mutex io;
      std::exception_ptr failure;
      Progress progress(static_cast<std::int64_t>(names.size()), "datasets");
      auto worker = [&]() {
        for (std::size_t i; (i = next++) < names.size();) {
          try {
            DatasetResult r = run_dataset(all_dir + "/" + names[i], c, candidates, seed, false);
            std::lock_guard<std::mutex> lock(io);
            std::printf("%-40s n=%6zu d=%4zu C=%3zu  accuracy %.4f  (%.1f s)\n", r.name.c_str(), r.n, r.d, r.classes,
                        r.accuracy_mean, r.seconds);
            std::fflush(stdout);
            progress.update(1, r.name);
            results[i] = std::move(r);
          } catch (...) {
            std::lock_guard<std::mutex> lock(io);
            if (!failure) failure = std::current_exception();
            next = names.size();
          }
        }
      };
      std::vector<std::thread> pool;
      for (std::size_t t = 0; t < std::min(threads, names.size()); ++t) pool.emplace_back(worker);
      for (auto& t : pool) t.join();
      if (failure) std::rethrow_exception(failure);
      progress.finish();
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
    std::cerr << "hopfield-uci: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
