// Line-oriented reading of delimited text files (CSV, TSV, the UCI .dat files, DeepRC repertoires), with the
// file name and line number always at hand so that every complaint can say where it happened.
//
// Every parser in datasets/ takes an in-memory buffer (std::string_view) plus a name used in messages; the
// file-based loaders read the file with read_text_file() and hand it over. That keeps the parsers testable
// and fuzzable without touching the disk.
//
// Messages look like   "elephant.csv: line 12, column 5 (f3): expected a finite number, got 'abc'"
// (column = 1-based field index; omitted when the problem concerns the whole line or file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hopfield/engine/check.h"

namespace hf {

// Thrown for malformed or inconsistent data files. Derives from hf::Error so callers that catch the
// library's errors catch these too.
class DataError : public Error {
 public:
  using Error::Error;
};

// Whole file as a string; throws DataError naming the path if it cannot be opened or read.
std::string read_text_file(const std::string& path);

// "name: line N, column C (header): what" with the optional parts left out when 0 / empty.
std::string data_location(const std::string& name, std::size_t line, std::size_t column = 0,
                          std::string_view column_name = {});

// Parses a token as a finite double (strtod syntax incl. exponents, surrounding blanks ignored).
// Returns false for anything else, including NaN and Inf. `finite_only=false` accepts nan/inf.
bool parse_double(std::string_view token, double& out, bool finite_only = true);
bool parse_int64(std::string_view token, std::int64_t& out);

// Picks the separator of a header line: tab, then semicolon, then comma (the first one present);
// a line with none of them is a single column and gets `fallback`.
char detect_separator(std::string_view header, char fallback = ',');

// A cursor over the lines of a buffer. Handles \n and \r\n line ends and a missing final newline.
class TextReader {
 public:
  // `first_line` numbers the first line of `text` (for buffers cut out of a larger file).
  TextReader(std::string_view text, std::string name, std::size_t first_line = 1);

  // Advances to the next line; false at the end. Blank lines are returned as empty lines (callers decide).
  bool next_line();
  std::string_view line() const { return line_; }
  std::size_t line_no() const { return line_no_; }
  const std::string& name() const { return name_; }
  bool at_end() const { return pos_ >= text_.size(); }

  // Splits the current line at `sep`; the views point into the buffer. A quoted field ("a,b") is not
  // special: none of the supported formats quote, and a quote in a numeric field fails as a non-number.
  const std::vector<std::string_view>& split(char sep);
  const std::vector<std::string_view>& fields() const { return fields_; }

  // Field i (0-based) of the last split() as a finite number / integer, else DataError naming line,
  // column (i + 1) and `column_name` if given.
  double number(std::size_t i, std::string_view column_name = {}) const;
  std::int64_t integer(std::size_t i, std::string_view column_name = {}) const;

  // Requires the last split() to have exactly n fields ("expected n fields, got m").
  void expect_fields(std::size_t n, std::string_view what = "fields") const;

  [[noreturn]] void fail(const std::string& what) const;  // at the current line
  [[noreturn]] void fail_at(std::size_t field, std::string_view column_name, const std::string& what) const;

 private:
  std::string_view text_;
  std::string name_;
  std::size_t pos_ = 0;
  std::size_t line_no_ = 0;
  std::string_view line_;
  std::vector<std::string_view> fields_;
};

// A short printable excerpt of a token for messages (at most 40 chars, control bytes escaped).
std::string quote_token(std::string_view token);

}  // namespace hf
