// MIL CSV loader (good and malformed files), stratified k-fold, training-only standardisation, padded bag
// batches, and the synthetic MIL generators.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/summary.h"
#include "hopfield/datasets/synthetic.h"
#include "tests/datasets_support.h"

using namespace hf;
using hf::test::has;

namespace {
const char* kGoodMil =
    "bag_id,label,f1,f2\n"
    "1,1,0.5,2e-4\n"
    "1,1,-593e-6,3\n"
    "2,0,1,1\n"
    "3,0,2,-1\n"
    "3,0,4,5\n"
    "3,0,6,7";  // no final newline
}  // namespace

TEST_CASE("MIL CSV: bags, labels, offsets and exponent-form values") {
  MilDataset ds = parse_mil_csv(kGoodMil, "good.csv");
  CHECK(ds.num_bags() == 3);
  CHECK(ds.num_instances() == 6);
  CHECK(ds.num_features == 2);
  CHECK(ds.num_positive() == 1);
  CHECK(ds.bag_size(0) == 2);
  CHECK(ds.bag_size(1) == 1);
  CHECK(ds.bag_size(2) == 3);
  CHECK(ds.instance(1)[0] == doctest::Approx(-593e-6));
  CHECK(ds.instance(0)[1] == doctest::Approx(2e-4));
  CHECK(ds.instance(5)[1] == 7.0);
  CHECK(ds.bag_labels == std::vector<std::int64_t>{1, 0, 0});
}

TEST_CASE("MIL CSV: every malformed file names the file, the line (and column) and what was expected") {
  hf::test::TempDir dir("mil_bad");
  struct Case {
    const char* what;
    const char* text;
    const char* line;     // expected "line N" part, "" = file-level
    const char* extra;    // another expected fragment
  };
  const Case cases[] = {
      {"empty file", "", "", "empty file"},
      {"header only", "bag_id,label,f1\n", "", "no data rows"},
      {"missing label column", "bag_id,f1,f2\n1,0,1\n", "line 1", "label"},
      {"missing bag_id column", "id,label,f1\n1,0,1\n", "line 1", "bag_id"},
      {"no feature column", "bag_id,label\n1,0\n", "line 1", "feature"},
      {"ragged row", "bag_id,label,f1,f2\n1,0,1,2\n1,0,3\n", "line 3", "expected 4 fields"},
      {"non-number", "bag_id,label,f1,f2\n1,0,1,2\n1,0,abc,2\n", "line 3, column 3 (f1)", "expected a number"},
      {"NaN value", "bag_id,label,f1,f2\n1,0,1,nan\n", "line 2, column 4 (f2)", "finite"},
      {"Inf value", "bag_id,label,f1,f2\n1,0,1,2\n2,1,-inf,2\n", "line 3, column 3 (f1)", "finite"},
      {"unknown label", "bag_id,label,f1\n1,0,1\n2,2,1\n", "line 3, column 2 (label)", "unknown label"},
      {"non-integer bag id", "bag_id,label,f1\nb1,0,1\n", "line 2, column 1 (bag_id)", "integer"},
      {"label changes in a bag", "bag_id,label,f1\n1,0,1\n1,1,2\n", "line 3", "differs"},
      {"non-contiguous bag rows", "bag_id,label,f1\n1,0,1\n2,0,1\n1,0,1\n", "line 4", "not contiguous"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    std::string path = dir.write(std::string("bad.csv"), c.text);
    std::string msg = hf::test::data_error_of([&] { load_mil_csv(path); });
    CAPTURE(msg);
    REQUIRE(!msg.empty());
    CHECK(has(msg, path));
    if (*c.line) CHECK(has(msg, c.line));
    CHECK(has(msg, c.extra));
  }
  CHECK(has(hf::test::data_error_of([&] { load_mil_csv((dir.path / "absent.csv").string()); }), "cannot open"));
}

TEST_CASE("stratified k-fold: a partition, stratified, repeatable from the seed") {
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 50; ++i) labels.push_back(i % 5 < 3 ? 0 : 1);  // 30 zeros, 20 ones, interleaved
  auto folds = stratified_kfold(labels, 5, 17);
  REQUIRE(folds.size() == 5);
  std::vector<int> seen(50, 0);
  for (const auto& f : folds) {
    CHECK(f.test.size() == 10);
    CHECK(f.train.size() == 40);
    std::size_t zeros = 0;
    for (auto i : f.test) ++seen[i], zeros += labels[i] == 0;
    CHECK(zeros == 6);  // 30 zeros / 5 folds
    std::set<std::size_t> tr(f.train.begin(), f.train.end());
    for (auto i : f.test) CHECK(tr.count(i) == 0);
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
  auto again = stratified_kfold(labels, 5, 17);
  auto other = stratified_kfold(labels, 5, 18);
  bool same = true, differs = false;
  for (std::size_t f = 0; f < 5; ++f) same &= again[f].test == folds[f].test, differs |= other[f].test != folds[f].test;
  CHECK(same);
  CHECK(differs);
  // Odd class sizes: per-fold class counts differ by at most one.
  std::vector<std::int64_t> odd(23, 0);
  for (int i = 0; i < 7; ++i) odd[static_cast<std::size_t>(i * 3)] = 1;
  for (const auto& f : stratified_kfold(odd, 4, 1)) {
    std::size_t ones = 0;
    for (auto i : f.test) ones += odd[i] == 1;
    CHECK((ones == 1 || ones == 2));
  }
  CHECK_THROWS_AS(stratified_kfold(labels, 1, 0), Error);
  CHECK_THROWS_AS(stratified_kfold({0, 1}, 3, 0), Error);
}

TEST_CASE("seeded epoch shuffles: a permutation, same (seed, epoch) same order, epochs differ") {
  auto idx = iota_indices(100);
  auto a = shuffled(idx, 5, 0), b = shuffled(idx, 5, 0), c = shuffled(idx, 5, 1);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != idx);
  std::sort(c.begin(), c.end());
  CHECK(c == idx);
  auto batches = make_batches(a, 32);
  REQUIRE(batches.size() == 4);
  CHECK(batches[3].size() == 4);
  CHECK(make_batches(a, 32, true).size() == 3);
}

