// The results page (docs/results.md): one Markdown page with a table and an SVG per experiment, rendered
// from the JSON the paper programs print (their `--json` last line). scripts/paper runs the programs into a
// run directory and hopfield-report calls write_results_page on it; a user with their own runs of the same
// programs renders the same page the same way:
//
//   write_results_page(ResultsPageOptions().runs("runs/paper").out("docs/results.md"));
//
// The run directory (every file optional; a missing part is reported as "not run"):
//   meta.json                    mode, machine, load, commit, start, total seconds
//   <part>.part.json             per part: the mode it ran in, wall seconds, the commands
//   mil/<dataset>.json           last --json line of hopfield-mil (elephant, fox, tiger, musk1, musk2)
//   uci/ours.json, uci/out/uci_results.csv, uci/baselines.csv (bench/uci_baselines.py)
//   repertoire/cohort<N>.json    last --json line of hopfield-repertoire --cohort N
//   bit_pattern.json, latch.json last --json line of the two demos with --seeds K
// The reference values (the paper's MIL column, the notebooks' final held-out accuracies, DeepRC's AUC on
// implanted signals) live in results_page.cpp, each with its source: the page compares every measurement
// with a number someone else published.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hopfield/engine/arg.h"

namespace hf {

struct ResultsPageOptions {
  HF_ARG(std::string, runs) = "";              // the run directory (required)
  HF_ARG(std::string, out) = "docs/results.md";  // the Markdown page
  HF_ARG(std::string, svg_dir) = "";           // the SVGs; empty = <out without .md>/ next to the page
};

// A program's JSON output: the whole file when it is one JSON document, else its last non-empty line (a
// program's log with the --json object at the end). nullopt when the file does not exist; a file that holds
// no JSON throws naming it.
std::optional<nlohmann::json> read_program_json(const std::string& path);

// The page's Markdown for the run directory `runs`; the SVGs are written into svg_dir and linked as
// svg_link/<name>.svg (the folder as seen from where the page will be).
std::string render_results_page(const std::string& runs, const std::string& svg_dir, const std::string& svg_link);

// Renders and writes options.out (creating its folder and the SVG folder). Returns the SVG folder used.
// Throws naming the option when the run directory does not exist or the page cannot be written.
std::string write_results_page(const ResultsPageOptions& options);

}  // namespace hf
