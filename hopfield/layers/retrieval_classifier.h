// RetrievalClassifier: the modern Hopfield network as a classifier with nothing to train. It stores
// labelled patterns and answers a query with one update whose values are the one-hot labels:
//
//   p(c | xi) = sum_i softmax_i(-beta/2 ||xi - y_i||^2) [label_i = c]
//
// The distance form is the Hopfield association softmax(beta Y' xi') over extended patterns
// y'_i = (y_i, -||y_i||^2 / 2) and xi' = (xi, 1): beta y'_i.xi' = -beta/2 ||xi - y_i||^2 + beta/2 ||xi||^2,
// and the last term is the same for every i. It is computed exactly that way, by AssociativeMemory
// (layers/memory.h), so it is one update of the paper's network. The plain dot product y_i.xi would favour
// long stored rows, which unnormalised tabular data have. Small beta reads out the class frequencies of
// all stored patterns; large beta the label of the nearest one.
//
// Dimension legend: N stored patterns, d pattern size, B queries, C classes.
//   patterns (N, d) float64, labels N values in [0, C), queries (B, d) float64 -> probabilities (B, C).
// No gradients (a readout, not a layer): computed under NoGrad, in chunks of `chunk` queries so that the
// (chunk, N) association weights stay small for large N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"
#include "hopfield/layers/memory.h"

namespace hf {

struct RetrievalClassifierOptions {
  HF_ARG(double, beta) = 1.0;        // inverse temperature on -||xi - y||^2 / 2
  HF_ARG(std::size_t, chunk) = 256;  // queries per association block
};

class RetrievalClassifier {
 public:
  RetrievalClassifier(const Tensor& patterns, const std::vector<std::int64_t>& labels, std::size_t classes,
                      RetrievalClassifierOptions options = RetrievalClassifierOptions());

  Tensor predict_proba(const Tensor& queries) const;  // (B, C) float64, rows sum to 1

  std::size_t size() const { return memory_.size(); }        // N
  std::size_t dim() const { return memory_.dim() - 1; }      // d
  std::size_t classes() const { return onehot_.size(1); }    // C
  const RetrievalClassifierOptions& options() const { return options_; }

 private:
  AssociativeMemory memory_;  // over the extended patterns (N, d + 1)
  Tensor onehot_;             // (N, C)
  RetrievalClassifierOptions options_;
};

}  // namespace hf
