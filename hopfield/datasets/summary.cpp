// Dataset summaries (see hopfield/datasets/summary.h).
#include "hopfield/datasets/summary.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/synthetic.h"

namespace hf {

using json = nlohmann::ordered_json;

namespace {

// Samples per class, keyed by the class name when `names` has one, else by the label's number.
template <class Labels>
json class_counts(const Labels& labels, const std::vector<std::string>& names = {}) {
  std::map<std::int64_t, std::size_t> c;
  for (auto l : labels) ++c[static_cast<std::int64_t>(l)];
  json out = json::object();
  for (auto [k, n] : c) {
    std::string key = k >= 0 && static_cast<std::size_t>(k) < names.size() ? names[static_cast<std::size_t>(k)] : std::to_string(k);
    out[key] = n;
  }
  return out;
}

// The summary's lines; nested objects (class counts, bag sizes) on one line, splits one per line.
void write_lines(std::ostream& os, const json& j, const std::string& indent) {
  if (j.is_array()) {
    for (const auto& e : j) {
      write_lines(os, e, indent);
      os << "\n";
    }
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    if (v.is_object() && it.key() != "splits") {
      os << indent << it.key() << ": " << v.dump() << "\n";
    } else if (v.is_object() || v.is_array()) {
      os << indent << it.key() << ":\n";
      if (v.is_array()) {
        for (std::size_t k = 0; k < v.size(); ++k) os << indent << "  [" << k << "] " << v[k].dump() << "\n";
      } else {
        for (auto jt = v.begin(); jt != v.end(); ++jt) os << indent << "  " << jt.key() << ": " << jt.value().dump() << "\n";
      }
    } else {
      os << indent << it.key() << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
  }
}

}  // namespace

json mil_summary(const MilDataset& ds, std::size_t folds, std::uint64_t seed) {
  json j;
  j["kind"] = "mil";
  j["name"] = ds.name;
  j["bags"] = ds.num_bags();
  j["positive"] = ds.num_positive();
  j["negative"] = ds.num_bags() - ds.num_positive();
  j["instances"] = ds.num_instances();
  j["features"] = ds.num_features;
  j["bag_size"] = {{"min", ds.min_bag_size()},
                   {"mean", double(ds.num_instances()) / double(ds.num_bags())},
                   {"max", ds.max_bag_size()}};
  j["classes"] = class_counts(ds.bag_labels);
  if (folds >= 2 && folds <= ds.num_bags()) {
    json f = json::array();
    for (const auto& fold : stratified_kfold(ds.bag_labels, folds, seed))
      f.push_back({{"train", fold.train.size()}, {"test", fold.test.size()}});
    j["splits"] = {{"stratified_kfold", folds}, {"seed", seed}, {"folds", f}};
  }
  return j;
}

json uci_summary(const UciDataset& ds) {
  json j;
  j["kind"] = "uci";
  j["name"] = ds.name;
  j["samples"] = ds.num_samples;
  j["features"] = ds.num_features;
  j["num_classes"] = ds.num_classes;
  j["classes"] = class_counts(ds.labels);
  json s = json::array();
  for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
    auto sp = ds.split(k);
    s.push_back({{"train", sp.train.size()}, {"validation", sp.validation.size()}, {"test", sp.test.size()}});
  }
  j["splits"] = s;
  return j;
}

json uci_folder_summary(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::string name = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
  if (fs::exists(p / (name + "_py.dat"))) return uci_summary(load_uci(path));
  json all = json::object();
  auto names = list_uci(path);
  if (names.empty()) throw std::invalid_argument(path + ": no UCI dataset folders (<name>/<name>_py.dat) found");
  for (const auto& n : names) all[n] = uci_summary(load_uci((p / n).string()));
  return {{"kind", "uci-collection"}, {"datasets", names.size()}, {"summaries", all}};
}

json repertoire_summary(const RepertoireDataset& ds, const std::string& root) {
  json j;
  j["kind"] = "repertoires";
  j["name"] = std::filesystem::path(root).filename().string();
  j["repertoires"] = ds.size();
  j["target_column"] = ds.target_column();
  j["classes"] = class_counts(ds.labels(), ds.classes());
  std::size_t total = 0, dropped = 0, lo = SIZE_MAX, hi = 0;
  for (std::size_t i = 0; i < ds.size(); ++i) {  // one repertoire in memory at a time
    Repertoire r = ds.read(i);
    total += r.sequences.size();
    dropped += r.dropped;
    lo = std::min(lo, r.sequences.size());
    hi = std::max(hi, r.sequences.size());
  }
  j["sequences"] = total;
  j["dropped_rows"] = dropped;
  j["sequences_per_repertoire"] = {{"min", lo}, {"max", hi}};
  return j;
}

json table_summary(const Table& t, const TableOptions& o) {
  TableDataset ds = encode_table(t, {}, o);
  json j;
  j["kind"] = "table";
  j["name"] = t.name;
  j["samples"] = ds.num_samples;
  j["columns"] = t.columns.size();
  j["features"] = ds.num_features;
  std::size_t missing = 0, categorical = 0;
  for (const auto& c : t.columns) missing += c.missing, categorical += c.numeric ? 0 : 1;
  j["categorical_columns"] = categorical;
  j["missing_cells"] = missing;
  j["classes"] = class_counts(ds.labels, ds.classes);
  return j;
}

json synthetic_summaries() {
  json all = json::array();
  all.push_back(mil_summary(bit_pattern_bags(BitPatternOptions(200, 16, 4)).bags, 5, 0));
  all.push_back(mil_summary(latch_sequences(LatchOptions(256)), 5, 0));
  all.push_back(mil_summary(planted_mil_bags(PlantedMilOptions(100, 16)), 5, 0));
  auto reps = implanted_repertoires(ImplantedRepertoireOptions(20));
  std::size_t seqs = 0, wit = 0;
  std::vector<std::int64_t> labels;
  for (const auto& r : reps) seqs += r.repertoire.sequences.size(), wit += r.witnesses, labels.push_back(r.label);
  all.push_back({{"kind", "repertoires"}, {"name", "implanted (synthetic)"}, {"repertoires", reps.size()},
                 {"sequences", seqs}, {"witnesses", wit}, {"dropped_rows", 0}, {"classes", class_counts(labels)}});
  return all;
}

void write_summary_text(std::ostream& os, const json& out) {
  if (out.contains("summaries")) {
    for (auto it = out["summaries"].begin(); it != out["summaries"].end(); ++it) {
      write_lines(os, it.value(), "");
      os << "\n";
    }
    os << "datasets: " << out["datasets"] << "\n";
  } else if (out.contains("datasets") && out["datasets"].is_array()) {
    write_lines(os, out["datasets"], "");
  } else {
    write_lines(os, out, "");
  }
}

}  // namespace hf
