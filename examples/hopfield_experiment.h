// Shared scaffolding of the Hopfield-internals experiments (examples/hopfield_*.cpp): the common
// command line (--out, --seed, --help), the output folder and number formatting. Their tables and timers are
// the library's (hopfield/report/text_table.h). Header-only so each experiment stays one hf_program source.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_checks.h"
#include "hopfield/report/plot.h"
#include "hopfield/report/text_table.h"

namespace hf::experiment {

struct Common {
  std::string out;           // output folder
  std::uint64_t seed = 0;

  // Adds --out (default ./out/<name>) and --seed to app.
  void add_to(CLI::App& app, const std::string& name, std::uint64_t default_seed) {
    out = "out/" + name;
    seed = default_seed;
    app.add_option("--out", out, "folder for the CSV tables and pictures")->capture_default_str();
    app.add_option("--seed", seed, "random seed (patterns, queries, noise)")->capture_default_str();
  }
  std::string path(const std::string& file) const { return (std::filesystem::path(out) / file).string(); }
  void prepare() const { std::filesystem::create_directories(out); }
};

// Short number text for labels ("0.3", "1e+02").
inline std::string fmt(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Log-spaced grid of n values from lo to hi inclusive.
inline std::vector<double> logspace(double lo, double hi, std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = lo * std::pow(hi / lo, n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1));
  return v;
}

}  // namespace hf::experiment
