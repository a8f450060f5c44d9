// Finite-difference gradient checking in float64.
//
// The loss is sum(f(inputs) * dout) with a random dout (never f(inputs).sum(): for softmax that
// gradient is identically zero and a wrong backward would pass). Analytic gradients come from one
// backward pass; numeric ones from central differences on up to max_elements entries of each input that
// requires grad. The error per input is ||g - g_num|| / max(||g + g_num||, floor) (mlpack's scale-free
// form; the floor keeps analytically-zero gradients from dividing noise by noise).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"

namespace hf {

struct GradcheckOptions {
  HF_ARG(double, eps) = 1e-6;
  HF_ARG(double, tolerance) = 1e-6;
  HF_ARG(double, floor) = 1e-3;
  HF_ARG(std::size_t, max_elements) = 48;
  HF_ARG(std::uint64_t, seed) = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_error = 0.0;  // worst relative error over the checked inputs
  std::string report;      // one line per input: index, shape, error, first mismatches
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Inputs must be float64; those with requires_grad() are checked (the others are held constant).
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = GradcheckOptions());

}  // namespace hf
