// Central-difference gradient checker (see gradcheck.h).
#include "hopfield/engine/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"

namespace hf {

namespace {
double loss_value(const Tensor& out, const Tensor& dout) {
  const double* o = out.data<double>();
  const double* d = dout.data<double>();
  double s = 0.0;
  for (std::size_t i = 0, n = out.numel(); i < n; ++i) s += o[i] * d[i];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  // Fresh leaves, so the caller's tensors keep no gradient from the check.
  std::vector<Tensor> xs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    HF_CHECK(in.defined(), "gradcheck", "input " << i << " is undefined");
    if (!is_floating(in.dtype())) {
      xs.push_back(in);
      continue;
    }
    HF_CHECK(in.dtype() == Dtype::Float64, "gradcheck", "input " << i << " is " << dtype_name(in.dtype())
                                                                 << "; gradient checks run in float64");
    Tensor leaf = in.detach().clone();
    leaf = leaf.detach();
    if (in.requires_grad()) leaf.requires_grad_(true);
    xs.push_back(leaf);
  }
  Tensor out = f(xs);
  HF_CHECK(out.dtype() == Dtype::Float64, "gradcheck", "f returned " << dtype_name(out.dtype()));
  Generator gen(options.seed());
  Tensor dout = randn(out.shape(), Dtype::Float64, gen);
  out.backward(dout);

  GradcheckResult result;
  std::ostringstream report;
  report.precision(3);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    Tensor& x = xs[i];
    if (!is_floating(x.dtype()) || !x.requires_grad()) continue;
    Tensor g = x.grad();
    std::vector<double> analytic = g.defined() ? g.to_vector() : std::vector<double>(x.numel(), 0.0);
    // Which elements to perturb: all of them, or a seeded sample.
    std::vector<std::size_t> idx(x.numel());
    std::iota(idx.begin(), idx.end(), 0);
    if (idx.size() > options.max_elements()) {
      for (std::size_t j = 0; j < options.max_elements(); ++j)
        std::swap(idx[j], idx[j + gen.below(idx.size() - j)]);
      idx.resize(options.max_elements());
    }
    double* p = x.data<double>();
    double diff2 = 0.0, sum2 = 0.0;
    std::ostringstream worst;
    int shown = 0;
    for (std::size_t j : idx) {
      const double orig = p[j];
      double lp, lm;
      {
        NoGrad ng;
        p[j] = orig + options.eps();
        lp = loss_value(f(xs), dout);
        p[j] = orig - options.eps();
        lm = loss_value(f(xs), dout);
      }
      p[j] = orig;
      const double numeric = (lp - lm) / (2.0 * options.eps());
      const double d = analytic[j] - numeric;
      diff2 += d * d;
      sum2 += (analytic[j] + numeric) * (analytic[j] + numeric);
      if (std::abs(d) > options.tolerance() * std::max(std::abs(numeric), options.floor()) && shown < 3) {
        worst << " [" << j << "] analytic " << analytic[j] << " numeric " << numeric << ";";
        ++shown;
      }
    }
    const double err = std::sqrt(diff2) / std::max(std::sqrt(sum2), options.floor());
    const bool ok = err <= options.tolerance() && std::isfinite(err);
    result.ok = result.ok && ok;
    result.max_error = std::max(result.max_error, std::isfinite(err) ? err : INFINITY);
    report << "input " << i << " " << shape_str(x.shape()) << ": error " << err << (ok ? " ok" : " FAIL")
           << worst.str() << "\n";
  }
  result.report = report.str();
  return result;
}

}  // namespace hf
