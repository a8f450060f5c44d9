// Shared scaffolding of the Hopfield-internals experiments (examples/hopfield_*.cpp): the common
// command line (--out, --seed, --help), the output folder, an aligned text table that is also kept as
// CSV, and a wall-clock timer. Header-only so each experiment stays one hf_program source.
#pragma once

#include <chrono>
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

namespace hf::experiment {

// An error while running: one line on stderr and exit code 1 (library errors already name the op).
inline int fail(const std::string& name, const std::exception& e) {
  std::cerr << name << ": " << e.what() << "\n";
  return 1;
}

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

// A printed table: fixed-width columns, numbers with a given precision; every row also goes to a CSV.
class Table {
 public:
  Table(const std::string& csv_path, std::vector<std::string> header, int width = 12)
      : header_(std::move(header)), width_(width), csv_(csv_path, header_) {}

  void print_header() const {
    for (const auto& h : header_) std::printf("%*s", width_, h.c_str());
    std::printf("\n");
    for (std::size_t i = 0; i < header_.size(); ++i) std::printf("%*s", width_, "----------");
    std::printf("\n");
  }
  // Prints and records one row; `fmt` gives a printf format per column ("%.3g" if empty).
  void row(const std::vector<double>& values, const std::vector<const char*>& fmt = {}) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      char cell[64];
      std::snprintf(cell, sizeof cell, i < fmt.size() && fmt[i] ? fmt[i] : "%.3g", values[i]);
      std::printf("%*s", width_, cell);
    }
    std::printf("\n");
    csv_.row(values);
  }
  void close() { csv_.close(); }

 private:
  std::vector<std::string> header_;
  int width_;
  CsvWriter csv_;
};

class Timer {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
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
