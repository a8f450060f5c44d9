// A general CSV/TSV table loader: a header line, then one sample per line; numeric and categorical
// columns, missing values, a target column chosen by name.
//
// Two steps, because imputation and scaling must only see training rows:
//   Table t = load_table("heart.csv", TableOptions().target("disease"));      // parse + type the columns
//   TableDataset ds = encode_table(t, train_rows, TableOptions().target(...)); // impute, one-hot, standardise
//
// Column typing: a column is numeric if every non-missing cell parses as a number, else categorical.
// A numeric column holding NaN or Inf is an error (missing values are written as one of `missing_values`).
//
// Legend: n rows, m columns in the file, d encoded features (numeric columns + one-hot levels), C classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hopfield/engine/arg.h"

namespace hf {

struct TableOptions {
  HF_ARG(char, separator) = 0;                                   // 0 = detect from the header: tab, ';', ','
  HF_ARG(std::string, target) = "";                              // target column; empty = the last column
  HF_ARG(std::vector<std::string>, missing_values) = {"", "NA", "?"};
  HF_ARG(std::vector<std::string>, ignore) = {};                 // columns to drop (IDs, free text)
  HF_ARG(std::vector<std::string>, classes) = {};                // if set: the allowed target labels, in order
  HF_ARG(bool, standardize) = true;                              // numeric features with training statistics
};

struct TableColumn {
  std::string name;
  bool numeric = true;
  std::vector<double> values;         // numeric: n values, NaN = missing
  std::vector<std::string> levels;    // categorical: distinct non-missing values, sorted
  std::vector<std::int64_t> codes;    // categorical: n indices into levels, -1 = missing
  std::size_t missing = 0;
};

struct Table {
  std::string name;
  std::size_t num_rows = 0;
  std::vector<TableColumn> columns;   // m
  std::vector<std::size_t> lines;     // n, 1-based file line of each row (for messages)
  std::size_t column_index(const std::string& column) const;  // throws DataError if absent
};

// Parses from memory. Throws DataError (file, line, column) for an empty file, duplicate header names,
// ragged rows, NaN/Inf in a numeric column.
Table parse_table(std::string_view text, const std::string& name, const TableOptions& options = TableOptions());
Table load_table(const std::string& path, const TableOptions& options = TableOptions());

struct TableDataset {
  std::size_t num_samples = 0, num_features = 0;  // n, d
  std::vector<std::string> feature_names;         // d; one-hot features are "column=level"
  std::vector<double> features;                   // (n, d) row-major
  std::vector<std::string> classes;               // C (classification targets)
  std::vector<std::int64_t> labels;               // n, 0..C-1
  std::vector<double> numeric_mean, numeric_scale;  // training statistics per numeric feature column
};

// Encodes every row: the target becomes class indices (levels in sorted order, or options.classes; a
// label outside options.classes is an error naming its line), numeric missing cells get the training
// mean, categorical ones the training mode, categorical columns are one-hot over the levels seen in
// training rows (a level seen only outside training encodes as all zeros), and numeric columns are
// standardised with training statistics. `train_rows` empty = all rows.
TableDataset encode_table(const Table& table, const std::vector<std::size_t>& train_rows,
                          const TableOptions& options = TableOptions());

}  // namespace hf
