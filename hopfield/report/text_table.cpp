// Printed tables kept as CSV (see report/text_table.h).
#include "hopfield/report/text_table.h"

#include <cstdio>

#include "hopfield/engine/check.h"

namespace hf {

TextTable::TextTable(const std::string& csv_path, std::vector<std::string> header, int width)
    : header_(std::move(header)), width_(width), csv_(csv_path, header_) {
  HF_CHECK(width_ > 0 && width_ < 64, "TextTable", "column width must be in [1, 63], got " << width_);
}

void TextTable::print_header() const {
  for (const auto& h : header_) std::printf("%*s", width_, h.c_str());
  std::printf("\n");
  for (std::size_t i = 0; i < header_.size(); ++i) std::printf("%*s", width_, "----------");
  std::printf("\n");
}

void TextTable::row(const std::vector<double>& values, const std::vector<const char*>& fmt) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    char cell[64];
    std::snprintf(cell, sizeof cell, i < fmt.size() && fmt[i] ? fmt[i] : "%.3g", values[i]);
    std::printf("%*s", width_, cell);
  }
  std::printf("\n");
  csv_.row(values);
}

}  // namespace hf
