// The command line of every example program: one parse entry point with one error contract (a bad
// argument is one stderr line "<program>: <what>" and exit code 2), and the checks the programs share.
// CLI::PositiveNumber would do, but its message on failure prints the whole double range ("Value 0 not in
// range 0.000000 to 1797...") instead of the rule.
#pragma once

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

namespace hf::cli {

// Error text on one line: some messages (CLI11's, file parsers') carry line breaks.
inline std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

// Parses the command line: --help prints and gives exit code 0; a bad argument is one line on stderr,
// "<program>: <what>", and exit code 2. Returns -1 when the program should go on:
//   if (const int rc = cli::parse(app, argc, argv, "hopfield-mil"); rc >= 0) return rc;
inline int parse(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << program << ": " << one_line(e.what()) << "\n";
    return 2;
  }
  return -1;
}

// An error while running: one line on stderr, "<program>: <what>" (library errors that already start with the
// program's name are not prefixed twice), and exit code 1:
//   } catch (const std::exception& e) { return cli::fail("hopfield-mil", e); }
inline int fail(const std::string& program, const std::exception& e) {
  const std::string msg = e.what();
  std::cerr << (msg.rfind(program, 0) == 0 ? "" : program + ": ") << one_line(msg) << "\n";
  return 1;
}

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
