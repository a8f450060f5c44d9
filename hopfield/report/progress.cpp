// Progress display (see report/progress.h).
#include "hopfield/report/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "hopfield/engine/check.h"

namespace hf {

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

}  // namespace hf
