// Error reporting for ops and loaders: every failure is an exception whose message starts with the op
// (or file) name and says what was wrong, with shapes where they matter. Nothing aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace hf {

// Thrown for bad arguments: wrong shapes, bad axes, mixed dtypes, out-of-range options.
class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {
[[noreturn]] inline void throw_error(const char* where, const std::string& what) {
  throw Error(std::string(where) + ": " + what);
}
}  // namespace detail

}  // namespace hf

// HF_CHECK(cond, "matmul", "inner dimensions differ: " << shape_str(a) << " x " << shape_str(b));
#define HF_CHECK(cond, where, msg)                       \
  do {                                                   \
    if (!(cond)) {                                       \
      std::ostringstream hf_check_os_;                   \
      hf_check_os_ << msg;                               \
      ::hf::detail::throw_error(where, hf_check_os_.str()); \
    }                                                    \
  } while (0)

#define HF_FAIL(where, msg) HF_CHECK(false, where, msg)
