// ChunkedPooling: HopfieldPooling over stored patterns that arrive in chunks, e.g. a repertoire of 300,000
// sequences read from disk (issue 20): the output of pooling.forward(stored, projection) over all of them,
// holding one chunk at a time.
//
// For every head and pooling pattern (a softmax row) it keeps the online softmax of the streaming
// association (hopfield/engine/association_streaming.h): the running max m of the logits
// beta * q . k_s, the running sum of exp(logit - m) and the running sum of exp(logit - m) v_s, rescaled when
// m grows. Keys and values come from Hopfield::association_keys / association_values, which work row by
// row, so a chunk's operands are exactly those rows of the whole set's. Memory: the chunk's operands plus
// H * q * (pd + 2) doubles.
//
// Inference only (no tape): one repertoire / bag (batch 1), no masks. A single association step
// (update_steps_max = 0, the default): further steps would each need another pass over every chunk, so any
// other value throws, as does association dropout in training mode. The zero association
// (add_zero_association) is one extra logit 0 with a zero value, as in the dense path.
//
// Legend: S_c stored patterns of a chunk, Dk / Dv stored / projection sizes, H heads, q pooling patterns,
// pd pattern size per head, out output size.
#pragma once

#include <cstddef>
#include <vector>

#include "hopfield/engine/tensor.h"
#include "hopfield/layers/hopfield_pooling.h"

namespace hf {

class ChunkedPooling {
 public:
  // Throws for update_steps_max != 0 and for association dropout in training mode (naming the option).
  explicit ChunkedPooling(HopfieldPooling& pooling);

  // Adds stored (1, S_c, Dk) and projection (1, S_c, Dv) patterns (2-D (S_c, D) is read as batch 1).
  // Returns the chunk's logits beta * q . k before the softmax: (H * q) x S_c, row h * q + l.
  std::vector<double> add(const Tensor& stored, const Tensor& projection);

  std::size_t size() const { return count_; }  // stored patterns added so far
  std::size_t rows() const { return rows_; }   // softmax rows H * q
  // pooling.forward(all stored, all projections): (1, q * out), in the pooling's dtype. Throws when
  // nothing was added.
  Tensor output() const;
  // Per row (H * q) the log of the softmax normaliser: the attention of a pattern with logit z is
  // exp(z - log_normalizer[row]).
  std::vector<double> log_normalizers() const;

 private:
  HopfieldPooling* pooling_;
  std::size_t heads_, quantity_, rows_, head_dim_, pattern_dim_;
  double scaling_;
  std::vector<double> q_;                  // (H * q) x hd queries, row h * q + l
  std::vector<double> max_, sum_, value_;  // per row; value_ (H * q) x pd
  std::size_t count_ = 0;
};

}  // namespace hf
