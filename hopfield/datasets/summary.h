// Summaries of datasets, for a user to inspect their data before training (program hopfield-data): sizes,
// classes and their counts, the splits a program would use, and for repertoires the sequences and the rows
// dropped while reading. Each summary is one JSON object whose keys keep a fixed order (the text form prints
// them in it).
//
//   MilDataset ds = load_mil_csv("elephant.csv");
//   nlohmann::ordered_json j = mil_summary(ds, 10, 0);   // j["bags"], j["classes"], j["splits"]["folds"] ...
//   write_summary_text(std::cout, j);                    // "kind: mil\nname: elephant\nbags: 200\n..."
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/table.h"
#include "hopfield/datasets/uci.h"

namespace hf {

// Bags (positive, negative), instances, features, bag sizes (min, mean, max), classes; with 2 <= folds <=
// bags also the train/test sizes of stratified_kfold(labels, folds, seed).
nlohmann::ordered_json mil_summary(const MilDataset& ds, std::size_t folds, std::uint64_t seed);

// Samples, features, classes and the sizes of the dataset's fixed train/validation/test splits.
nlohmann::ordered_json uci_summary(const UciDataset& ds);

// `path` is one UCI dataset folder (<name>/<name>_py.dat): its uci_summary; or a folder of them: kind
// "uci-collection", their number and "summaries" by name. Throws naming the path when it holds neither.
nlohmann::ordered_json uci_folder_summary(const std::string& path);

// Repertoires, target column, classes, sequences in all and per repertoire (min, max), dropped rows. Reads
// every repertoire once, one at a time; `root` names the dataset (its folder name).
nlohmann::ordered_json repertoire_summary(const RepertoireDataset& ds, const std::string& root);

// Samples, columns, encoded features (encode_table with options o), categorical columns, missing cells, classes.
nlohmann::ordered_json table_summary(const Table& t, const TableOptions& o);

// Summaries of the synthetic sets the programs use without data (bit patterns, latch sequences, planted
// bags, implanted repertoires), at small default sizes: an array.
nlohmann::ordered_json synthetic_summaries();

// The text form of any of the above (or of {"kind": "synthetic", "datasets": synthetic_summaries()}): one
// "key: value" line per entry, nested objects on one line, splits one per line, a collection's summaries
// one after the other followed by their count.
void write_summary_text(std::ostream& os, const nlohmann::ordered_json& summary);

}  // namespace hf
