// The real datasets of ../shared/data (HOPFIELD_DATA_DIR): every count of PROVENANCE.md, checked through the
// loaders. Set and missing -> fail; unset and absent -> a loud skip.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/table.h"
#include "hopfield/datasets/uci.h"
#include "tests/support.h"

using namespace hf;

namespace {
std::optional<std::string> data_dir() { return hf::test::shared_dir("HOPFIELD_DATA_DIR", "data", "shared datasets"); }
}  // namespace

TEST_CASE("real MIL CSVs: bags, positives, instances, features and bag sizes as in PROVENANCE.md") {
  auto dir = data_dir();
  if (!dir) return;
  struct Want {
    const char* name;
    std::size_t instances, bags, positive, d, min_size, max_size;
  };
  const Want wants[] = {
      {"musk1", 476, 92, 47, 166, 2, 40},  {"musk2", 6598, 102, 39, 166, 1, 1044},
      {"elephant", 1391, 200, 100, 230, 2, 13}, {"fox", 1320, 200, 100, 230, 2, 13},
      {"tiger", 1220, 200, 100, 230, 1, 13},
  };
  for (const auto& w : wants) {
    CAPTURE(w.name);
    MilDataset ds = load_mil_csv(*dir + "/mil/csv/" + w.name + ".csv");
    CHECK(ds.num_instances() == w.instances);
    CHECK(ds.num_bags() == w.bags);
    CHECK(ds.num_positive() == w.positive);
    CHECK(ds.num_features == w.d);
    CHECK(ds.min_bag_size() == w.min_size);
    CHECK(ds.max_bag_size() == w.max_size);
    // Bag ids 1..B in increasing order.
    for (std::size_t b = 0; b < ds.num_bags(); ++b) CHECK(ds.bag_ids[b] == static_cast<std::int64_t>(b + 1));
  }
}

TEST_CASE("real UCI folders: all load and match uci121/index.csv - a handful checked by hand") {
  auto dir = data_dir();
  if (!dir) return;
  const std::string root = *dir + "/uci121";
  auto names = list_uci(root);
  CHECK(names.size() == 76);
  // index.csv: name,n_samples,n_features,n_classes,small,class_counts,test_per_split,val_per_split
  TableOptions o = TableOptions().separator(',');
  Table index = load_table(root + "/index.csv", o);
  std::map<std::string, std::size_t> row_of;
  const auto& name_col = index.columns[index.column_index("name")];
  for (std::size_t i = 0; i < index.num_rows; ++i) row_of[name_col.levels[static_cast<std::size_t>(name_col.codes[i])]] = i;
  CHECK(row_of.size() == 76);
  auto num = [&](const char* col, std::size_t row) {
    return static_cast<std::size_t>(index.columns[index.column_index(col)].values[row]);
  };
  auto text = [&](const char* col, std::size_t row) {
    const auto& c = index.columns[index.column_index(col)];
    return c.numeric ? std::to_string(static_cast<long long>(c.values[row])) : c.levels[static_cast<std::size_t>(c.codes[row])];
  };
  auto joined = [](const std::vector<std::size_t>& v) {
    std::string s;
    for (auto x : v) {
      if (!s.empty()) s += ';';
      s += std::to_string(x);
    }
    return s;
  };
  for (const auto& n : names) {
    CAPTURE(n);
    UciDataset ds = load_uci(root + "/" + n);
    REQUIRE(row_of.count(n) == 1);
    const std::size_t r = row_of[n];
    CHECK(ds.num_samples == num("n_samples", r));
    CHECK(ds.num_features == num("n_features", r));
    CHECK(ds.num_classes == num("n_classes", r));
    CHECK(joined(ds.class_counts()) == text("class_counts", r));
    std::vector<std::size_t> test, val;
    for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
      auto s = ds.split(k);
      test.push_back(s.test.size());
      val.push_back(s.validation.size());
      CHECK(s.train.size() + s.test.size() + s.validation.size() == ds.num_samples);
    }
    CHECK(joined(test) == text("test_per_split", r));
    CHECK(joined(val) == text("val_per_split", r));
  }
  // Independent of index.csv: sizes from the UCI descriptions.
  struct Want {
    const char* name;
    std::size_t n, d, c;
  };
  for (const Want& w : {Want{"iris", 150, 4, 3}, Want{"abalone", 4177, 8, 3}, Want{"letter", 20000, 16, 26},
                        Want{"musk-1", 476, 166, 2}, Want{"wine-quality-red", 1599, 11, 6}}) {
    CAPTURE(w.name);
    UciDataset ds = load_uci(root + "/" + w.name);
    CHECK(ds.num_samples == w.n);
    CHECK(ds.num_features == w.d);
    CHECK(ds.num_classes == w.c);
  }
  // A fixed-split dataset: the same test rows in all four splits, only validation differs.
  UciDataset opt = load_uci(root + "/optical");
  CHECK(opt.split(0).test == opt.split(3).test);
  CHECK(opt.split(0).validation != opt.split(3).validation);
}

TEST_CASE("real repertoires: DeepRC example and repertoire-implanted counts") {
  auto dir = data_dir();
  if (!dir) return;
  {
    RepertoireDataset ds(*dir + "/deeprc/example_dataset", RepertoireOptions().target_column("binary_target_1"));
    CHECK(ds.size() == 100);
    CHECK(ds.classes() == std::vector<std::string>{"+", "-"});
    CHECK(std::count(ds.labels().begin(), ds.labels().end(), 0) == 58);  // '+'
    RepertoireDataset t2(*dir + "/deeprc/example_dataset", RepertoireOptions().target_column("binary_target_2"));
    CHECK(std::count(t2.labels().begin(), t2.labels().end(), 1) == 51);  // True
    std::size_t total = 0, dropped = 0, lo = 1000, hi = 0, min_len = 100, max_len = 0;
    for (std::size_t i = 0; i < ds.size(); ++i) {
      Repertoire r = ds.read(i);
      total += r.sequences.size(), dropped += r.dropped;
      lo = std::min(lo, r.sequences.size()), hi = std::max(hi, r.sequences.size());
      for (const auto& s : r.sequences) min_len = std::min(min_len, s.size()), max_len = std::max(max_len, s.size());
      for (double c : r.counts) CHECK((c >= 1 && c <= 9));
    }
    // PROVENANCE.md says "9-48 rows"; the files hold 10-49 data rows (it counted newlines, and the files
    // have no final newline).
    CHECK(total == 2806);
    CHECK(dropped == 0);
    CHECK(lo == 10);
    CHECK(hi == 49);
    CHECK(min_len == 10);
    CHECK(max_len == 19);
  }
  {
    RepertoireDataset ds(*dir + "/repertoire-implanted", RepertoireOptions().target_column("label"));
    CHECK(ds.size() == 120);
    CHECK(std::count(ds.labels().begin(), ds.labels().end(), 1) == 60);
    // n_sequences of the metadata against the files.
    Table md = load_table(*dir + "/repertoire-implanted/metadata.tsv");
    const auto& nseq = md.columns[md.column_index("n_sequences")].values;
    std::size_t total = 0;
    for (std::size_t i = 0; i < ds.size(); ++i) {
      Repertoire r = ds.read(i);
      CHECK(r.dropped == 0);
      CHECK(r.sequences.size() == static_cast<std::size_t>(nseq[i]));
      CHECK((r.sequences.size() >= 1600 && r.sequences.size() <= 2400));
      total += r.sequences.size();
    }
    CHECK(total == 233910);
  }
}
