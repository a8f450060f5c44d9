// Helpers shared by the test files: locating ../shared material, comparing tensors.
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/random.h"
#include "hopfield/engine/tensor.h"

namespace hf::test {

// The folder named by env_var, else HF_SOURCE_DIR/../shared/<default_rel>.
// Set and missing (or empty): the test fails. Unset and the default absent (a user's fresh clone):
// a loud skip (returns nullopt). `what` names the material in messages.
inline std::optional<std::string> shared_dir(const char* env_var, const std::string& default_rel, const char* what) {
  namespace fs = std::filesystem;
  if (const char* v = std::getenv(env_var); v && *v) {
    bool ok = fs::is_directory(v) && !fs::is_empty(v);
    if (!ok) FAIL((std::string(env_var) + "=" + v + " is set but the folder is missing or empty (" + what + ")"));
    return std::string(v);
  }
  fs::path def = fs::path(HF_SOURCE_DIR) / ".." / "shared" / default_rel;
  if (!fs::is_directory(def)) {
    std::cerr << "\n*** SKIPPED: " << what << " not found (" << def.string() << " is absent and " << env_var
              << " is unset). Set " << env_var << " to run these checks. ***\n\n";
    MESSAGE((std::string("SKIPPED: ") + what + " (set " + env_var + ")"));
    return std::nullopt;
  }
  return fs::canonical(def).string();
}

// max|a - b| <= tol * max(1, max|b|), the reference README's rule. Returns the scaled error.
inline double scaled_error(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector(), vb = b.to_vector();
  double num = 0, den = 1;
  for (std::size_t i = 0; i < va.size(); ++i) {
    num = std::max(num, std::abs(va[i] - vb[i]));
    den = std::max(den, std::abs(vb[i]));
  }
  return (va.size() == vb.size() && a.shape() == b.shape()) ? num / den : INFINITY;
}

// Float64 test inputs from a seed: N(0, 1), or uniform on [lo, hi) (away from zero for divisions and
// fractional powers); requires_grad unless grad is false.
inline Tensor rnd(const Shape& shape, std::uint64_t seed, bool grad = true) {
  Generator gen(seed);
  Tensor t = randn(shape, Dtype::Float64, gen);
  if (grad) t.requires_grad_();
  return t;
}
inline Tensor uni(const Shape& shape, double lo, double hi, std::uint64_t seed, bool grad = true) {
  Generator gen(seed);
  Tensor t = uniform(shape, lo, hi, Dtype::Float64, gen);
  if (grad) t.requires_grad_();
  return t;
}

// A float64 gradcheck that reports every input's error on failure.
inline void expect_gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                             const GradcheckOptions& options = GradcheckOptions()) {
  auto r = gradcheck(f, inputs, options);
  INFO(r.report);
  CHECK(r.ok);
}

}  // namespace hf::test
