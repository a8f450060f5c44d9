// The UCI benchmark layout of Fernández-Delgado et al. (2014) as used by Klambauer et al. (SNN) and the
// Hopfield paper: ../shared/data/uci121/<name>/ holds
//   <name>_py.dat               n rows x d comma-separated floats, no header
//   labels_py.dat               n lines, one class 0..C-1 (every class occurs)
//   folds_py.dat                n x 4 of 0/1: column k = 1 marks the TEST rows of split k
//   validation_folds_py.dat     n x 4 of 0/1: column k = 1 marks the VALIDATION rows of split k
// Training rows of split k are those with 0 in both (test and validation must not overlap).
//
// Legend: n samples, d features, C classes, S = 4 splits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hopfield/datasets/standardize.h"

namespace hf {

struct UciSplit {
  std::vector<std::size_t> train, validation, test;  // sorted row indices
};

struct UciDataset {
  static constexpr std::size_t num_splits = 4;
  std::string name;
  std::size_t num_samples = 0;          // n
  std::size_t num_features = 0;         // d
  std::size_t num_classes = 0;          // C
  std::vector<double> features;         // (n, d) row-major
  std::vector<std::int64_t> labels;     // n, 0..C-1
  std::vector<std::uint8_t> test_mask;        // (n, S) 0/1
  std::vector<std::uint8_t> validation_mask;  // (n, S) 0/1

  std::vector<std::size_t> class_counts() const;  // C
  UciSplit split(std::size_t k) const;            // k < S
  // Statistics of the training rows of split k (the paper standardises inside the split).
  Standardizer fit_standardizer(std::size_t k) const;
};

// Parses the four files from memory; the names are used in messages. Throws DataError for empty files,
// ragged rows, non-numbers, NaN/Inf, row counts that differ between the files, labels that are not
// non-negative integers, classes that never occur, fold entries other than 0/1, fold files without 4
// columns, and rows that are both test and validation of a split.
struct UciFiles {
  std::string_view features, labels, folds, validation_folds;
  std::string features_name = "features", labels_name = "labels_py.dat", folds_name = "folds_py.dat",
              validation_folds_name = "validation_folds_py.dat";
};
UciDataset parse_uci(const UciFiles& files, const std::string& name);

// Loads <dir>/<name>_py.dat etc., where name = the folder's last component.
UciDataset load_uci(const std::string& dir);

// Names of the dataset folders under `root` (those holding <name>/<name>_py.dat), sorted.
std::vector<std::string> list_uci(const std::string& root);

}  // namespace hf
