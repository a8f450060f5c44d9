// General delimited-table parsing (typing, missing values) and training-only encoding.
#include "hopfield/datasets/table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <limits>

#include "hopfield/datasets/text_reader.h"
#include "hopfield/engine/check.h"

namespace hf {

std::size_t Table::column_index(const std::string& column) const {
  for (std::size_t j = 0; j < columns.size(); ++j)
    if (columns[j].name == column) return j;
  std::string all;
  for (const auto& c : columns) {
    if (!all.empty()) all += ", ";
    all += c.name;
  }
  throw DataError(name + ": line 1: missing column '" + column + "' (header has: " + all + ")");
}

Table parse_table(std::string_view text, const std::string& name, const TableOptions& options) {
  TextReader rd(text, name);
  while (rd.next_line() && rd.line().empty()) {
  }
  if (rd.line().empty()) throw DataError(name + ": empty file; expected a header line with column names");
  const char sep = options.separator() ? options.separator() : detect_separator(rd.line());
  Table t;
  t.name = name;
  const std::size_t header_line = rd.line_no();
  std::vector<std::string> header;
  for (auto f : rd.split(sep)) {
    std::string h(f);
    while (!h.empty() && (h.back() == ' ')) h.pop_back();
    while (!h.empty() && (h.front() == ' ')) h.erase(h.begin());
    if (std::find(header.begin(), header.end(), h) != header.end())
      rd.fail_at(header.size(), {}, "duplicate column name " + quote_token(h) + " (expected unique names)");
    header.push_back(h);
  }
  const std::size_t m = header.size();
  std::vector<std::vector<std::string>> cells(m);  // column-major raw tokens
  std::set<std::string> missing(options.missing_values().begin(), options.missing_values().end());
  while (rd.next_line()) {
    if (rd.line().empty() && m > 1) continue;
    const auto& f = rd.split(sep);
    rd.expect_fields(m, "fields (one per header column)");
    for (std::size_t j = 0; j < m; ++j) {
      std::string_view v = f[j];
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      cells[j].emplace_back(v);
    }
    t.lines.push_back(rd.line_no());
  }
  t.num_rows = t.lines.size();
  if (t.num_rows == 0)
    throw DataError(data_location(name, header_line) + ": no data rows after the header (expected one row per sample)");

  for (std::size_t j = 0; j < m; ++j) {
    TableColumn c;
    c.name = header[j];
    bool numeric = true;
    for (const auto& s : cells[j]) {
      double v;
      if (!missing.count(s) && !parse_double(s, v, false)) {
        numeric = false;
        break;
      }
    }
    c.numeric = numeric;
    if (numeric) {
      c.values.resize(t.num_rows);
      for (std::size_t i = 0; i < t.num_rows; ++i) {
        const auto& s = cells[j][i];
        if (missing.count(s)) {
          c.values[i] = std::numeric_limits<double>::quiet_NaN();
          ++c.missing;
          continue;
        }
        double v = 0;
        parse_double(s, v, false);
        if (!std::isfinite(v))
          throw DataError(data_location(name, t.lines[i], j + 1, c.name) +
                          ": expected a finite number (NaN/Inf not allowed; write missing values as '" +
                          (options.missing_values().empty() ? std::string("NA") : options.missing_values().back()) +
                          "'), got " + quote_token(s));
        c.values[i] = v;
      }
    } else {
      std::set<std::string> lv;
      for (const auto& s : cells[j])
        if (!missing.count(s)) lv.insert(s);
      c.levels.assign(lv.begin(), lv.end());
      c.codes.resize(t.num_rows);
      for (std::size_t i = 0; i < t.num_rows; ++i) {
        const auto& s = cells[j][i];
        if (missing.count(s)) {
          c.codes[i] = -1;
          ++c.missing;
        } else {
          c.codes[i] = std::lower_bound(c.levels.begin(), c.levels.end(), s) - c.levels.begin();
        }
      }
    }
    t.columns.push_back(std::move(c));
  }
  return t;
}

Table load_table(const std::string& path, const TableOptions& options) {
  return parse_table(read_text_file(path), path, options);
}

namespace {
std::string format_value(double v) {
  std::string s = std::to_string(v);
  if (v == std::floor(v) && std::abs(v) < 1e15) s = std::to_string(static_cast<long long>(v));
  return s;
}
}  // namespace

TableDataset encode_table(const Table& t, const std::vector<std::size_t>& train_rows_in, const TableOptions& options) {
  const std::size_t n = t.num_rows;
  std::vector<std::size_t> train = train_rows_in;
  if (train.empty())
    for (std::size_t i = 0; i < n; ++i) train.push_back(i);
  for (std::size_t r : train) HF_CHECK(r < n, "encode_table", "training row " << r << " out of range for " << n << " rows");
  const std::size_t target = options.target().empty() ? t.columns.size() - 1 : t.column_index(options.target());
  for (const auto& ig : options.ignore()) t.column_index(ig);  // names must exist: a typo should not pass silently

  TableDataset ds;
  ds.num_samples = n;
  // Target -> class labels.
  const TableColumn& tc = t.columns[target];
  std::vector<std::string> raw(n);
  for (std::size_t i = 0; i < n; ++i) {
    bool miss = tc.numeric ? std::isnan(tc.values[i]) : tc.codes[i] < 0;
    if (miss)
      throw DataError(data_location(t.name, t.lines[i], target + 1, tc.name) + ": missing target value (expected a label)");
    raw[i] = tc.numeric ? format_value(tc.values[i]) : tc.levels[static_cast<std::size_t>(tc.codes[i])];
  }
  if (!options.classes().empty()) {
    ds.classes = options.classes();
  } else if (tc.numeric) {
    std::set<double> vals(tc.values.begin(), tc.values.end());
    for (double v : vals) ds.classes.push_back(format_value(v));
  } else {
    ds.classes = tc.levels;
  }
  std::map<std::string, std::int64_t> class_of;
  for (std::size_t c = 0; c < ds.classes.size(); ++c) class_of[ds.classes[c]] = static_cast<std::int64_t>(c);
  for (std::size_t i = 0; i < n; ++i) {
    auto it = class_of.find(raw[i]);
    if (it == class_of.end())
      throw DataError(data_location(t.name, t.lines[i], target + 1, tc.name) + ": unknown label " + quote_token(raw[i]) +
                      " (expected one of the given classes)");
    ds.labels.push_back(it->second);
  }

  // Feature columns: per column a list of (encoded value per row) blocks.
  std::vector<std::vector<double>> cols;
  for (std::size_t j = 0; j < t.columns.size(); ++j) {
    const TableColumn& c = t.columns[j];
    if (j == target || std::find(options.ignore().begin(), options.ignore().end(), c.name) != options.ignore().end())
      continue;
    if (c.numeric) {
      double sum = 0;
      std::size_t cnt = 0;
      for (std::size_t r : train)
        if (!std::isnan(c.values[r])) sum += c.values[r], ++cnt;
      const double mean = cnt ? sum / static_cast<double>(cnt) : 0.0;
      std::vector<double> v(c.values);
      for (double& x : v)
        if (std::isnan(x)) x = mean;
      double scale = 1.0, center = 0.0;
      if (options.standardize()) {
        double ss = 0;
        for (std::size_t r : train) ss += (v[r] - mean) * (v[r] - mean);
        double sd = std::sqrt(ss / static_cast<double>(train.size()));
        center = mean;
        scale = sd > 1e-12 ? sd : 1.0;
        for (double& x : v) x = (x - center) / scale;
      }
      ds.numeric_mean.push_back(center);
      ds.numeric_scale.push_back(scale);
      ds.feature_names.push_back(c.name);
      cols.push_back(std::move(v));
    } else {
      std::vector<std::size_t> count(c.levels.size(), 0);
      for (std::size_t r : train)
        if (c.codes[r] >= 0) ++count[static_cast<std::size_t>(c.codes[r])];
      std::int64_t mode = -1;
      std::size_t best = 0;
      for (std::size_t l = 0; l < count.size(); ++l)
        if (count[l] > best) best = count[l], mode = static_cast<std::int64_t>(l);
      for (std::size_t l = 0; l < c.levels.size(); ++l) {
        if (count[l] == 0) continue;  // not seen in training: no feature for it
        std::vector<double> v(n, 0.0);
        for (std::size_t i = 0; i < n; ++i) {
          std::int64_t code = c.codes[i] < 0 ? mode : c.codes[i];
          v[i] = code == static_cast<std::int64_t>(l) ? 1.0 : 0.0;
        }
        ds.feature_names.push_back(c.name + "=" + c.levels[l]);
        cols.push_back(std::move(v));
      }
    }
  }
  ds.num_features = cols.size();
  ds.features.resize(n * ds.num_features);
  for (std::size_t j = 0; j < cols.size(); ++j)
    for (std::size_t i = 0; i < n; ++i) ds.features[i * ds.num_features + j] = cols[j][i];
  return ds;
}

}  // namespace hf
