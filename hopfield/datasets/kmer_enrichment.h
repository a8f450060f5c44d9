// Gapped k-mers enriched in the positive repertoires of a training set: a supervised screen used by
// hopfield-repertoire to start its convolution filters as motif detectors (see the comment there for why).
//
// Patterns: 3 to max_letters fixed letters over the 20 amino acids, spread over a span of at most max_span
// positions with at most max_gaps gap positions inside (first and last position fixed): XYZ, XY_Z, X_YZ,
// XYZW, X_Y_Z, XY_ZW, ... (22 shapes with the defaults 6 / 2 / 6). For every training repertoire the set of
// patterns it holds is collected; a pattern held by more positive than negative repertoires is kept when its
// one-sided Fisher exact test p-value, times the number of testable patterns, is below alpha. "Testable"
// is Tarone's correction: a pattern held by n repertoires can reach at best the p-value of the table with
// all n holders positive, and patterns whose best p-value cannot pass do not count (Bonferroni over every
// pattern seen would count the tens of millions of long patterns held by one or two repertoires, none of
// which could ever be significant, and lose motifs carried by a third of the positives). Labels come from
// the caller, so only training repertoires ever enter.
//
// The kept patterns are ranked by (positives - negatives), then more fixed letters, then p-value, and a
// pattern that agrees with an already kept one on at least 3 aligned letters (a part or an extension of
// the same motif) is skipped, so the limited number of filters covers distinct motifs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/arg.h"

namespace hf {

struct KmerScreenOptions {
  HF_ARG(std::size_t, max_span) = 6;     // longest pattern, gaps included (3..8)
  HF_ARG(std::size_t, max_gaps) = 2;     // gap positions inside a pattern
  HF_ARG(std::size_t, max_letters) = 6;  // fixed letters per pattern (3..max_span)
  HF_ARG(double, alpha) = 0.05;          // family-wise error rate of the screen
};

// The shapes (tap offsets of the fixed letters, first 0, increasing) the options allow, in a fixed order:
// by span, then by the offsets.
std::vector<std::vector<std::size_t>> kmer_shapes(const KmerScreenOptions& options = KmerScreenOptions());

// A gapped k-mer: letters at tap offsets (first 0). GSA is XYZ, K?YV holds K_YV.
struct Kmer {
  std::vector<std::size_t> offsets;
  std::vector<int> letters;                  // indices into kAminoAcids, one per offset
  std::size_t positives = 0, negatives = 0;  // training repertoires holding it
  double p_value = 1;                        // one-sided Fisher exact test, before the correction
  double correction = 1;                     // the number of testable patterns it was corrected for
  std::size_t span() const { return offsets.empty() ? 0 : offsets.back() + 1; }
  std::string text() const;                  // '_' at gaps, e.g. "K_YV"
};

// P(at least a of the a + b repertoires holding a pattern are positive) when the labels are a random
// permutation with npos positives and nneg negatives (the hypergeometric upper tail = one-sided Fisher test).
double fisher_upper(std::size_t a, std::size_t b, std::size_t npos, std::size_t nneg);

// The patterns held by the repertoires of `train` (lists of sequences; labels y[i] in {0, 1} for i in
// train), kept and ranked as above; at most `limit`.
std::vector<Kmer> enriched_kmers(const std::vector<std::vector<std::string>>& sequences,
                                 const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                 std::size_t limit, const KmerScreenOptions& options = KmerScreenOptions());
// The same on repertoires read from disk (each is read twice, one at a time).
std::vector<Kmer> enriched_kmers(const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                                 const std::vector<std::int64_t>& y, std::size_t limit,
                                 const KmerScreenOptions& options = KmerScreenOptions());

}  // namespace hf
