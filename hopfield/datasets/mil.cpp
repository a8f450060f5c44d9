// Unified MIL CSV parser and bag bookkeeping.
#include "hopfield/datasets/mil.h"

#include <algorithm>
#include <unordered_map>

#include "hopfield/datasets/text_reader.h"
#include "hopfield/engine/check.h"

namespace hf {

std::size_t MilDataset::num_positive() const {
  return static_cast<std::size_t>(std::count(bag_labels.begin(), bag_labels.end(), 1));
}

std::size_t MilDataset::min_bag_size() const {
  std::size_t m = num_bags() ? bag_size(0) : 0;
  for (std::size_t b = 1; b < num_bags(); ++b) m = std::min(m, bag_size(b));
  return m;
}

std::size_t MilDataset::max_bag_size() const {
  std::size_t m = 0;
  for (std::size_t b = 0; b < num_bags(); ++b) m = std::max(m, bag_size(b));
  return m;
}

void MilDataset::add_bag(std::int64_t id, std::int64_t label, const std::vector<double>& rows) {
  HF_CHECK(num_features > 0 && !rows.empty() && rows.size() % num_features == 0, "MilDataset::add_bag",
           rows.size() << " values are not a non-empty whole number of instances of " << num_features << " features");
  features.insert(features.end(), rows.begin(), rows.end());
  bag_offsets.push_back(bag_offsets.back() + rows.size() / num_features);
  bag_ids.push_back(id);
  bag_labels.push_back(label);
}

MilDataset parse_mil_csv(std::string_view text, const std::string& name) {
  TextReader rd(text, name);
  MilDataset ds;
  ds.name = name;
  while (rd.next_line() && rd.line().empty()) {
  }
  if (rd.line().empty()) throw DataError(name + ": empty file; expected a header 'bag_id,label,f1,...,fd'");
  const auto& head = rd.split(',');
  if (head.size() < 1 || head[0] != "bag_id") rd.fail_at(0, {}, "expected header column 'bag_id', got " + quote_token(head[0]));
  if (head.size() < 2 || head[1] != "label")
    rd.fail_at(1, {}, "missing column: expected header column 'label' after 'bag_id'");
  if (head.size() < 3) rd.fail("missing columns: expected at least one feature column after 'bag_id,label'");
  const std::size_t ncol = head.size();
  ds.num_features = ncol - 2;
  for (std::size_t j = 2; j < ncol; ++j) ds.feature_names.emplace_back(head[j]);

  // Bag id -> the line where that bag started, to report non-contiguous rows precisely.
  std::unordered_map<std::int64_t, std::size_t> first_line;
  std::size_t bag_line = 0;
  while (rd.next_line()) {
    if (rd.line().empty()) continue;
    const auto& f = rd.split(',');
    rd.expect_fields(ncol, "fields (bag_id, label and " + std::to_string(ds.num_features) + " features)");
    std::int64_t id = rd.integer(0, "bag_id");
    std::int64_t label = rd.integer(1, "label");
    if (label != 0 && label != 1) rd.fail_at(1, "label", "unknown label " + quote_token(f[1]) + "; expected 0 or 1");
    bool new_bag = ds.bag_ids.empty() || ds.bag_ids.back() != id;
    if (new_bag) {
      auto [it, inserted] = first_line.emplace(id, rd.line_no());
      if (!inserted)
        rd.fail_at(0, "bag_id", "rows of bag " + std::to_string(id) + " are not contiguous (the bag started on line " +
                                    std::to_string(it->second) + " and another bag came in between)");
      ds.bag_ids.push_back(id);
      ds.bag_labels.push_back(label);
      ds.bag_offsets.push_back(ds.bag_offsets.back());
      bag_line = rd.line_no();
    } else if (ds.bag_labels.back() != label) {
      rd.fail_at(1, "label", "label " + std::to_string(label) + " differs from the label " +
                                 std::to_string(ds.bag_labels.back()) + " of bag " + std::to_string(id) +
                                 " given on line " + std::to_string(bag_line));
    }
    for (std::size_t j = 2; j < ncol; ++j) ds.features.push_back(rd.number(j, ds.feature_names[j - 2]));
    ++ds.bag_offsets.back();
  }
  if (ds.bag_ids.empty()) throw DataError(name + ": no data rows after the header (expected one row per instance)");
  return ds;
}

MilDataset load_mil_csv(const std::string& path) { return parse_mil_csv(read_text_file(path), path); }

std::vector<std::size_t> instance_rows(const MilDataset& ds, const std::vector<std::size_t>& bags) {
  std::vector<std::size_t> rows;
  for (std::size_t b : bags) {
    HF_CHECK(b < ds.num_bags(), "instance_rows", "bag " << b << " out of range for " << ds.num_bags() << " bags");
    for (std::size_t r = ds.bag_offsets[b]; r < ds.bag_offsets[b + 1]; ++r) rows.push_back(r);
  }
  return rows;
}

Standardizer fit_standardizer(const MilDataset& ds, const std::vector<std::size_t>& train_bags) {
  return fit_standardizer(ds.features, ds.num_features, instance_rows(ds, train_bags));
}

}  // namespace hf
