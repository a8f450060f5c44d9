// hopfield-data: load a dataset and print a summary (sizes, classes and their counts, splits; for
// repertoires also sequences and dropped rows), as text or as one JSON object (--json).
//
//   hopfield-data --mil ../shared/data/mil/csv/elephant.csv
//   hopfield-data --uci ../shared/data/uci121/iris        (one dataset)   or  --uci ../shared/data/uci121  (all)
//   hopfield-data --repertoires ../shared/data/deeprc/example_dataset --target-column binary_target_1
//   hopfield-data --table heart.csv --target disease
//   hopfield-data                                         (no data needed: summaries of the synthetic sets)
//   hopfield-data --write-cohort /tmp/deeprc-scale --cohort-repertoires 40 --cohort-sequences 300000 --seed 1
//                                    (writes a generated cohort with random motifs, one repertoire at a time)
//
// Any load error becomes one line on stderr and exit code 1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/datasets/table.h"
#include "hopfield/datasets/uci.h"
#include "cli_checks.h"

using json = nlohmann::ordered_json;
using namespace hf;

namespace {

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

void print_text(const json& j, const std::string& indent = "") {
  if (j.is_array()) {
    for (const auto& e : j) {
      print_text(e, indent);
      std::cout << "\n";
    }
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    if (v.is_object() && it.key() != "splits") {
      std::cout << indent << it.key() << ": " << v.dump() << "\n";
    } else if (v.is_object() || v.is_array()) {
      std::cout << indent << it.key() << ":\n";
      if (v.is_array()) {
        for (std::size_t k = 0; k < v.size(); ++k) std::cout << indent << "  [" << k << "] " << v[k].dump() << "\n";
      } else {
        for (auto jt = v.begin(); jt != v.end(); ++jt) std::cout << indent << "  " << jt.key() << ": " << jt.value().dump() << "\n";
      }
    } else {
      std::cout << indent << it.key() << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hopfield-data: load a dataset and print its summary"};
  std::string mil, uci, reps, table;
  bool as_json = false;
  std::size_t folds = 10;
  std::uint64_t seed = 0;
  RepertoireOptions ro;
  TableOptions to;
  std::string metadata = ro.metadata(), id_col = ro.id_column(), target_col, seq_col = ro.sequence_column(),
              count_col = ro.count_column(), table_target;
  app.add_option("--mil", mil, "unified MIL CSV file (bag_id,label,f1..fd)");
  app.add_option("--uci", uci, "UCI dataset folder (<name>/<name>_py.dat ...) or a folder of them");
  app.add_option("--repertoires", reps, "DeepRC-layout repertoire folder");
  app.add_option("--table", table, "general CSV/TSV table with a header");
  app.add_option("--metadata", metadata, "repertoires: metadata file, relative to the folder")->capture_default_str();
  app.add_option("--id-column", id_col, "repertoires: ID column of the metadata")->capture_default_str();
  app.add_option("--target-column", target_col, "repertoires: target column (default: first after the ID)");
  app.add_option("--sequence-column", seq_col, "repertoires: sequence column")->capture_default_str();
  app.add_option("--count-column", count_col, "repertoires: count column ('' = none)")->capture_default_str();
  app.add_option("--target", table_target, "table: target column (default: last)");
  app.add_option("--folds", folds, "MIL: stratified k-fold splits to report")->capture_default_str();
  app.add_option("--seed", seed, "MIL: split seed; --write-cohort: cohort seed")->capture_default_str();
  std::string write_cohort;
  std::size_t cohort_repertoires = 160, cohort_sequences = 0;
  app.add_option("--write-cohort", write_cohort,
                 "write a generated repertoire cohort with random motifs (datasets/synthetic.h random_motif_cohort, "
                 "drawn from --seed) to this folder in DeepRC's layout, one repertoire at a time");
  app.add_option("--cohort-repertoires", cohort_repertoires, "--write-cohort: repertoires")
      ->check(CLI::Range(std::size_t{2}, std::size_t{100000}))->capture_default_str();
  app.add_option("--cohort-sequences", cohort_sequences,
                 "--write-cohort: sequences per repertoire (0 = 1600-2400 as random_motif_cohort; DeepRC scale: 300000)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000000}))->capture_default_str();
  app.add_flag("--json", as_json, "print one JSON object");
  if (const int rc = cli::parse(app, argc, argv, "hopfield-data"); rc >= 0) return rc;
  try {
    int chosen = !mil.empty() + !uci.empty() + !reps.empty() + !table.empty() + !write_cohort.empty();
    if (chosen > 1) throw std::invalid_argument("give only one of --mil, --uci, --repertoires, --table, --write-cohort");
    json out;
    if (!write_cohort.empty()) {
      const auto t0 = std::chrono::steady_clock::now();
      const ImplantedRepertoireOptions o = cohort_sequences > 0
                                               ? deeprc_scale_cohort(seed, cohort_repertoires, cohort_sequences)
                                               : random_motif_cohort(seed, cohort_repertoires);
      write_implanted_dataset(write_cohort, o);
      std::uintmax_t bytes = 0;
      for (const auto& e : std::filesystem::recursive_directory_iterator(write_cohort))
        if (e.is_regular_file()) bytes += e.file_size();
      out = {{"kind", "generated-cohort"}, {"folder", write_cohort}, {"seed", seed}, {"repertoires", o.num_repertoires()},
             {"sequences_per_repertoire", {{"min", o.min_sequences()}, {"max", o.max_sequences()}}},
             {"motifs", o.motifs()}, {"witness_rate", o.witness_rate()}, {"bytes", bytes},
             {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    } else if (!mil.empty()) {
      MilDataset ds = load_mil_csv(mil);
      ds.name = std::filesystem::path(mil).stem().string();
      out = mil_summary(ds, folds, seed);
    } else if (!uci.empty()) {
      namespace fs = std::filesystem;
      fs::path p(uci);
      std::string name = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
      if (fs::exists(p / (name + "_py.dat"))) {
        out = uci_summary(load_uci(uci));
      } else {
        json all = json::object();
        auto names = list_uci(uci);
        if (names.empty()) throw std::invalid_argument(uci + ": no UCI dataset folders (<name>/<name>_py.dat) found");
        for (const auto& n : names) all[n] = uci_summary(load_uci((p / n).string()));
        out = {{"kind", "uci-collection"}, {"datasets", names.size()}, {"summaries", all}};
      }
    } else if (!reps.empty()) {
      ro.metadata(metadata).id_column(id_col).target_column(target_col).sequence_column(seq_col).count_column(count_col);
      out = repertoire_summary(RepertoireDataset(reps, ro), reps);
    } else if (!table.empty()) {
      to.target(table_target);
      out = table_summary(load_table(table, to), to);
    } else {
      out = {{"kind", "synthetic"}, {"datasets", synthetic_summaries()}};
    }
    if (as_json) {
      std::cout << out.dump() << "\n";
    } else if (out.contains("summaries")) {
      for (auto it = out["summaries"].begin(); it != out["summaries"].end(); ++it) {
        print_text(it.value());
        std::cout << "\n";
      }
      std::cout << "datasets: " << out["datasets"] << "\n";
    } else if (out.contains("datasets") && out["datasets"].is_array()) {
      print_text(out["datasets"]);
    } else {
      print_text(out);
    }
  } catch (const std::exception& e) {
    std::cerr << "hopfield-data: error: " << cli::one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
