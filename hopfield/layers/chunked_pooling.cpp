// ChunkedPooling (see chunked_pooling.h). H heads, q pooling patterns, hd / pd association / pattern size
// per head, S_c stored patterns of a chunk.
#include "hopfield/layers/chunked_pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"

namespace hf {

namespace {

// 2-D (S, D) inputs are one batch entry.
Tensor as_batch(const Tensor& t) { return t.defined() && t.dim() == 2 ? unsqueeze(t, 0) : t; }

}  // namespace

ChunkedPooling::ChunkedPooling(HopfieldPooling& pooling) : pooling_(&pooling) {
  const char* op = "ChunkedPooling";
  Hopfield& hop = *pooling.hopfield;
  const HopfieldOptions& o = hop.options();
  HF_CHECK(o.update_steps_max() && *o.update_steps_max() == 0, op,
           "update_steps_max=" << (o.update_steps_max() ? std::to_string(*o.update_steps_max()) : std::string("None"))
                               << " is not supported: each update step would need another pass over every chunk; "
                                  "use update_steps_max(0) (one association step, hflayers' default)");
  HF_CHECK(!(hop.is_training() && o.dropout() > 0), op,
           "dropout=" << o.dropout() << " (on the association matrix) is not supported in training mode: call eval()");
  heads_ = hop.num_heads();
  quantity_ = pooling.quantity();
  rows_ = heads_ * quantity_;
  head_dim_ = hop.head_dim();
  pattern_dim_ = hop.pattern_dim();
  scaling_ = hop.scaling();
  NoGrad ng;
  const std::vector<double> q = hop.association_queries(pooling.pooling_weights).to_vector();  // (1, q, H*hd)
  q_.resize(rows_ * head_dim_);
  for (std::size_t l = 0; l < quantity_; ++l)
    for (std::size_t h = 0; h < heads_; ++h)
      std::copy_n(q.begin() + static_cast<std::ptrdiff_t>((l * heads_ + h) * head_dim_), head_dim_,
                  q_.begin() + static_cast<std::ptrdiff_t>((h * quantity_ + l) * head_dim_));
  // The zero association is a logit 0 with a zero value: it starts every row's max and sum.
  const bool zero = o.add_zero_association();
  max_.assign(rows_, zero ? 0.0 : -std::numeric_limits<double>::infinity());
  sum_.assign(rows_, zero ? 1.0 : 0.0);
  value_.assign(rows_ * pattern_dim_, 0.0);
}

std::vector<double> ChunkedPooling::add(const Tensor& stored_in, const Tensor& projection_in) {
  const char* op = "ChunkedPooling";
  const Tensor stored = as_batch(stored_in), projection = as_batch(projection_in);
  HF_CHECK(stored.defined() && projection.defined() && stored.dim() == 3 && projection.dim() == 3 &&
               stored.size(0) == 1 && projection.size(0) == 1 && stored.size(1) == projection.size(1),
           op, "add: stored and projection must be (1, S_c, Dk) and (1, S_c, Dv) with the same S_c, got "
                   << (stored.defined() ? shape_str(stored.shape()) : "undefined") << " and "
                   << (projection.defined() ? shape_str(projection.shape()) : "undefined"));
  NoGrad ng;
  Hopfield& hop = *pooling_->hopfield;
  const std::size_t s = stored.size(1), hd = head_dim_, pd = pattern_dim_;
  const std::vector<double> k = hop.association_keys(stored).to_vector();        // (1, S_c, H*hd)
  const std::vector<double> v = hop.association_values(projection).to_vector();  // (1, S_c, H*pd)
  std::vector<double> logits(rows_ * s);
  for (std::size_t h = 0; h < heads_; ++h)
    for (std::size_t l = 0; l < quantity_; ++l) {
      const std::size_t row = h * quantity_ + l;
      const double* q = q_.data() + row * hd;
      double* z = logits.data() + row * s;
      double m = max_[row];
      for (std::size_t j = 0; j < s; ++j) {
        const double* kj = k.data() + j * heads_ * hd + h * hd;
        double dot = 0;
        for (std::size_t d = 0; d < hd; ++d) dot += q[d] * kj[d];
        z[j] = scaling_ * dot;
        m = std::max(m, z[j]);
      }
      // Online softmax: rescale what was summed under the old max, then add this chunk.
      double* o = value_.data() + row * pd;
      if (m > max_[row] && sum_[row] > 0) {
        const double r = std::exp(max_[row] - m);
        sum_[row] *= r;
        for (std::size_t d = 0; d < pd; ++d) o[d] *= r;
      }
      max_[row] = m;
      for (std::size_t j = 0; j < s; ++j) {
        const double p = std::exp(z[j] - m);
        sum_[row] += p;
        const double* vj = v.data() + j * heads_ * pd + h * pd;
        for (std::size_t d = 0; d < pd; ++d) o[d] += p * vj[d];
      }
    }
  count_ += s;
  return logits;
}

Tensor ChunkedPooling::output() const {
  HF_CHECK(count_ > 0, "ChunkedPooling", "output: no stored pattern was added");
  NoGrad ng;
  const std::size_t pd = pattern_dim_;
  std::vector<double> assoc(quantity_ * heads_ * pd);  // (1, q, H*pd)
  for (std::size_t h = 0; h < heads_; ++h)
    for (std::size_t l = 0; l < quantity_; ++l) {
      const std::size_t row = h * quantity_ + l;
      for (std::size_t d = 0; d < pd; ++d)
        assoc[(l * heads_ + h) * pd + d] = sum_[row] > 0 ? value_[row * pd + d] / sum_[row] : 0.0;
    }
  const Tensor a = from_vector(assoc, {1, quantity_, heads_ * pd}, pooling_->pooling_weights.dtype());
  return flatten(pooling_->hopfield->association_output(a), 1);  // (1, q * out), as HopfieldPooling
}

std::vector<double> ChunkedPooling::log_normalizers() const {
  std::vector<double> out(rows_);
  for (std::size_t r = 0; r < rows_; ++r) out[r] = max_[r] + std::log(sum_[r]);
  return out;
}

}  // namespace hf
