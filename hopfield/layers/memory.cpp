// AssociativeMemory (see memory.h), composed from engine ops so that the tape differentiates it:
//   logits = beta * xi Y^T   (B, N)   one gemm with Y transposed by flag (matmul_nt)
//   weights = softmax(logits, -1)      (B, N)
//   update  = weights Y                (B, d)
//   energy  = -logsumexp(logits)/beta + 1/2 |xi|^2 + log(N)/beta + 1/2 M^2      (B)
// Legend: N stored patterns, d pattern size, B queries.
#include "hopfield/layers/memory.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hopfield/engine/association_streaming.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"

namespace hf {

AssociativeMemory::AssociativeMemory(Tensor patterns, MemoryOptions options)
    : patterns_(std::move(patterns)), options_(options) {
  HF_CHECK(patterns_.defined() && patterns_.dim() == 2 && is_floating(patterns_.dtype()), "AssociativeMemory",
           "patterns must be a 2-D float tensor (N, d), got "
               << (patterns_.defined() ? shape_str(patterns_.shape()) + " " + dtype_name(patterns_.dtype())
                                       : std::string("undefined")));
  HF_CHECK(patterns_.size(0) > 0 && patterns_.size(1) > 0, "AssociativeMemory",
           "patterns " << shape_str(patterns_.shape()) << " are empty");
  HF_CHECK(std::isfinite(options_.beta()) && options_.beta() > 0, "AssociativeMemory",
           "Invalid beta: " << options_.beta() << " (must be finite and > 0)");
}

Tensor AssociativeMemory::as_batch(const Tensor& xi, const char* op) const {
  HF_CHECK(xi.defined() && (xi.dim() == 1 || xi.dim() == 2), op,
           "query must be (d) or (B, d), got " << (xi.defined() ? shape_str(xi.shape()) : "undefined"));
  HF_CHECK(xi.dtype() == patterns_.dtype(), op,
           "query dtype " << dtype_name(xi.dtype()) << " differs from the patterns' " << dtype_name(patterns_.dtype()));
  HF_CHECK(xi.size(-1) == dim(), op,
           "query " << shape_str(xi.shape()) << " does not match patterns " << shape_str(patterns_.shape())
                    << ": pattern size d differs");
  return xi.dim() == 1 ? unsqueeze(xi, 0) : xi;
}

Tensor AssociativeMemory::logits(const Tensor& xi2) const { return mul(matmul_nt(xi2, patterns_), beta()); }

Tensor AssociativeMemory::max_norm_sq() const { return max(sum(mul(patterns_, patterns_), {-1})); }

Tensor AssociativeMemory::energy_from(const Tensor& lg, const Tensor& xi2) const {
  const double b = beta();
  Tensor lse = logsumexp(lg, {-1});                 // (B)
  Tensor half_sq = mul(sum(mul(xi2, xi2), {-1}), 0.5);  // (B)
  Tensor consts = add(mul(max_norm_sq(), 0.5), std::log(static_cast<double>(size())) / b);  // ()
  return add(sub(half_sq, mul(lse, 1.0 / b)), consts);
}

Tensor AssociativeMemory::energy(const Tensor& xi) const {
  Tensor xi2 = as_batch(xi, "AssociativeMemory::energy");
  Tensor e = energy_from(logits(xi2), xi2);
  return xi.dim() == 1 ? squeeze(e, 0) : e;
}

Tensor AssociativeMemory::association(const Tensor& xi) const {
  Tensor xi2 = as_batch(xi, "AssociativeMemory::association");
  Tensor w = softmax(logits(xi2), -1);
  return xi.dim() == 1 ? squeeze(w, 0) : w;
}

Tensor AssociativeMemory::update(const Tensor& xi) const {
  Tensor xi2 = as_batch(xi, "AssociativeMemory::update");
  const bool stream = options_.streaming().value_or(
      association_matrix_bytes(1, 1, xi2.size(0), size(), false, xi2.dtype()) > default_association_memory_budget());
  // Streaming: one head, the patterns as keys and values, (1, B, d) -> (1, B, d); equal to the dense form.
  Tensor out = stream ? squeeze(association_streaming(unsqueeze(xi2, 0), unsqueeze(patterns_, 0), unsqueeze(patterns_, 0), 1,
                                                      beta()),
                                0)
                      : matmul(softmax(logits(xi2), -1), patterns_);
  return xi.dim() == 1 ? squeeze(out, 0) : out;
}

namespace {
// max |a - b| and max |b| over all entries (the stopping statistic; no gradient).
std::pair<double, double> change_and_scale(const Tensor& prev, const Tensor& next) {
  std::vector<double> a = prev.to_vector(), b = next.to_vector();
  double change = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    change = std::max(change, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(a[i]));
  }
  // NaN would compare false everywhere and look converged; make it "not converged" instead.
  for (double v : b)
    if (!std::isfinite(v)) return {std::numeric_limits<double>::infinity(), scale};
  return {change, scale};
}
}  // namespace

Trajectory AssociativeMemory::retrieve(const Tensor& xi, const RetrieveOptions& options) const {
  const char* op = "AssociativeMemory::retrieve";
  HF_CHECK(std::isfinite(options.tol()) && options.tol() >= 0, op, "Invalid tol: " << options.tol());
  Tensor state = as_batch(xi, op);  // (B, d)
  const bool single = xi.dim() == 1;
  auto unbatch = [single](const Tensor& t) { return single ? squeeze(t, 0) : t; };
  Trajectory tr;
  Tensor lg = logits(state);  // (B, N)
  for (std::size_t t = 0;; ++t) {
    // The logits of state t give both its energy and the association that moves it.
    Tensor w = softmax(lg, -1);  // (B, N)
    tr.states.push_back(unbatch(state));
    tr.energies.push_back(unbatch(energy_from(lg, state)));
    tr.weights.push_back(unbatch(w));
    if (tr.converged || t == options.max_steps()) break;
    Tensor next = matmul(w, patterns_);  // (B, d)
    auto [change, scale] = change_and_scale(state, next);
    tr.converged = change <= options.tol() * std::max(1.0, scale);
    state = next;
    lg = logits(state);
    tr.steps = t + 1;
  }
  return tr;
}

Tensor AssociativeMemory::separation() const {
  NoGrad no_grad;
  Tensor y = patterns_.detach().to(Dtype::Float64);
  Tensor gram = matmul_nt(y, y);  // (N, N)
  const std::size_t n = size();
  std::vector<double> g = gram.to_vector(), out(n);
  for (std::size_t i = 0; i < n; ++i) {
    double other = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) other = std::max(other, g[i * n + j]);
    out[i] = g[i * n + i] - other;
  }
  return from_vector(out, {n}, patterns_.dtype());
}

}  // namespace hf
