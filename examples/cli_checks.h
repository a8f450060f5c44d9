// Command-line checks the example programs share. CLI::PositiveNumber would do, but its message on failure
// prints the whole double range ("Value 0 not in range 0.000000 to 1797...") instead of the rule.
#pragma once

#include <cmath>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

namespace hf::cli {

// A number strictly greater than zero (learning rates and other step sizes).
inline const CLI::Validator kPositive(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(s, v)) return "'" + s + "' is not a number";
      if (!(v > 0) || !std::isfinite(v)) return "must be a finite number greater than 0, got " + s;
      return {};
    },
    "POSITIVE");

// A finite number in [lo, hi]. CLI::Range lets "nan" through (every comparison with NaN is false), and an
// option such as --dropout nan then switched dropout off without a word.
inline CLI::Validator between(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(s, v)) return "'" + s + "' is not a number";
        if (!(v >= lo && v <= hi)) {
          std::ostringstream m;
          m << "must be a number in [" << lo << ", " << hi << "], got " << s;
          return m.str();
        }
        return {};
      },
      "FLOAT in [" + CLI::detail::to_string(lo) + " - " + CLI::detail::to_string(hi) + "]");
}

}  // namespace hf::cli
