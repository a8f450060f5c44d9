// The UCI ensemble of hopfield-uci (layers/models/uci_ensemble.h): the validation grid, the ensemble rules,
// the ensembles assembled from members whose test probabilities are made up here (so each accuracy is known),
// the members' checkpoint round trip, and the grid tables.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hopfield/datasets/uci.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/models/uci_ensemble.h"
#include "hopfield/optim/run_checkpoint.h"
#include "datasets_support.h"

using namespace hf;

namespace {

// A member that puts probability p on the true class (right) or on the other one (!right) of every test row.
UciSplitResult member(const Labels& y, bool right, double p, double val_accuracy, double val_loss) {
  UciSplitResult r;
  r.val_accuracy = val_accuracy;
  r.val_loss = val_loss;
  for (std::int64_t label : y) {
    const bool first = (label == 0) == right;
    r.test_prob.push_back(first ? p : 1 - p);
    r.test_prob.push_back(first ? 1 - p : p);
  }
  return r;
}

std::size_t lines(const std::string& path) {
  std::ifstream f(path);
  std::size_t n = 0;
  for (std::string l; std::getline(f, l);) ++n;
  return n;
}

}  // namespace

TEST_CASE("uci_ensemble: the default grid is bins x memory x dropout and the retrieval member last") {
  UciMemberConfig c;
  const std::vector<UciCandidate> g = UciGrid().candidates(c);
  REQUIRE(g.size() == 3 * 2 * 2 + 1);
  CHECK(g.front().model == "prototypes");
  CHECK(g.front().bins == 0);
  CHECK(g.front().dropout == 0.0);
  CHECK(g.front().lr == c.lr);  // an empty axis takes the base value
  CHECK(g[1].dropout == 0.25);
  CHECK(g[2].model == "memory");
  CHECK(g[4].bins == 8);  // bins outermost
  CHECK(g.back().model == "retrieval");
  CHECK_FALSE(g.back().trained());
  CHECK(g[3].label() == "memory bins=0 dropout=0.25 lr=0.001 wd=1e-05");
  const UciMemberConfig m = g[3].config(c);
  CHECK(m.model == "memory");
  CHECK(m.dropout == 0.25);
  CHECK(m.width == c.width);
  // --no-grid: every axis empty, the base setting alone.
  c.model = "memory";
  c.bins = 16;
  const std::vector<UciCandidate> one = UciGrid{{}, {}, {}, {}, {}}.candidates(c);
  REQUIRE(one.size() == 1);
  CHECK(one[0].model == "memory");
  CHECK(one[0].bins == 16);
  CHECK(one[0].dropout == c.dropout);
}

TEST_CASE("uci_ensemble: the se rule keeps the candidates within one standard error, K the best K") {
  std::vector<UciSplitResult> t(3);
  t[0].val_accuracy = 0.8;
  t[1].val_accuracy = 0.9;
  t[2].val_accuracy = 0.5;
  const std::vector<std::size_t> rank = {1, 0, 2};
  // sqrt(0.9 * 0.1 / 100) = 0.03: 0.8 is out; sqrt(0.9 * 0.1 / 4) = 0.15: 0.8 is in, 0.5 out.
  CHECK(uci_ensemble_members("se", t, rank, 100) == std::vector<bool>{false, true, false});
  CHECK(uci_ensemble_members("se", t, rank, 4) == std::vector<bool>{true, true, false});
  CHECK(uci_ensemble_members("all", t, rank, 4) == std::vector<bool>{true, true, true});
  CHECK(uci_ensemble_members("1", t, rank, 4) == std::vector<bool>{false, true, false});
  CHECK(uci_ensemble_members("2", t, rank, 4) == std::vector<bool>{true, true, false});
  CHECK(uci_ensemble_members("9", t, rank, 4) == std::vector<bool>{true, true, true});
}

