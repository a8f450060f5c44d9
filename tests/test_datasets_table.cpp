// UCI (Fernández-Delgado layout) and general CSV/TSV table loaders: good files, malformed files, splits,
// imputation / one-hot / standardisation from training rows only.
#include <doctest/doctest.h>

#include <cmath>

#include "hopfield/datasets/table.h"
#include "hopfield/datasets/uci.h"
#include "tests/datasets_support.h"

using namespace hf;
using hf::test::has;

namespace {
// A 6-row UCI dataset "toy": 2 features, 3 classes.
struct ToyUci {
  std::string features = "1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n";
  std::string labels = "0\n1\n2\n0\n1\n2\n";
  std::string folds = "1,0,0,0\n0,1,0,0\n0,0,1,0\n0,0,0,1\n0,0,0,0\n0,0,0,0\n";
  std::string validation = "0,1,0,0\n0,0,0,0\n0,0,0,0\n0,0,0,0\n1,0,0,0\n0,0,0,1";
  std::string write(const hf::test::TempDir& dir) const {
    dir.write("toy/toy_py.dat", features);
    dir.write("toy/labels_py.dat", labels);
    dir.write("toy/folds_py.dat", folds);
    dir.write("toy/validation_folds_py.dat", validation);
    return (dir.path / "toy").string();
  }
};
}  // namespace

TEST_CASE("UCI layout: sizes, classes, and train = neither test nor validation") {
  hf::test::TempDir dir("uci_good");
  UciDataset ds = load_uci(ToyUci().write(dir));
  CHECK(ds.name == "toy");
  CHECK(ds.num_samples == 6);
  CHECK(ds.num_features == 2);
  CHECK(ds.num_classes == 3);
  CHECK(ds.class_counts() == std::vector<std::size_t>{2, 2, 2});
  UciSplit s0 = ds.split(0);
  CHECK(s0.test == std::vector<std::size_t>{0});
  CHECK(s0.validation == std::vector<std::size_t>{4});
  CHECK(s0.train == std::vector<std::size_t>{1, 2, 3, 5});
  UciSplit s3 = ds.split(3);
  CHECK(s3.test == std::vector<std::size_t>{3});
  CHECK(s3.validation == std::vector<std::size_t>{5});
  // Standardisation from the training rows of split 0 only: feature 0 over rows 1, 2, 3, 5 = 3, 5, 7, 11.
  Standardizer st = ds.fit_standardizer(0);
  CHECK(st.mean[0] == doctest::Approx(6.5));
  CHECK(st.scale[0] == doctest::Approx(std::sqrt((3.5 * 3.5 + 1.5 * 1.5 + 0.5 * 0.5 + 4.5 * 4.5) / 4)));
  CHECK_THROWS_AS(ds.split(4), Error);
}

