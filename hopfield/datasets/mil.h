// Multiple-instance learning (MIL) bags: a bag is a variable number of instances (feature rows) with one
// binary label. Loader for the unified MIL CSV of ../shared/data/mil/csv (Musk1/2, Elephant, Fox, Tiger):
//
//   bag_id,label,f1,...,fd        header (the first two names are required, the rest are taken as given)
//   1,1,0.25,...                  one row per instance; the rows of a bag are contiguous; label 0/1,
//                                 repeated on every row of the bag
//
// Legend: B bags, I instances in total, d features, n_b instances of bag b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hopfield/datasets/standardize.h"

namespace hf {

struct MilDataset {
  std::string name;
  std::size_t num_features = 0;            // d
  std::vector<std::string> feature_names;  // d
  std::vector<double> features;            // (I, d) row-major, bag after bag
  std::vector<std::size_t> bag_offsets{0};  // B + 1: bag b holds instance rows [off[b], off[b+1])
  std::vector<std::int64_t> bag_ids;       // B, as in the file
  std::vector<std::int64_t> bag_labels;    // B, 0 or 1

  std::size_t num_bags() const { return bag_labels.size(); }
  std::size_t num_instances() const { return bag_offsets.back(); }
  std::size_t bag_size(std::size_t b) const { return bag_offsets[b + 1] - bag_offsets[b]; }
  std::size_t num_positive() const;
  std::size_t min_bag_size() const;
  std::size_t max_bag_size() const;
  const double* instance(std::size_t row) const { return features.data() + row * num_features; }

  // Appends one bag (n_b x d row-major values); used by the synthetic generators.
  void add_bag(std::int64_t id, std::int64_t label, const std::vector<double>& rows);
};

// Parses the unified MIL CSV from memory; `name` is used in error messages. Throws DataError for an empty
// file, a header without bag_id/label or features, ragged rows, non-numbers, NaN/Inf, labels other than
// 0/1, a label that changes inside a bag, and bag rows that are not contiguous (a bag id seen again).
MilDataset parse_mil_csv(std::string_view text, const std::string& name);
MilDataset load_mil_csv(const std::string& path);

// Instance rows of the given bags, for fitting a Standardizer on training bags only.
std::vector<std::size_t> instance_rows(const MilDataset& ds, const std::vector<std::size_t>& bags);
// Feature statistics over the instances of `train_bags` (mean, population sd).
Standardizer fit_standardizer(const MilDataset& ds, const std::vector<std::size_t>& train_bags);

}  // namespace hf
