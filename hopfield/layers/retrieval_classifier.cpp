// RetrievalClassifier (see retrieval_classifier.h): extend, associate, read out the labels.
// Legend: N stored patterns, d pattern size, B queries, C classes.
#include "hopfield/layers/retrieval_classifier.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"

namespace hf {
namespace {

constexpr const char* kOp = "RetrievalClassifier";

void check_rows(const Tensor& t, const char* what) {
  HF_CHECK(t.defined() && t.dim() == 2 && t.dtype() == Dtype::Float64, kOp,
           what << " must be a 2-D float64 tensor, got "
                << (t.defined() ? shape_str(t.shape()) + " " + dtype_name(t.dtype()) : std::string("undefined")));
  const double* p = t.data<double>();
  for (std::size_t i = 0; i < t.numel(); ++i)
    HF_CHECK(std::isfinite(p[i]), kOp, what << " " << shape_str(t.shape()) << " holds a non-finite value at row "
                                            << i / t.size(1) << ", column " << i % t.size(1));
}

// R rows of d values from x -> (R, d + 1): each row followed by -||row||^2 / 2 (stored) or by 1 (query).
Tensor extend(const double* x, std::size_t R, std::size_t d, bool stored) {
  Tensor out = empty({R, d + 1}, Dtype::Float64);
  double* o = out.data<double>();
  for (std::size_t i = 0; i < R; ++i) {
    double sq = 0;
    for (std::size_t j = 0; j < d; ++j) sq += x[i * d + j] * x[i * d + j], o[i * (d + 1) + j] = x[i * d + j];
    o[i * (d + 1) + d] = stored ? -0.5 * sq : 1.0;
  }
  return out;
}

Tensor checked_patterns(const Tensor& patterns) {
  check_rows(patterns, "patterns");
  HF_CHECK(patterns.size(0) > 0 && patterns.size(1) > 0, kOp, "patterns " << shape_str(patterns.shape()) << " are empty");
  return extend(patterns.data<double>(), patterns.size(0), patterns.size(1), true);
}

}  // namespace

RetrievalClassifier::RetrievalClassifier(const Tensor& patterns, const std::vector<std::int64_t>& labels,
                                         std::size_t classes, RetrievalClassifierOptions options)
    : memory_(checked_patterns(patterns), MemoryOptions().beta(options.beta())), options_(options) {
  HF_CHECK(labels.size() == patterns.size(0), kOp,
           labels.size() << " labels for patterns " << shape_str(patterns.shape()) << " (one per row needed)");
  HF_CHECK(classes > 0, kOp, "classes must be > 0");
  HF_CHECK(options.chunk() > 0, kOp, "Invalid chunk: 0 (must be > 0)");
  onehot_ = zeros({labels.size(), classes}, Dtype::Float64);
  double* h = onehot_.data<double>();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    HF_CHECK(labels[i] >= 0 && static_cast<std::size_t>(labels[i]) < classes, kOp,
             "label " << labels[i] << " of pattern " << i << " is outside [0, " << classes << ")");
    h[i * classes + static_cast<std::size_t>(labels[i])] = 1;
  }
}

Tensor RetrievalClassifier::predict_proba(const Tensor& queries) const {
  check_rows(queries, "queries");
  HF_CHECK(queries.size(1) == dim(), kOp,
           "queries " << shape_str(queries.shape()) << " do not match the " << dim() << " features of the patterns");
  NoGrad ng;
  const std::size_t B = queries.size(0), d = dim(), C = classes();
  Tensor out = empty({B, C}, Dtype::Float64);
  for (std::size_t s = 0; s < B; s += options_.chunk()) {
    const std::size_t n = std::min(B - s, options_.chunk());
    // Only this chunk is extended: (n, d + 1) queries, (n, N) association weights at a time.
    const Tensor p = matmul(memory_.association(extend(queries.data<double>() + s * d, n, d, false)), onehot_);
    std::copy(p.data<double>(), p.data<double>() + n * C, out.data<double>() + s * C);
  }
  return out;
}

}  // namespace hf