TEST_CASE("UCI layout: malformed files name the file, the line and what was expected") {
  struct Case {
    const char* what;
    std::string ToyUci::*field;
    const char* text;
    const char* file;
    const char* line;
    const char* extra;
  };
  const Case cases[] = {
      {"empty features", &ToyUci::features, "", "toy_py.dat", "", "empty file"},
      {"ragged features", &ToyUci::features, "1,2\n3,4\n5\n7,8\n9,10\n11,12\n", "toy_py.dat", "line 3", "expected 2"},
      {"non-number", &ToyUci::features, "1,2\n3,4\n5,x6\n7,8\n9,10\n11,12\n", "toy_py.dat", "line 3, column 2", "number"},
      {"NaN", &ToyUci::features, "1,2\n3,4\n5,6\nnan,8\n9,10\n11,12\n", "toy_py.dat", "line 4, column 1", "finite"},
      {"Inf", &ToyUci::features, "1,2\n3,4\n5,6\n7,8\n9,inf\n11,12\n", "toy_py.dat", "line 5, column 2", "finite"},
      {"blank line inside", &ToyUci::features, "1,2\n\n5,6\n7,8\n9,10\n11,12\n", "toy_py.dat", "line 2", "blank"},
      {"too few labels", &ToyUci::labels, "0\n1\n2\n0\n1\n", "labels_py.dat", "line 6", "expected 6 rows"},
      {"unknown label", &ToyUci::labels, "0\n1\n2\n0\n-1\n2\n", "labels_py.dat", "line 5", "unknown label"},
      {"fractional label", &ToyUci::labels, "0\n1\n2\n0\n1.5\n2\n", "labels_py.dat", "line 5", "unknown label"},
      {"class never occurs", &ToyUci::labels, "0\n3\n2\n0\n3\n2\n", "labels_py.dat", "", "class 1 never occurs"},
      {"fold not 0/1", &ToyUci::folds, "1,0,0,0\n0,2,0,0\n0,0,1,0\n0,0,0,1\n0,0,0,0\n0,0,0,0\n", "folds_py.dat",
       "line 2, column 2", "0 or 1"},
      {"fold with 3 columns", &ToyUci::folds, "1,0,0\n0,1,0\n0,0,1\n0,0,0\n0,0,0\n0,0,0\n", "folds_py.dat", "line 1",
       "expected 4"},
      {"too many fold rows", &ToyUci::validation, "0,1,0,0\n0,0,0,0\n0,0,0,0\n0,0,0,0\n1,0,0,0\n0,0,0,1\n0,0,0,0\n",
       "validation_folds_py.dat", "line 7", "expected 6 rows"},
      {"test and validation overlap", &ToyUci::validation, "1,1,0,0\n0,0,0,0\n0,0,0,0\n0,0,0,0\n1,0,0,0\n0,0,0,1\n",
       "validation_folds_py.dat", "line 1, column 1", "also test"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    hf::test::TempDir dir("uci_bad");
    ToyUci toy;
    toy.*(c.field) = c.text;
    std::string path = toy.write(dir);
    std::string msg = hf::test::data_error_of([&] { load_uci(path); });
    CAPTURE(msg);
    REQUIRE(!msg.empty());
    CHECK(has(msg, (dir.path / "toy" / c.file).string()));
    if (*c.line) CHECK(has(msg, c.line));
    CHECK(has(msg, c.extra));
  }
  hf::test::TempDir dir("uci_missing");
  ToyUci toy;
  std::string path = toy.write(dir);
  std::filesystem::remove(dir.path / "toy" / "labels_py.dat");
  CHECK(has(hf::test::data_error_of([&] { load_uci(path); }), "labels_py.dat: cannot open"));
}

TEST_CASE("table: numeric and categorical columns, missing values, target by name") {
  const char* text =
      "age;colour;height;class\n"
      "30;red;1.5;yes\n"
      "NA;blue;1.7;no\n"
      "50;;?;yes\n"
      "20;red;1.9;no\n"
      "60;green;2.0;yes\n";  // row 4 (green) is held out below
  Table t = parse_table(text, "people.csv");
  REQUIRE(t.columns.size() == 4);
  CHECK(t.columns[0].numeric);
  CHECK_FALSE(t.columns[1].numeric);
  CHECK(t.columns[1].levels == std::vector<std::string>{"blue", "green", "red"});
  CHECK(t.columns[0].missing == 1);
  CHECK(t.columns[1].missing == 1);
  CHECK(t.columns[2].missing == 1);
  TableOptions o = TableOptions().target("class");
  TableDataset ds = encode_table(t, {0, 1, 2, 3}, o);
  CHECK(ds.classes == std::vector<std::string>{"no", "yes"});
  CHECK(ds.labels == std::vector<std::int64_t>{1, 0, 1, 0, 1});
  // Features: age, colour=blue, colour=red (green never seen in training -> no column), height.
  CHECK(ds.feature_names == std::vector<std::string>{"age", "colour=blue", "colour=red", "height"});
  REQUIRE(ds.num_features == 4);
  // age: training values 30, 50, 20 (row 1 missing) -> mean 100/3; missing row 1 gets the mean -> 0 after centring.
  const double age_mean = 100.0 / 3.0;
  const double age_sd = std::sqrt(((30 - age_mean) * (30 - age_mean) + 0 + (50 - age_mean) * (50 - age_mean) +
                                   (20 - age_mean) * (20 - age_mean)) / 4.0);
  CHECK(ds.numeric_mean[0] == doctest::Approx(age_mean));
  CHECK(ds.numeric_scale[0] == doctest::Approx(age_sd));
  CHECK(ds.features[1 * 4 + 0] == doctest::Approx(0.0));
  CHECK(ds.features[4 * 4 + 0] == doctest::Approx((60 - age_mean) / age_sd));  // test row uses training stats
  // colour: missing (row 2) takes the training mode "red"; the green test row is all zeros.
  CHECK(ds.features[2 * 4 + 2] == 1.0);
  CHECK(ds.features[4 * 4 + 1] + ds.features[4 * 4 + 2] == 0.0);
  // height: training mean of 1.5, 1.7, 1.9 = 1.7 imputed for row 2 -> 0.
  CHECK(ds.features[2 * 4 + 3] == doctest::Approx(0.0).epsilon(1e-12));
  // A tab-separated file is detected the same way.
  Table tsv = parse_table("a\tb\n1\tx\n2\ty\n", "t.tsv");
  CHECK(tsv.columns.size() == 2);
  CHECK(encode_table(tsv, {}).classes == std::vector<std::string>{"x", "y"});
}

TEST_CASE("table: malformed files name the file, the line (and column) and what was expected") {
  hf::test::TempDir dir("table_bad");
  struct Case {
    const char* what;
    const char* text;
    const char* line;
    const char* extra;
  };
  const Case cases[] = {
      {"empty file", "", "", "empty file"},
      {"header only", "a,b,y\n", "line 1", "no data rows"},
      {"duplicate column", "a,b,a\n1,2,3\n", "line 1, column 3", "duplicate column"},
      {"ragged row", "a,b,y\n1,2,0\n1,2\n", "line 3", "expected 3 fields"},
      {"NaN in a numeric column", "a,b,y\n1,2,0\nnan,2,1\n", "line 3, column 1 (a)", "finite"},
      {"Inf in a numeric column", "a,b,y\n1,2,0\n3,-Inf,1\n", "line 3, column 2 (b)", "finite"},
      {"missing target column", "a,b,label\n1,2,0\n", "line 1", "missing column 'y'"},
      {"unknown label", "a,b,y\n1,2,0\n1,2,1\n3,4,maybe\n", "line 4, column 3 (y)", "unknown label"},
      {"missing target value", "a,b,y\n1,2,0\n1,2,\n", "line 3, column 3 (y)", "missing target"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    std::string path = dir.write("bad.csv", c.text);
    std::string msg = hf::test::data_error_of([&] {
      TableOptions o = TableOptions().target("y").classes({"0", "1"});
      encode_table(load_table(path, o), {}, o);
    });
    CAPTURE(msg);
    REQUIRE(!msg.empty());
    CHECK(has(msg, path));
    if (*c.line) CHECK(has(msg, c.line));
    CHECK(has(msg, c.extra));
  }
}
