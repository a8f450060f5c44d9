// Fernández-Delgado UCI layout: four comma-separated files per dataset, cross-checked against each other.
#include "hopfield/datasets/uci.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hopfield/datasets/text_reader.h"
#include "hopfield/engine/check.h"

namespace hf {

namespace {

// Reads an all-numeric comma-separated matrix (no header). `cols` = 0 takes the width of the first row.
std::vector<double> read_matrix(std::string_view text, const std::string& name, std::size_t& rows, std::size_t& cols) {
  TextReader rd(text, name);
  std::vector<double> out;
  rows = 0;
  while (rd.next_line()) {
    if (rd.line().empty()) {
      // Blank lines may only trail; one inside the data would shift every later row against the labels.
      std::size_t at = rd.line_no();
      while (rd.next_line())
        if (!rd.line().empty()) throw DataError(data_location(name, at) + ": blank line inside the data");
      break;
    }
    const auto& f = rd.split(',');
    if (cols == 0) cols = f.size();
    rd.expect_fields(cols, "columns (as in the first row)");
    for (std::size_t j = 0; j < cols; ++j) out.push_back(rd.number(j));
    ++rows;
  }
  if (rows == 0) throw DataError(name + ": empty file; expected one comma-separated row per sample");
  return out;
}

void expect_rows(const std::string& name, std::size_t got, std::size_t want, const std::string& ref) {
  if (got != want)
    throw DataError(data_location(name, std::min(got, want) + 1) + ": expected " + std::to_string(want) +
                    " rows (one per row of " + ref + "), got " + std::to_string(got));
}

std::vector<std::uint8_t> to_mask(const std::vector<double>& v, const std::string& name) {
  std::vector<std::uint8_t> m(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0 && v[i] != 1.0)
      throw DataError(data_location(name, i / UciDataset::num_splits + 1, i % UciDataset::num_splits + 1) +
                      ": expected 0 or 1, got " + std::to_string(v[i]));
    m[i] = v[i] != 0.0;
  }
  return m;
}

}  // namespace

UciDataset parse_uci(const UciFiles& files, const std::string& name) {
  UciDataset ds;
  ds.name = name;
  std::size_t n = 0, d = 0;
  ds.features = read_matrix(files.features, files.features_name, n, d);
  ds.num_samples = n;
  ds.num_features = d;

  std::size_t ln = 0, lc = 1;
  std::vector<double> lab = read_matrix(files.labels, files.labels_name, ln, lc);
  expect_rows(files.labels_name, ln, n, files.features_name);
  std::int64_t max_label = -1;
  for (std::size_t i = 0; i < n; ++i) {
    double v = lab[i];
    if (!(v >= 0 && v <= 1e6) || v != std::floor(v))  // range first: casting a huge double is UB
      throw DataError(data_location(files.labels_name, i + 1, 1) + ": unknown label " + std::to_string(v) +
                      "; expected a class index 0, 1, 2, ...");
    ds.labels.push_back(static_cast<std::int64_t>(v));
    max_label = std::max(max_label, ds.labels.back());
  }
  ds.num_classes = static_cast<std::size_t>(max_label + 1);
  auto counts = ds.class_counts();
  for (std::size_t c = 0; c < counts.size(); ++c)
    if (counts[c] == 0)
      throw DataError(files.labels_name + ": class " + std::to_string(c) + " never occurs although classes up to " +
                      std::to_string(max_label) + " do (expected classes 0..C-1, each present)");

  for (auto [text, fname, mask] : {std::tuple{files.folds, &files.folds_name, &ds.test_mask},
                                   std::tuple{files.validation_folds, &files.validation_folds_name, &ds.validation_mask}}) {
    std::size_t fr = 0, fc = UciDataset::num_splits;
    std::vector<double> v = read_matrix(text, *fname, fr, fc);
    expect_rows(*fname, fr, n, files.features_name);
    *mask = to_mask(v, *fname);
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < UciDataset::num_splits; ++k)
      if (ds.test_mask[i * UciDataset::num_splits + k] && ds.validation_mask[i * UciDataset::num_splits + k])
        throw DataError(data_location(files.validation_folds_name, i + 1, k + 1) + ": row " + std::to_string(i + 1) +
                        " is marked validation and also test in " + files.folds_name + " (expected disjoint sets)");
  return ds;
}

std::vector<std::size_t> UciDataset::class_counts() const {
  std::vector<std::size_t> c(num_classes, 0);
  for (auto l : labels) ++c[static_cast<std::size_t>(l)];
  return c;
}

UciSplit UciDataset::split(std::size_t k) const {
  HF_CHECK(k < num_splits, "UciDataset::split", "split " << k << " out of range 0.." << num_splits - 1);
  UciSplit s;
  for (std::size_t i = 0; i < num_samples; ++i) {
    if (test_mask[i * num_splits + k])
      s.test.push_back(i);
    else if (validation_mask[i * num_splits + k])
      s.validation.push_back(i);
    else
      s.train.push_back(i);
  }
  return s;
}

Standardizer UciDataset::fit_standardizer(std::size_t k) const {
  return hf::fit_standardizer(features, num_features, split(k).train);
}

UciDataset load_uci(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path p(dir);
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();  // "dir/" form
  if (!fs::is_directory(p)) throw DataError(dir + ": not a directory (expected a UCI dataset folder)");
  std::string f_feat = (p / (name + "_py.dat")).string(), f_lab = (p / "labels_py.dat").string(),
              f_fold = (p / "folds_py.dat").string(), f_val = (p / "validation_folds_py.dat").string();
  std::string t_feat = read_text_file(f_feat), t_lab = read_text_file(f_lab), t_fold = read_text_file(f_fold),
              t_val = read_text_file(f_val);
  UciFiles files{t_feat, t_lab, t_fold, t_val, f_feat, f_lab, f_fold, f_val};
  return parse_uci(files, name);
}

std::vector<std::string> list_uci(const std::string& root) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(root)) throw DataError(root + ": not a directory (expected the uci121 folder)");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root)) {
    if (!e.is_directory()) continue;
    std::string n = e.path().filename().string();
    if (fs::exists(e.path() / (n + "_py.dat"))) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace hf
