// Standardisation with training statistics (two-pass mean and variance: robust for z-scored and raw
// features alike).
#include "hopfield/datasets/standardize.h"

#include <cmath>

#include "hopfield/engine/check.h"

namespace hf {

void Standardizer::apply(double* row) const {
  for (std::size_t j = 0; j < mean.size(); ++j) row[j] = (row[j] - mean[j]) / scale[j];
}

void Standardizer::apply(std::vector<double>& data) const {
  const std::size_t d = mean.size();
  HF_CHECK(d > 0 && data.size() % d == 0, "Standardizer::apply",
           "buffer of " << data.size() << " values is not a whole number of rows of " << d);
  for (std::size_t i = 0; i < data.size(); i += d) apply(data.data() + i);
}

Standardizer fit_standardizer(const std::vector<double>& data, std::size_t d, const std::vector<std::size_t>& rows) {
  HF_CHECK(d > 0, "fit_standardizer", "no features");
  HF_CHECK(!rows.empty(), "fit_standardizer", "no training rows to fit on");
  const std::size_t n = data.size() / d;
  Standardizer s;
  s.mean.assign(d, 0.0);
  s.scale.assign(d, 0.0);
  for (std::size_t r : rows) {
    HF_CHECK(r < n, "fit_standardizer", "row " << r << " out of range for " << n << " rows");
    for (std::size_t j = 0; j < d; ++j) s.mean[j] += data[r * d + j];
  }
  for (double& m : s.mean) m /= static_cast<double>(rows.size());
  for (std::size_t r : rows)
    for (std::size_t j = 0; j < d; ++j) {
      double c = data[r * d + j] - s.mean[j];
      s.scale[j] += c * c;
    }
  for (double& v : s.scale) {
    v = std::sqrt(v / static_cast<double>(rows.size()));
    // A column that is constant on the training rows carries no information there; leave it centred.
    if (!(v > 1e-12)) v = 1.0;
  }
  return s;
}

}  // namespace hf