TEST_CASE("uci_ensemble: the ensembles rank on validation and average the kept members' probabilities") {
  const UciDataset ds = test::separated_uci(40);
  const std::vector<UciCandidate> grid = {{0, 1e-3, 0, "prototypes", 0}, {0, 1e-3, 0, "memory", 0}};
  // Member 0 is right with 0.6 on every test row, member 1 wrong with 0.9: their average is wrong everywhere.
  auto trials_for = [&](double val0, double val1, double loss0, double loss1) {
    std::vector<std::vector<UciSplitResult>> t(UciDataset::num_splits);
    for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
      Labels y;
      for (std::size_t i : ds.split(k).test) y.push_back(ds.labels[i]);
      t[k] = {member(y, true, 0.6, val0, loss0), member(y, false, 0.9, val1, loss1)};
    }
    return t;
  };
  UciMemberConfig c;
  c.ensemble = "se";  // member 0 perfect on validation: no spread, only it is kept
  UciDatasetResult r = assemble_uci_ensembles(ds, c, grid, trials_for(1.0, 0.0, 0.1, 0.1));
  REQUIRE(r.split_accuracy.size() == 4);
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(r.split_accuracy[k] == 1.0);
    CHECK(r.chosen[k] == 0);
    CHECK(r.in_ensemble[k] == std::vector<bool>{true, false});
    CHECK(r.top_k_accuracy[k] == std::vector<double>{1.0, 0.0});
    CHECK(r.test_labels[k].size() == 10);
  }
  CHECK(r.accuracy_mean == 1.0);
  CHECK(r.name == "separated");
  CHECK(r.n == 40);
  c.ensemble = "all";
  CHECK(assemble_uci_ensembles(ds, c, grid, trials_for(1.0, 0.0, 0.1, 0.1)).accuracy_mean == 0.0);
  // Equal validation accuracy: the lower validation loss ranks first, so "1" keeps member 1.
  c.ensemble = "1";
  r = assemble_uci_ensembles(ds, c, grid, trials_for(0.7, 0.7, 0.5, 0.2));
  CHECK(r.chosen[0] == 1);
  CHECK(r.accuracy_mean == 0.0);

  // The tables: one row per split and candidate (uci_trials.csv), per split and K (uci_top_k.csv), per test
  // row and candidate (uci_test_probabilities.csv), each with a header.
  const test::TempDir tmp("uci_ensemble");
  const std::string dir = tmp.path.string();
  write_uci_trials(dir, {r}, grid);
  CHECK(lines(dir + "/uci_trials.csv") == 1 + 4 * 2);
  CHECK(lines(dir + "/uci_top_k.csv") == 1 + 4 * 2);
  CHECK(lines(dir + "/uci_test_probabilities.csv") == 1 + 4 * 2 * 10);
  CHECK(lines(dir + "/metrics.csv") == 1);  // no member has a training history
}

TEST_CASE("uci_ensemble: results round-trip through JSON exactly and members through a checkpoint") {
  const UciDataset ds = test::separated_uci(40);
  UciSplitResult m;
  m.test_accuracy = 0.1 + 0.2;  // not a short decimal
  m.val_accuracy = 1.0 / 3.0;
  m.val_loss = std::nan("");
  m.history = {{1, 0.7, 0.6, 0.5}, {2, 0.4, std::nan(""), 0.75}};
  m.beta = 3;
  m.best_epoch = 2;
  m.val_prob = {0.25, 0.75};
  m.test_prob = {1.0 / 7.0, 6.0 / 7.0};
  const UciSplitResult back = uci_member_from_json(nlohmann::json::parse(uci_member_to_json(m).dump()));
  CHECK(back.test_accuracy == m.test_accuracy);
  CHECK(back.val_accuracy == m.val_accuracy);
  CHECK(std::isnan(back.val_loss));
  REQUIRE(back.history.size() == 2);
  CHECK(back.history[1].epoch == 2);
  CHECK(std::isnan(back.history[1].val_loss));
  CHECK(back.history[1].val_accuracy == 0.75);
  CHECK(back.test_prob == m.test_prob);
  CHECK(back.best_epoch == 2);
  UciDatasetResult r;
  r.name = "x";
  r.n = 40;
  r.split_accuracy = {0.5, 2.0 / 3.0};
  r.trials = {{m}, {m}};
  r.chosen = {0, 0};
  r.in_ensemble = {{true}, {false}};
  r.top_k_accuracy = {{0.5}, {2.0 / 3.0}};
  r.test_labels = {{0, 1}, {1, 1}};
  r.accuracy_mean = 7.0 / 12.0;
  r.seconds = 1.5;
  const UciDatasetResult rb = uci_dataset_from_json(nlohmann::json::parse(uci_dataset_to_json(r).dump()));
  CHECK(rb.split_accuracy == r.split_accuracy);
  CHECK(rb.in_ensemble == r.in_ensemble);
  CHECK(rb.test_labels == r.test_labels);
  CHECK(rb.accuracy_mean == r.accuracy_mean);
  CHECK(rb.trials[1][0].test_prob == m.test_prob);

  // A member computed once is saved, then read back instead of computed; a damaged file names itself.
  CHECK(uci_member_unit("iris", 0, 12) == "iris.split1.member13");
  const test::TempDir tmp("uci_member_ckpt");
  const RunCheckpoint ck((tmp.path / "ck").string(), nlohmann::json{{"test", 1}}, false);
  const UciCandidate retrieval{0, 0, 0, "retrieval", 0};
  const UciSplitResult first = run_uci_member(ds, 2, 0, retrieval, UciMemberConfig(), 1, &ck, true);
  CHECK(first.test_accuracy == run_uci_retrieval(ds, 2).test_accuracy);
  REQUIRE(ck.has("separated.split3.member1"));
  UciSplitResult saved = first;
  saved.test_accuracy = 0.125;  // what the file says wins over recomputing
  ck.save("separated.split3.member1", uci_member_to_json(saved));
  CHECK(run_uci_member(ds, 2, 0, retrieval, UciMemberConfig(), 1, &ck, true).test_accuracy == 0.125);
  ck.save("separated.split3.member1", nlohmann::json{{"what", "else"}});
  CHECK_THROWS_WITH_AS(run_uci_member(ds, 2, 0, retrieval, UciMemberConfig(), 1, &ck, true),
                       doctest::Contains("separated.split3.member1.json is damaged"), Error);
}
