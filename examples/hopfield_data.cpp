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
// The summaries are hopfield/datasets/summary.h's. Any load error becomes one line on stderr and exit code 1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/summary.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/datasets/table.h"
#include "hopfield/datasets/uci.h"
#include "cli_checks.h"

using json = nlohmann::ordered_json;
using namespace hf;

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
      out = uci_folder_summary(uci);
    } else if (!reps.empty()) {
      ro.metadata(metadata).id_column(id_col).target_column(target_col).sequence_column(seq_col).count_column(count_col);
      out = repertoire_summary(RepertoireDataset(reps, ro), reps);
    } else if (!table.empty()) {
      to.target(table_target);
      out = table_summary(load_table(table, to), to);
    } else {
      out = {{"kind", "synthetic"}, {"datasets", synthetic_summaries()}};
    }
    if (as_json) std::cout << out.dump() << "\n";
    else write_summary_text(std::cout, out);
  } catch (const std::exception& e) {
    std::cerr << "hopfield-data: error: " << cli::one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
