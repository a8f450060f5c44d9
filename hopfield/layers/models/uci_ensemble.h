// The UCI ensemble of hopfield-uci: a validation grid of members (uci_members.h) per split of a UciDataset,
// ranked on the split's validation rows, and the average of the class probabilities of the members an
// ensemble rule keeps. Here so that a user runs the same ensemble on their own UCI-layout folder without
// the program, and so that its rule and bookkeeping are tested:
//
//   UciMemberConfig c;                                   // c.ensemble = "se" (the default rule)
//   const std::vector<UciCandidate> grid = UciGrid().candidates(c);   // 12 trained members + retrieval
//   UciDatasetResult r = run_uci_dataset("uci121/iris", c, grid, 1);  // r.accuracy_mean, r.split_accuracy
//
// Grid: bins {0, 8, 16} x memory {prototypes, memory} x dropout {0, 0.25}, each with its own seed, and the
// untrained retrieval member. The rule (`--ensemble se`, uci_ensemble_members) averages the candidates whose
// validation accuracy is within one standard error of the best: on small datasets that is nearly all of them
// (the one best on validation is worse than the average: with 4-60 validation rows the choice is mostly
// noise), on large ones only those really as good as the best. Grid and rule are the same for every dataset.
//
// Members are the units of a resumable run (optim/run_checkpoint.h): uci_member_unit names them,
// uci_member_to_json / uci_member_from_json store them exactly (doubles round-trip), and a dataset's result
// travels between MPI ranks as uci_dataset_to_json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hopfield/datasets/uci.h"
#include "hopfield/layers/models/uci_members.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/run_checkpoint.h"

namespace hf {

// One point of the validation grid. The retrieval member (model "retrieval") has nothing to train.
struct UciCandidate {
  double dropout, lr, weight_decay;
  std::string model;
  std::size_t bins;
  bool trained() const { return model != "retrieval"; }
  // "prototypes bins=8 dropout=0 lr=0.001 wd=1e-05", or the retrieval member's description.
  std::string label() const;
  // base with this candidate's dropout, lr, weight decay, model and bins.
  UciMemberConfig config(const UciMemberConfig& base) const;
};

// The grid's axes; an empty axis takes the base config's single value (`--no-grid`: every axis empty).
struct UciGrid {
  std::vector<double> dropout{0.0, 0.25}, lr{}, weight_decay{};
  std::vector<std::string> model{"prototypes", "memory", "retrieval"};
  std::vector<std::size_t> bins{0, 8, 16};
  // Every combination of the trained models' axes (bins outermost), then the retrieval member once, last (its
  // own b grid is inside run_uci_retrieval).
  std::vector<UciCandidate> candidates(const UciMemberConfig& base) const;
};

// Which candidates the prediction averages (rank: candidate indices by validation accuracy, best first):
//   "se"   every candidate whose validation accuracy is within one standard error of the best one,
//          sqrt(p (1 - p) / n_val) with p the best accuracy (within_one_standard_error). With a few dozen
//          validation rows that keeps nearly all (their differences are noise, and the average beats any
//          single pick); with thousands only those really as good as the best (chess-krvk, letter: the
//          retrieval member alone). A perfect best has no spread and keeps only the perfect ones.
//   "all"  every candidate;  K  (a number) the best K.
std::vector<bool> uci_ensemble_members(const std::string& rule, const std::vector<UciSplitResult>& trials,
                                       const std::vector<std::size_t>& rank, std::size_t n_val);

// A dataset's ensembles, split by split.
struct UciDatasetResult {
  std::string name;
  std::size_t n = 0, d = 0, classes = 0;
  std::vector<double> split_accuracy;               // test accuracy of the ensemble per split
  std::vector<std::vector<UciSplitResult>> trials;  // [split][candidate]
  std::vector<std::size_t> chosen;                  // candidate index per split (the best on validation)
  std::vector<std::vector<bool>> in_ensemble;       // [split][candidate]: averaged into the prediction
  std::vector<std::vector<double>> top_k_accuracy;  // [split][K-1]: test accuracy of the top-K ensemble
  std::vector<Labels> test_labels;                  // [split]
  double accuracy_mean = 0, seconds = 0;
};

// A member's and a dataset's result as JSON and back (doubles round-trip exactly; NaN as null).
nlohmann::json uci_member_to_json(const UciSplitResult& r);
UciSplitResult uci_member_from_json(const nlohmann::json& j);
nlohmann::json uci_dataset_to_json(const UciDatasetResult& r);
UciDatasetResult uci_dataset_from_json(const nlohmann::json& j);

// The checkpoint unit of split k's candidate g: "<dataset>.split<k+1>.member<g+1>".
std::string uci_member_unit(const std::string& dataset, std::size_t k, std::size_t g);

// Member (split k, candidate g) trained with base.config (seed + k + 7919 g: every candidate has its own
// initialisation and batch order, the ensemble gains from that diversity), or the retrieval member; read
// from ckpt when it holds it (a damaged file throws naming it). write: a member computed here is saved (under
// mpirun only rank 0 writes; the other ranks pass false and send it their results).
UciSplitResult run_uci_member(const UciDataset& ds, std::size_t k, std::size_t g, const UciCandidate& candidate,
                              const UciMemberConfig& base, std::uint64_t seed, const RunCheckpoint* ckpt = nullptr,
                              bool write = true);

// The ensembles of a dataset from its members' results, trials[split][candidate]: per split the candidates are
// ranked on validation (accuracy, ties by lower loss), base.ensemble picks the members, and their averaged
// class probabilities are scored on the test rows; also the top-K ensembles' test accuracy for every K.
UciDatasetResult assemble_uci_ensembles(const UciDataset& ds, const UciMemberConfig& base,
                                        const std::vector<UciCandidate>& grid,
                                        std::vector<std::vector<UciSplitResult>> trials);

// A whole dataset folder on this thread: every member of every split in order, then the ensembles (seconds:
// wall time of it all).
UciDatasetResult run_uci_dataset(const std::string& dir, const UciMemberConfig& base,
                                 const std::vector<UciCandidate>& grid, std::uint64_t seed,
                                 const RunCheckpoint* ckpt = nullptr, bool write = true);

// The tables for inspecting the grid, in dir: uci_trials.csv (one row per dataset, split and candidate: what
// the validation choice saw), metrics.csv (one row per epoch of every trained member; its candidate column
// indexes the rows of uci_trials.csv within a split), uci_top_k.csv (the test accuracy of the top-K ensemble
// for every K) and uci_test_probabilities.csv (every candidate's class probabilities on every test row, so
// that other ensembles can be scored offline).
void write_uci_trials(const std::string& dir, const std::vector<UciDatasetResult>& results,
                      const std::vector<UciCandidate>& grid);

}  // namespace hf
