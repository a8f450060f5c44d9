// Gapped 3-mers enriched in the positive repertoires of a training set: a supervised screen used by
// hopfield-repertoire to start its convolution filters as motif detectors (see the comment there for why).
//
// For every training repertoire the set of gapped 3-mers it holds is collected (shapes XYZ, XY_Z, X_YZ over
// the 20 amino acids, 24,000 patterns); a pattern held by more positive than negative repertoires is kept
// when its one-sided Fisher exact test p-value, times the number of patterns seen (Bonferroni), is below
// 0.05. Labels come from the caller, so only training repertoires ever enter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hopfield/datasets/repertoire.h"

namespace hf {

// A gapped 3-mer: three letters at tap offsets 0, t1, t2 of one of the shapes {0,1,2}, {0,1,3}, {0,2,3}
// (GSA is a contiguous 3-mer, K?YV holds the gapped 3-mer K_YV).
struct Kmer {
  std::size_t shape = 0;  // index into kKmerShapes
  int letters[3] = {0, 0, 0};
  std::size_t positives = 0, negatives = 0;  // training repertoires holding it
  double p_value = 1;                        // one-sided Fisher exact test, before the Bonferroni factor
  std::string text() const {
    std::string t(kKmerShapes[shape][2] + 1, '_');
    for (int k = 0; k < 3; ++k) t[kKmerShapes[shape][k]] = kAminoAcids[static_cast<std::size_t>(letters[k])];
    return t;
  }
  static constexpr std::size_t kKmerShapes[3][3] = {{0, 1, 2}, {0, 1, 3}, {0, 2, 3}};
};

// P(at least a of the a + b repertoires holding a pattern are positive) when the labels are a random
// permutation with npos positives and nneg negatives (the hypergeometric upper tail = one-sided Fisher test).
double fisher_upper(std::size_t a, std::size_t b, std::size_t npos, std::size_t nneg);

// The patterns held by the repertoires of `train` (lists of sequences; labels y[i] in {0, 1} for i in
// train), ranked by (positives - negatives), kept when significant as above; at most `limit`.
std::vector<Kmer> enriched_kmers(const std::vector<std::vector<std::string>>& sequences,
                                 const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                 std::size_t limit);
// The same on repertoires read one at a time from disk.
std::vector<Kmer> enriched_kmers(const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                                 const std::vector<std::int64_t>& y, std::size_t limit);

}  // namespace hf
