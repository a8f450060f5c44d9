// Feature standardisation x' = (x - mean) / sd with statistics fitted on chosen (training) rows only, so
// that nothing about validation or test rows leaks into the transform.
//
// Legend: n rows, d features; data are (n, d) row-major doubles.
#pragma once

#include <cstddef>
#include <vector>

namespace hf {

struct Standardizer {
  std::vector<double> mean;   // d
  std::vector<double> scale;  // d, population sd (ddof = 0, as sklearn's StandardScaler); 1 for constant columns

  std::size_t size() const { return mean.size(); }
  void apply(double* row) const;                     // one row of d values, in place
  void apply(std::vector<double>& data) const;       // every row of an (n, d) buffer, in place
  double transform(std::size_t j, double x) const { return (x - mean[j]) / scale[j]; }
};

// Fits on the listed rows of an (n, d) buffer. Throws hf::Error if `rows` is empty or out of range.
Standardizer fit_standardizer(const std::vector<double>& data, std::size_t d, const std::vector<std::size_t>& rows);

}  // namespace hf