TEST_CASE("standardisation is fitted on the training bags only") {
  MilDataset ds = parse_mil_csv(kGoodMil, "good.csv");
  // Training bags 0 and 1: instances (0.5, 2e-4), (-593e-6, 3), (1, 1).
  Standardizer s = fit_standardizer(ds, {0, 1});
  const double m0 = (0.5 - 593e-6 + 1.0) / 3.0, m1 = (2e-4 + 3.0 + 1.0) / 3.0;
  CHECK(s.mean[0] == doctest::Approx(m0));
  CHECK(s.mean[1] == doctest::Approx(m1));
  const double v0 = ((0.5 - m0) * (0.5 - m0) + (-593e-6 - m0) * (-593e-6 - m0) + (1 - m0) * (1 - m0)) / 3.0;
  CHECK(s.scale[0] == doctest::Approx(std::sqrt(v0)));
  // Changing the held-out bag changes nothing.
  MilDataset moved = ds;
  for (std::size_t r = moved.bag_offsets[2]; r < moved.bag_offsets[3]; ++r) moved.features[r * 2] += 1000.0;
  Standardizer s2 = fit_standardizer(moved, {0, 1});
  CHECK(s2.mean == s.mean);
  CHECK(s2.scale == s.scale);
  // ...while fitting on all bags would have moved it.
  CHECK(fit_standardizer(moved, {0, 1, 2}).mean[0] > 100.0);
  // Training instances come out with mean 0, sd 1.
  BagBatch b = make_bag_batch(ds, {0, 1}, &s, Dtype::Float64);
  double sum = 0, sq = 0;
  for (double v : {b.x.at({0, 0, 0}), b.x.at({0, 1, 0}), b.x.at({1, 0, 0})}) sum += v, sq += v * v;
  CHECK(sum / 3 == doctest::Approx(0.0).epsilon(1e-12));
  CHECK(sq / 3 == doctest::Approx(1.0));
}

