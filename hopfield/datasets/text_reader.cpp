// Line cursor, number parsing and error messages shared by every data loader.
#include "hopfield/datasets/text_reader.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace hf {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file for reading");
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) throw DataError(path + ": read error");
  return os.str();
}

std::string data_location(const std::string& name, std::size_t line, std::size_t column,
                          std::string_view column_name) {
  std::string s = name;
  if (line > 0) s += ": line " + std::to_string(line);
  if (column > 0) {
    s += ", column " + std::to_string(column);
    if (!column_name.empty()) s += " (" + std::string(column_name) + ")";
  }
  return s;
}

std::string quote_token(std::string_view token) {
  std::string s = "'";
  std::size_t n = 0;
  for (char c : token) {
    if (++n > 40) {
      s += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 32 || u >= 127) {
      static const char* hex = "0123456789abcdef";
      s += "\\x";
      s += hex[u >> 4];
      s += hex[u & 15];
    } else {
      s += c;
    }
  }
  return s + "'";
}

static std::string_view trim(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

bool parse_double(std::string_view token, double& out, bool finite_only) {
  token = trim(token);
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  double v = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), v, std::chars_format::general);
  if (ec != std::errc() || p != token.data() + token.size()) return false;
  if (finite_only && !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_int64(std::string_view token, std::int64_t& out) {
  token = trim(token);
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || p != token.data() + token.size()) return false;
  out = v;
  return true;
}

char detect_separator(std::string_view header, char fallback) {
  for (char c : {'\t', ';', ','})
    if (header.find(c) != std::string_view::npos) return c;
  return fallback;
}

TextReader::TextReader(std::string_view text, std::string name, std::size_t first_line)
    : text_(text), name_(std::move(name)), line_no_(first_line - 1) {
  // A UTF-8 byte order mark would otherwise become part of the first header name.
  if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool TextReader::next_line() {
  if (pos_ >= text_.size()) return false;
  std::size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  line_ = text_.substr(pos_, end - pos_);
  if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
  pos_ = end + 1;
  ++line_no_;
  fields_.clear();
  return true;
}

const std::vector<std::string_view>& TextReader::split(char sep) {
  fields_.clear();
  std::size_t start = 0;
  while (true) {
    std::size_t p = line_.find(sep, start);
    if (p == std::string_view::npos) {
      fields_.push_back(line_.substr(start));
      break;
    }
    fields_.push_back(line_.substr(start, p - start));
    start = p + 1;
  }
  return fields_;
}

void TextReader::fail(const std::string& what) const { throw DataError(data_location(name_, line_no_) + ": " + what); }

void TextReader::fail_at(std::size_t field, std::string_view column_name, const std::string& what) const {
  throw DataError(data_location(name_, line_no_, field + 1, column_name) + ": " + what);
}

double TextReader::number(std::size_t i, std::string_view column_name) const {
  double v = 0;
  if (i >= fields_.size()) fail("expected at least " + std::to_string(i + 1) + " fields, got " + std::to_string(fields_.size()));
  if (!parse_double(fields_[i], v)) {
    double any = 0;
    bool non_finite = parse_double(fields_[i], any, false);
    fail_at(i, column_name,
            std::string(non_finite ? "expected a finite number (NaN/Inf not allowed)" : "expected a number") + ", got " +
                quote_token(fields_[i]));
  }
  return v;
}

std::int64_t TextReader::integer(std::size_t i, std::string_view column_name) const {
  std::int64_t v = 0;
  if (i >= fields_.size()) fail("expected at least " + std::to_string(i + 1) + " fields, got " + std::to_string(fields_.size()));
  if (!parse_int64(fields_[i], v)) fail_at(i, column_name, "expected an integer, got " + quote_token(fields_[i]));
  return v;
}

void TextReader::expect_fields(std::size_t n, std::string_view what) const {
  if (fields_.size() != n)
    fail("ragged row: expected " + std::to_string(n) + " " + std::string(what) + ", got " +
         std::to_string(fields_.size()));
}

}  // namespace hf
