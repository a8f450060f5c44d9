// Training-loop helpers (see optim/training.h).
#include "hopfield/optim/training.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include "hopfield/engine/kernel.h"
#include "hopfield/layers/module.h"

namespace hf {

// ---------------------------------------------------------------------------------------------- EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : o_(std::move(options)) {
  HF_CHECK(o_.mode() == "min" || o_.mode() == "max", "EarlyStopping", "invalid mode '" << o_.mode() << "' (min or max)");
  HF_CHECK(o_.patience() >= 1, "EarlyStopping", "invalid patience " << o_.patience() << " (must be >= 1)");
  HF_CHECK(o_.min_delta() >= 0, "EarlyStopping", "invalid min_delta " << o_.min_delta() << " (must be >= 0)");
  best_ = o_.mode() == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool EarlyStopping::step(double metric, const Module& module) {
  const bool better = o_.mode() == "min" ? metric < best_ - o_.min_delta() : metric > best_ + o_.min_delta();
  if (better) {  // false for NaN
    best_ = metric;
    best_epoch_ = epoch_;
    bad_ = 0;
    best_state_.clear();
    // Deep copies: the optimizer keeps updating the module's own tensors in place.
    for (const auto& [k, t] : module.state_dict()) best_state_[k] = t.detach().clone();
  } else {
    ++bad_;
  }
  ++epoch_;
  return should_stop();
}

void EarlyStopping::restore_best(Module& module) const {
  HF_CHECK(best_epoch_ >= 0, "EarlyStopping.restore_best", "no epoch improved on the initial value; nothing to restore");
  module.load_state_dict(best_state_);
}

// ---------------------------------------------------------------------------------------------- non-finite guard

namespace {
std::size_t count_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return 0;
  return detail::dispatch_float(t.dtype(), "check_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    std::size_t bad = 0;
    for (std::size_t i = 0, n = t.numel(); i < n; ++i) bad += !std::isfinite(p[i]);
    return bad;
  });
}
}  // namespace

void check_finite(const Tensor& loss, std::int64_t step) {
  HF_CHECK(loss.defined(), "check_finite", "step " << step << ": the loss is undefined");
  if (std::size_t bad = count_non_finite(loss)) {
    std::ostringstream os;
    os << "check_finite: step " << step << ": loss is ";
    if (loss.numel() == 1) os << loss.item();
    else os << "non-finite in " << bad << " of " << loss.numel() << " elements";
    os << " (set_anomaly_detection(true) names the op that produced it)";
    throw NonFiniteError(os.str());
  }
}

void check_finite_grads(const Module& module, std::int64_t step) {
  for (const auto& [name, p] : module.named_parameters())
    if (std::size_t bad = count_non_finite(p.grad()))
      throw NonFiniteError("check_finite_grads: step " + std::to_string(step) + ": gradient of '" + name + "' has " +
                           std::to_string(bad) + " NaN/Inf of " + std::to_string(p.numel()) + " elements");
}

void check_finite_grads(const std::vector<Tensor>& params, std::int64_t step) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (std::size_t bad = count_non_finite(params[i].grad()))
      throw NonFiniteError("check_finite_grads: step " + std::to_string(step) + ": gradient of parameter " +
                           std::to_string(i) + " has " + std::to_string(bad) + " NaN/Inf of " +
                           std::to_string(params[i].numel()) + " elements");
}

// ---------------------------------------------------------------------------------------------- Progress

Progress::Progress(std::int64_t total, std::string label, ProgressOptions options)
    : Progress(total, std::move(label), std::cerr, std::move(options)) {}

Progress::Progress(std::int64_t total, std::string label, std::ostream& out, ProgressOptions options)
    : out_(out), total_(total), label_(std::move(label)), o_(std::move(options)) {
  HF_CHECK(total >= 0, "Progress", "invalid total " << total);
  HF_CHECK(o_.mode() == "auto" || o_.mode() == "bar" || o_.mode() == "lines", "Progress",
           "invalid mode '" << o_.mode() << "' (auto, bar or lines)");
  // Only a real terminal on stderr gets carriage-return redraws; redirected output gets lines.
  bar_ = o_.mode() == "bar" || (o_.mode() == "auto" && &out == &std::cerr && ::isatty(STDERR_FILENO));
  start_ = last_print_ = std::chrono::steady_clock::now();
  uncaught_ = std::uncaught_exceptions();
}

Progress::~Progress() {
  try {
    if (std::uncaught_exceptions() > uncaught_) {  // unwinding: see the header
      if (bar_ && drawn_ && !finished_) out_ << "\n" << std::flush;
      return;
    }
    finish();
  } catch (...) {  // a destructor must not throw (stream errors while unwinding)
  }
}

std::string Progress::format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(std::llround(s));
  char buf[32];
  if (total >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", total / 60, total % 60);
  return buf;
}

void Progress::update(std::int64_t n, const std::string& info) {
  done_ += n;
  if (!info.empty()) info_ = info;
  const auto now = std::chrono::steady_clock::now();
  if (bar_) {
    render(false);
  } else if (std::chrono::duration<double>(now - last_print_).count() >= o_.interval() && done_ < total_) {
    last_print_ = now;
    render(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  render(true);
}

void Progress::render(bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : INFINITY;
  std::ostringstream os;
  os << label_ << " ";
  if (bar_) {
    const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 1.0;
    const int fill = static_cast<int>(frac * o_.width());
    os << "[" << std::string(static_cast<std::size_t>(fill), '#') << std::string(static_cast<std::size_t>(o_.width() - fill), '.')
       << "] ";
  }
  os << done_ << "/" << total_ << " " << std::fixed << std::setprecision(1) << rate << " it/s";
  os << (final_line ? " elapsed " + format_duration(elapsed) : " eta " + format_duration(eta));
  if (!info_.empty()) os << " " << info_;
  if (bar_) out_ << "\r" << os.str() << "\033[K" << (final_line ? "\n" : "") << std::flush;
  else out_ << os.str() << "\n" << std::flush;
  drawn_ = true;
}

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