TEST_CASE("bag batches: padded (B, N, d) tensor and a Bool padding mask (true = padding)") {
  MilDataset ds = parse_mil_csv(kGoodMil, "good.csv");
  BagBatch b = make_bag_batch(ds, {2, 1, 0});  // sizes 3, 1, 2
  CHECK(b.x.shape() == Shape{3, 3, 2});
  CHECK(b.x.dtype() == Dtype::Float32);
  CHECK(b.mask.shape() == Shape{3, 3});
  CHECK(b.mask.dtype() == Dtype::Bool);
  CHECK(b.sizes == std::vector<std::size_t>{3, 1, 2});
  const bool want_mask[3][3] = {{false, false, false}, {false, true, true}, {false, false, true}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t k = 0; k < 3; ++k) {
      CAPTURE(i);
      CAPTURE(k);
      CHECK((b.mask.at({i, k}) != 0) == want_mask[i][k]);
      if (want_mask[i][k]) {
        CHECK(b.x.at({i, k, 0}) == 0.0);
        CHECK(b.x.at({i, k, 1}) == 0.0);
      }
    }
  CHECK(b.x.at({0, 2, 1}) == 7.0);                              // bag 3, third instance
  CHECK(b.x.at({1, 0, 0}) == 1.0);                              // bag 2
  CHECK(b.x.at({2, 1, 0}) == doctest::Approx(-593e-6).epsilon(1e-6));  // bag 1, second instance
  CHECK(b.labels.to_vector() == std::vector<double>{0, 0, 1});
  CHECK_THROWS_AS(make_bag_batch(ds, {3}), Error);
}

TEST_CASE("bit-pattern bags (hflayers BitPatternSet): signals only in positive bags") {
  auto set = bit_pattern_bags(BitPatternOptions(40, 10, 3).num_signals_per_bag(2).num_bits(8));
  const auto& ds = set.bags;
  CHECK(ds.num_bags() == 40);
  CHECK(ds.num_positive() == 20);
  CHECK(set.signals.size() == 3);
  for (std::size_t b = 0; b < ds.num_bags(); ++b) {
    std::size_t hits = 0;
    for (std::size_t r = ds.bag_offsets[b]; r < ds.bag_offsets[b + 1]; ++r) {
      std::vector<int> bits(ds.instance(r), ds.instance(r) + 8);
      CHECK(std::any_of(bits.begin(), bits.end(), [](int v) { return v != 0; }));
      hits += std::count(set.signals.begin(), set.signals.end(), bits) > 0;
    }
    CHECK(hits == (ds.bag_labels[b] == 1 ? 2u : 0u));
  }
  auto again = bit_pattern_bags(BitPatternOptions(40, 10, 3).num_signals_per_bag(2));
  CHECK(again.bags.features == ds.features);
}

// The reference values below were printed by hflayers.auxiliary.data.BitPatternSet (../shared/reference/hflayers,
// torch 1.13) for the same arguments: its signals, its number of positive bags, the first 24 bits of its data and
// sum_i bit_i * (i % 997 + 1) over all bits in row-major (bag, instance, bit) order.
TEST_CASE("bit-pattern bags are hflayers' BitPatternSet bit for bit (torch's CPU random stream)") {
  struct Case {
    BitPatternOptions options;
    std::vector<std::string> signals;
    long long checksum;
    std::size_t positives;
    std::vector<int> head;
  };
  const std::vector<Case> cases = {
      {BitPatternOptions(2048, 16, 8),
       {"00111001", "01000000", "01011000", "10001000", "10111100", "11011111", "11100010", "11101010"},
       65648130,
       1024,
       {0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0}},
      {BitPatternOptions(40, 10, 3).num_signals_per_bag(2),
       {"00111001", "11011111", "11100010"},
       773832,
       20,
       {0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0}},
      // 6 of the 7 non-zero 3-bit patterns are signals: many signal redraws, one background pattern left.
      {BitPatternOptions(30, 5, 6).num_bits(3).fraction_targets(0.3),
       {"001", "010", "011", "100", "110", "111"},
       67338,
       9,
       {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1}},
  };
  for (const Case& c : cases) {
    const BitPatternSet set = bit_pattern_bags(c.options);
    std::vector<std::string> signals;
    for (const auto& sig : set.signals) {
      std::string bits;
      for (int b : sig) bits += static_cast<char>('0' + b);
      signals.push_back(bits);
    }
    CHECK(signals == c.signals);
    CHECK(set.bags.num_positive() == c.positives);
    long long checksum = 0;
    std::vector<int> head;
    std::size_t i = 0;
    for (std::size_t r = 0; r < set.bags.num_instances(); ++r)
      for (std::size_t j = 0; j < set.bags.num_features; ++j, ++i) {
        const int bit = static_cast<int>(set.bags.instance(r)[j]);
        checksum += static_cast<long long>(bit) * static_cast<long long>(i % 997 + 1);
        if (head.size() < 24) head.push_back(bit);
      }
    CHECK(checksum == c.checksum);
    CHECK(head == c.head);
  }
}

