// A printed results table that is also kept as CSV, and a wall-clock stopwatch: what the programs that
// measure something report with.
//
//   TextTable t("out/summary.csv", {"d", "N50", "seconds"});
//   t.print_header();
//   t.row({64, 9.4, 0.2}, {"%.0f", "%.1f", "%.2f"});   // printed with these formats, CSV with 10 digits
//   Stopwatch w;  ...  w.seconds();
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "hopfield/report/plot.h"

namespace hf {

// Fixed-width columns on stdout, numbers with a printf format per column; every row also goes to a CSV.
class TextTable {
 public:
  TextTable(const std::string& csv_path, std::vector<std::string> header, int width = 12);
  // The header line and a dashed rule under it.
  void print_header() const;
  // Prints and records one row; `fmt` gives a printf format per column ("%.3g" where missing or null); a
  // format may print text instead of the number (e.g. "binary"), the CSV keeps the number.
  void row(const std::vector<double>& values, const std::vector<const char*>& fmt = {});
  void close() { csv_.close(); }

 private:
  std::vector<std::string> header_;
  int width_;
  CsvWriter csv_;
};

// Seconds of wall-clock time since construction (steady clock).
class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace hf
