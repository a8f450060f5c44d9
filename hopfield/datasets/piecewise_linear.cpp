// Piecewise-linear feature encoding: fitting the edges (quantiles of the training rows) and applying it.
#include "hopfield/datasets/piecewise_linear.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/check.h"

namespace hf {

std::size_t PiecewiseLinearEncoder::output_dim() const {
  std::size_t D = edges.size();
  for (const auto& e : edges) D += e.size() - 1;
  return D;
}

std::vector<double> PiecewiseLinearEncoder::apply(const std::vector<double>& data) const {
  const std::size_t d = input_dim(), D = output_dim();
  HF_CHECK(d > 0 && data.size() % d == 0, "PiecewiseLinearEncoder::apply",
           "buffer of " << data.size() << " values is not a whole number of rows of " << d << " features");
  const std::size_t n = data.size() / d;
  std::vector<double> out(n * D);
  for (std::size_t i = 0; i < n; ++i) {
    const double* x = data.data() + i * d;
    double* o = out.data() + i * D;
    std::copy(x, x + d, o);
    std::size_t k = d;
    for (std::size_t j = 0; j < d; ++j) {
      HF_CHECK(std::isfinite(x[j]), "PiecewiseLinearEncoder::apply", "row " << i << " feature " << j << " is " << x[j]);
      const std::vector<double>& b = edges[j];
      for (std::size_t t = 1; t < b.size(); ++t) o[k++] = std::clamp((x[j] - b[t - 1]) / (b[t] - b[t - 1]), 0.0, 1.0);
    }
  }
  return out;
}

PiecewiseLinearEncoder fit_piecewise_linear(const std::vector<double>& data, std::size_t d,
                                            const std::vector<std::size_t>& rows, std::size_t bins) {
  HF_CHECK(bins > 0, "fit_piecewise_linear", "bins must be at least 1, got 0");
  HF_CHECK(d > 0 && data.size() % d == 0, "fit_piecewise_linear",
           "buffer of " << data.size() << " values is not a whole number of rows of " << d << " features");
  HF_CHECK(!rows.empty(), "fit_piecewise_linear", "no training rows to fit on");
  const std::size_t n = data.size() / d;
  PiecewiseLinearEncoder enc;
  enc.edges.resize(d);
  std::vector<double> v(rows.size());
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      HF_CHECK(rows[i] < n, "fit_piecewise_linear", "row " << rows[i] << " out of range for " << n << " rows");
      v[i] = data[rows[i] * d + j];
      HF_CHECK(std::isfinite(v[i]), "fit_piecewise_linear", "row " << rows[i] << " feature " << j << " is " << v[i]);
    }
    std::sort(v.begin(), v.end());
    std::vector<double> distinct(v.begin(), std::unique(v.begin(), v.end()));
    std::vector<double>& e = enc.edges[j];
    if (distinct.size() <= bins + 1) {
      e = distinct;  // few values (a coded category): one edge per value, a thermometer code
    } else {
      // Quantile edges at t / bins (nearest rank), repeated values merged, so a bin never has zero width.
      for (std::size_t t = 0; t <= bins; ++t) {
        const double q = v[static_cast<std::size_t>(std::llround(static_cast<double>(t) * static_cast<double>(v.size() - 1) /
                                                                 static_cast<double>(bins)))];
        if (e.empty() || q > e.back()) e.push_back(q);
      }
    }
  }
  return enc;
}

}  // namespace hf
