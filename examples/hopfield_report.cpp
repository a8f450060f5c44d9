// hopfield-report: renders the results page (docs/results.md) from the JSON the paper programs print, with
// one SVG per table. scripts/paper runs the programs and calls this; nothing here trains anything. The page,
// the run directory it reads and the reference values it compares with: hopfield/report/results_page.h.
//
//   hopfield-report --runs RUN_DIR --out docs/results.md
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "hopfield/engine/check.h"
#include "hopfield/report/results_page.h"
#include "cli_checks.h"

int main(int argc, char** argv) {
  CLI::App app{"hopfield-report: the results page (Markdown + one SVG per table) from the paper programs' JSON"};
  std::string runs_dir, out = "docs/results.md", svg_dir;
  app.add_option("--runs", runs_dir, "run directory written by scripts/paper")->required();
  app.add_option("--out", out, "Markdown file to write")->capture_default_str();
  app.add_option("--svg-dir", svg_dir, "folder for the SVGs (default: <out without .md>/ next to the page)");
  if (const int rc = hf::cli::parse(app, argc, argv, "hopfield-report"); rc >= 0) return rc;
  try {
    HF_CHECK(std::filesystem::is_directory(runs_dir), "hopfield-report", runs_dir << ": no such run directory");
    const std::string svgs = hf::write_results_page(hf::ResultsPageOptions().runs(runs_dir).out(out).svg_dir(svg_dir));
    std::printf("wrote %s and the SVGs in %s\n", out.c_str(), svgs.c_str());
  } catch (const std::exception& e) {
    return hf::cli::fail("hopfield-report", e);
  }
  return 0;
}
