// A progress display for long loops: a bar with rate and ETA on a terminal, plain lines in logs.
//
//   Progress bar(num_batches, "epoch 3");
//   for (batch ...) { ...; bar.update(1, "loss 0.123"); }
//   bar.finish();  // or let the destructor print the final line
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "hopfield/engine/arg.h"

namespace hf {

// A bar with rate and ETA, redrawn in place, when writing to a terminal; otherwise plain lines at most
// every `interval` seconds (and at the end) so CI logs stay readable.
struct ProgressOptions {
  ProgressOptions() = default;
  HF_ARG(std::string, mode) = "auto";  // "auto" (bar if stderr is a terminal), "bar" or "lines"
  HF_ARG(double, interval) = 10.0;     // seconds between plain lines
  HF_ARG(int, width) = 30;             // bar characters
};

class Progress {
 public:
  Progress(std::int64_t total, std::string label, ProgressOptions options = {});
  Progress(std::int64_t total, std::string label, std::ostream& out, ProgressOptions options = {});
  // Prints the final line unless it was printed already, or unless the scope is being left by an exception:
  // then a failed run does not report itself as finished and an error message stays the only line (a bar
  // only gets its line ended).
  ~Progress();
  // Advances by n items; `info` (e.g. "loss 0.123") is shown after the counters.
  void update(std::int64_t n = 1, const std::string& info = "");
  void finish();  // prints the final state once (also done by the destructor)
  bool is_bar() const { return bar_; }
  // "12.3 it/s" and "1:05" style helpers, exposed for tests.
  static std::string format_duration(double seconds);

 private:
  void render(bool final_line);
  std::ostream& out_;
  std::int64_t total_, done_ = 0;
  std::string label_, info_;
  ProgressOptions o_;
  bool bar_, finished_ = false, drawn_ = false;
  int uncaught_ = 0;  // std::uncaught_exceptions() at construction: more at destruction means unwinding
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace hf
