// CSV metrics log (see report/csv_log.h).
#include "hopfield/report/csv_log.h"

#include <iomanip>
#include <sstream>

#include "hopfield/engine/check.h"

namespace hf {

// ---------------------------------------------------------------------------------------------- CsvLogger

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
  return s;
}
}  // namespace

CsvLogger::CsvLogger(const std::string& path, std::vector<std::string> columns, bool append)
    : path_(path), columns_(std::move(columns)) {
  const std::string where = "CsvLogger " + path;
  HF_CHECK(!columns_.empty(), where.c_str(), "no columns");
  for (const auto& c : columns_)
    HF_CHECK(!c.empty() && c.find_first_of(",\"\n") == std::string::npos, where.c_str(),
             "column name '" << c << "' is empty or holds a comma, quote or newline");
  bool keep = false;
  if (append) {
    std::ifstream in(path);
    std::string header;
    if (in && std::getline(in, header)) {
      HF_CHECK(header == join(columns_), where.c_str(),
               "cannot append: the existing header '" << header << "' differs from '" << join(columns_) << "'");
      keep = true;
    }
  }
  out_.open(path, keep ? std::ios::app : std::ios::trunc);
  HF_CHECK(out_.good(), where.c_str(), "cannot open the file for writing");
  if (!keep) out_ << join(columns_) << "\n" << std::flush;
}

void CsvLogger::row(const std::vector<double>& values) {
  const std::string where = "CsvLogger " + path_;
  HF_CHECK(values.size() == columns_.size(), where.c_str(),
           values.size() << " values for " << columns_.size() << " columns (" << join(columns_) << ")");
  std::ostringstream os;
  os << std::setprecision(17);
  for (std::size_t i = 0; i < values.size(); ++i) os << (i ? "," : "") << values[i];
  out_ << os.str() << "\n" << std::flush;
  HF_CHECK(out_.good(), where.c_str(), "write failed");
}

void CsvLogger::row(const std::map<std::string, double>& values) {
  std::vector<double> v;
  for (const auto& c : columns_) {
    auto it = values.find(c);
    HF_CHECK(it != values.end(), ("CsvLogger " + path_).c_str(), "missing value for column '" << c << "'");
    v.push_back(it->second);
  }
  HF_CHECK(values.size() == columns_.size(), ("CsvLogger " + path_).c_str(),
           "values name " << values.size() << " columns, the log has " << columns_.size());
  row(v);
}

}  // namespace hf
