// The UCI ensemble (see hopfield/layers/models/uci_ensemble.h); moved here from examples/hopfield_uci.cpp.
#include "hopfield/layers/models/uci_ensemble.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/engine/check.h"
#include "hopfield/report/plot.h"

namespace hf {

std::string UciCandidate::label() const {
  std::ostringstream s;
  if (!trained()) return "retrieval (Hopfield over the training rows, beta on validation)";
  s << model << " bins=" << bins << " dropout=" << dropout << " lr=" << lr << " wd=" << weight_decay;
  return s.str();
}

UciMemberConfig UciCandidate::config(const UciMemberConfig& base) const {
  UciMemberConfig cg = base;
  cg.dropout = dropout;
  cg.lr = lr;
  cg.weight_decay = weight_decay;
  cg.model = model;
  cg.bins = bins;
  return cg;
}

std::vector<UciCandidate> UciGrid::candidates(const UciMemberConfig& c) const {
  const std::vector<double> ds = dropout.empty() ? std::vector<double>{c.dropout} : dropout;
  const std::vector<double> ls = lr.empty() ? std::vector<double>{c.lr} : lr;
  const std::vector<double> ws = weight_decay.empty() ? std::vector<double>{c.weight_decay} : weight_decay;
  const std::vector<std::string> ms = model.empty() ? std::vector<std::string>{c.model} : model;
  const std::vector<std::size_t> bs = bins.empty() ? std::vector<std::size_t>{c.bins} : bins;
  std::vector<UciCandidate> out;
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

std::vector<bool> uci_ensemble_members(const std::string& rule, const std::vector<UciSplitResult>& trials,
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

nlohmann::json uci_member_to_json(const UciSplitResult& r) {
  nlohmann::json h = nlohmann::json::array();
  for (const UciMemberEpoch& e : r.history) h.push_back({e.epoch, e.train_loss, e.val_loss, e.val_accuracy});
  return {{"test_accuracy", r.test_accuracy}, {"val_accuracy", r.val_accuracy}, {"val_loss", r.val_loss},
          {"history", h}, {"beta", r.beta}, {"best_epoch", r.best_epoch}, {"val_prob", r.val_prob},
          {"test_prob", r.test_prob}};
}

UciSplitResult uci_member_from_json(const nlohmann::json& j) {
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

std::string uci_member_unit(const std::string& dataset, std::size_t k, std::size_t g) {
  return dataset + ".split" + std::to_string(k + 1) + ".member" + std::to_string(g + 1);
}

UciSplitResult run_uci_member(const UciDataset& ds, std::size_t k, std::size_t g, const UciCandidate& candidate,
                              const UciMemberConfig& base, std::uint64_t seed, const RunCheckpoint* ckpt, bool write) {
  const std::string unit = uci_member_unit(ds.name, k, g);
  if (ckpt && ckpt->has(unit)) {
    try {
      return uci_member_from_json(ckpt->load(unit));
    } catch (const nlohmann::json::exception&) {
      HF_FAIL("--resume", ckpt->dir() << "/" << unit << ".json is damaged (not a member result of hopfield-uci)");
    }
  }
  // Every candidate has its own initialisation and batch order: the ensemble gains from that diversity.
  UciSplitResult r = candidate.trained() ? train_uci_member(ds, k, candidate.config(base), seed + k + 7919 * g)
                                       : run_uci_retrieval(ds, k);
  if (ckpt && write) ckpt->save(unit, uci_member_to_json(r));
  return r;
}

UciDatasetResult assemble_uci_ensembles(const UciDataset& ds, const UciMemberConfig& c,
                                        const std::vector<UciCandidate>& grid,
                                        std::vector<std::vector<UciSplitResult>> all_trials) {
  UciDatasetResult r;
  r.name = ds.name;
  r.n = ds.num_samples;
  r.d = ds.num_features;
  r.classes = ds.num_classes;
  for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
    std::vector<UciSplitResult> trials = std::move(all_trials.at(k));
    // Rank the candidates on validation; the prediction averages the class probabilities of the members
    // the --ensemble rule keeps (see uci_ensemble_members).
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
    const std::vector<bool> keep = uci_ensemble_members(c.ensemble, trials, rank, ds.split(k).validation.size());
    members.clear();
    for (std::size_t g : rank)
      if (keep[g]) members.push_back(&trials[g].test_prob);
    r.split_accuracy.push_back(ensemble_accuracy(members, test_y, ds.num_classes));
    r.chosen.push_back(rank[0]);
    r.in_ensemble.push_back(keep);
    r.top_k_accuracy.push_back(top_k);
    r.test_labels.push_back(test_y);
    r.trials.push_back(std::move(trials));
  }
  for (double a : r.split_accuracy) r.accuracy_mean += a / static_cast<double>(r.split_accuracy.size());
  return r;
}

UciDatasetResult run_uci_dataset(const std::string& dir, const UciMemberConfig& c, const std::vector<UciCandidate>& grid,
                                 std::uint64_t seed, const RunCheckpoint* ckpt, bool write) {
  const auto t0 = std::chrono::steady_clock::now();
  const UciDataset ds = load_uci(dir);
  std::vector<std::vector<UciSplitResult>> trials(UciDataset::num_splits);
  for (std::size_t k = 0; k < UciDataset::num_splits; ++k)
    for (std::size_t g = 0; g < grid.size(); ++g)
      trials[k].push_back(run_uci_member(ds, k, g, grid[g], c, seed, ckpt, write));
  UciDatasetResult r = assemble_uci_ensembles(ds, c, grid, std::move(trials));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

nlohmann::json uci_dataset_to_json(const UciDatasetResult& r) {
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& split : r.trials) {
    nlohmann::json s = nlohmann::json::array();
    for (const UciSplitResult& t : split) s.push_back(uci_member_to_json(t));
    trials.push_back(s);
  }
  return {{"name", r.name}, {"n", r.n}, {"d", r.d}, {"classes", r.classes}, {"split_accuracy", r.split_accuracy},
          {"trials", trials}, {"chosen", r.chosen}, {"in_ensemble", r.in_ensemble},
          {"top_k_accuracy", r.top_k_accuracy}, {"test_labels", r.test_labels},
          {"accuracy_mean", r.accuracy_mean}, {"seconds", r.seconds}};
}

UciDatasetResult uci_dataset_from_json(const nlohmann::json& j) {
  UciDatasetResult r;
  r.name = j.at("name");
  r.n = j.at("n");
  r.d = j.at("d");
  r.classes = j.at("classes");
  for (const auto& v : j.at("split_accuracy")) r.split_accuracy.push_back(number_from_json(v));
  for (const auto& split : j.at("trials")) {
    std::vector<UciSplitResult> s;
    for (const auto& t : split) s.push_back(uci_member_from_json(t));
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

void write_uci_trials(const std::string& dir, const std::vector<UciDatasetResult>& results,
                      const std::vector<UciCandidate>& grid) {
  std::ostringstream trials, top_k, probs, metrics;
  trials << "dataset,split,model,bins,dropout,lr,weight_decay,val_accuracy,val_loss,test_accuracy,best_epoch,chosen,in_ensemble,beta\n";
  top_k << "dataset,split,k,test_accuracy\n";
  probs << "dataset,split,candidate,row,label,probabilities\n";
  metrics << "dataset,split,candidate,model,bins,dropout,epoch,train_loss,val_loss,val_accuracy\n";
  for (const UciDatasetResult& r : results)
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

}  // namespace hf