TEST_CASE("latch sequences: label = first symbol, noise from the other symbols") {
  MilDataset ds = latch_sequences(LatchOptions(64).num_instances(7).num_characters(5));
  CHECK(ds.num_bags() == 64);
  CHECK(ds.num_features == 5);
  for (std::size_t b = 0; b < 64; ++b) {
    CHECK(ds.bag_size(b) == 7);
    const double* first = ds.instance(ds.bag_offsets[b]);
    CHECK(first[ds.bag_labels[b]] == 1.0);
    for (std::size_t t = 1; t < 7; ++t) {
      const double* row = ds.instance(ds.bag_offsets[b] + t);
      CHECK(row[0] + row[1] == 0.0);
      CHECK(row[2] + row[3] + row[4] == 1.0);
    }
  }
  CHECK(ds.num_positive() > 16);
  CHECK(ds.num_positive() < 48);
}

TEST_CASE("planted MIL bags: witnesses lie along the hidden direction in positive bags only") {
  auto ds = planted_mil_bags(PlantedMilOptions(60, 8).signal(8.0).num_witnesses(2).seed(3));
  CHECK(ds.num_bags() == 60);
  CHECK(ds.num_positive() == 30);
  // The instance with the largest norm: far out (~8) in positive bags, ~sqrt(8) + noise in negative ones.
  double min_pos = 1e9, max_neg = 0;
  for (std::size_t b = 0; b < ds.num_bags(); ++b) {
    double best = 0;
    for (std::size_t r = ds.bag_offsets[b]; r < ds.bag_offsets[b + 1]; ++r) {
      double n2 = 0;
      for (std::size_t j = 0; j < 8; ++j) n2 += ds.instance(r)[j] * ds.instance(r)[j];
      best = std::max(best, n2);
    }
    if (ds.bag_labels[b]) min_pos = std::min(min_pos, best);
    else max_neg = std::max(max_neg, best);
  }
  CHECK(min_pos > 20.0);
  CHECK(max_neg < 40.0);
}

TEST_CASE("datasets: summaries count bags, classes and fold sizes, and print one line per entry") {
  const MilDataset ds = planted_mil_bags(PlantedMilOptions(30, 6));
  const nlohmann::ordered_json j = mil_summary(ds, 3, 0);
  CHECK(j.at("bags").get<std::size_t>() == 30);
  CHECK(j.at("positive").get<std::size_t>() + j.at("negative").get<std::size_t>() == 30);
  std::size_t per_class = 0;
  for (const auto& [label, n] : j.at("classes").items()) per_class += n.get<std::size_t>();
  CHECK(per_class == 30);
  CHECK(j.at("instances").get<std::size_t>() == ds.num_instances());
  REQUIRE(j.at("splits").at("folds").size() == 3);
  std::size_t tested = 0;
  for (const auto& f : j.at("splits").at("folds")) {
    CHECK(f.at("train").get<std::size_t>() + f.at("test").get<std::size_t>() == 30);
    tested += f.at("test").get<std::size_t>();
  }
  CHECK(tested == 30);  // every bag is tested once
  CHECK_FALSE(mil_summary(ds, 31, 0).contains("splits"));  // more folds than bags: none reported
  std::ostringstream text;
  write_summary_text(text, j);
  CHECK(text.str().rfind("kind: mil\n", 0) == 0);
  CHECK(text.str().find("\nbags: 30\n") != std::string::npos);
  CHECK(text.str().find("\nsplits:\n  stratified_kfold: 3\n") != std::string::npos);  // splits: one entry per line
  const nlohmann::ordered_json synthetic = synthetic_summaries();
  REQUIRE(synthetic.size() == 4);
  CHECK(synthetic.at(3).at("kind") == "repertoires");
  CHECK_THROWS_WITH_AS(uci_folder_summary("/nonexistent_hf_folder"), doctest::Contains("/nonexistent_hf_folder"),
                       std::exception);
}
