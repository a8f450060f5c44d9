// A DeepRC-style immune repertoire classifier (Widrich et al. 2020, "Modern Hopfield Networks and Attention for
// Immune Repertoire Classification"); the model of hopfield-repertoire.
//
//   one repertoire = S sequences, each encoded as L x 23 (one-hot amino acid + 3 position channels)
//   --1-D convolution (kernel K, F filters) -> SELU -> max over positions--> h (S, F)
//   --HopfieldPooling over the S sequences (a learned state pattern attends to all of them; keys
//     SELU(Linear(F, F)(h)), values h)--> (F)
//   --Linear(F, 1)--> one logit per repertoire
//
//   Generator gen(seed);
//   RepertoireNet net(RepertoireNetOptions().num_filters(32).kernel_size(9), gen);
//   net.init_kmer_filters(enriched_kmers(ds, train, y, 10));   // optional: filters as k-mer detectors
//   RepertoireForward f = net.forward_top(encode_repertoires({&rep}), 0.1);  // training: top 10% by attention
//   RepertoireScore s = score_repertoire(net, ds.path(i), 4096, ro, false);   // evaluation: all sequences
//
// Attention: by default the stored and state patterns enter the association without projections
// (stored_pattern_as_static, state_pattern_as_static) and the keys are k_s = SELU(W h_s + b), so the
// attention logit of sequence s is beta * LN(p) . k_s: DeepRC's attention network (Linear, SELU, Linear)
// with the pooling pattern as its last layer. Keys and values enter without LayerNorm (normalize_keys,
// normalize_values): with the k-mer initialisation most filters are constant, and a LayerNorm over them
// hid the few informative ones (PyTorch with LayerNorm on keys h_s and values, k-mer init: test AUC 0.31, fold 1).
// With hflayers' projected default (static_attention false) the logit is bilinear in two projections that start
// at N(0, 0.02^2), i.e. at a saddle: in our runs the attention stayed uniform (1/S) for 25 epochs.
//
// The convolution runs as an unfolded window matrix times the filter matrix (one gemm per repertoire
// instead of one per sequence); the filters (F, 23 * K) are ordered like torch.nn.Conv1d's (F, 23, K).
// Windows that run past a sequence's end are masked out of the max (sequences shorter than K keep their
// first, zero-padded window), so a sequence's embedding does not depend on what else is in the batch.
//
// Legend: S sequences of a repertoire (after subsampling), L sequence length, Lmax longest in a chunk,
// A = 23 channels, K kernel size, Lo = max(1, Lmax - K + 1) window positions, F filters, H heads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/datasets/kmer_enrichment.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/module.h"

namespace hf {

struct RepertoireNetOptions {
  HF_ARG(std::size_t, num_filters) = 32;      // F
  HF_ARG(std::size_t, kernel_size) = 9;       // K
  HF_ARG(std::size_t, num_heads) = 1;         // H
  HF_ARG(std::size_t, hidden_size) = 32;      // association size per head (projected attention only)
  HF_ARG(double, scaling) = 1.0;              // beta; 0 = hflayers' default (1 with static attention, else 1/sqrt(hidden))
  HF_ARG(bool, static_attention) = true;      // stored and state patterns enter the association without projections
  HF_ARG(bool, key_network) = true;           // keys = SELU(Linear(h)) (DeepRC's attention network) instead of h itself
  HF_ARG(bool, normalize_keys) = false;       // LayerNorm on the stored patterns (the attention keys)
  HF_ARG(bool, normalize_values) = false;     // LayerNorm on the pattern projections (the embeddings as values)
  HF_ARG(double, conv_init_std) = 0.0;        // > 0: conv weights N(0, std^2) instead of torch's default
  HF_ARG(double, conv_bias_init) = 0.0;       // != 0: conv biases start at this value (negative = sparse detectors)
};

// The unfolded convolution input of some sequences of a batch: w (n * Lo, A * K) and the mask (n, Lo, 1)
// of windows past each sequence's end.
struct RepertoireWindows {
  Tensor w, mask;
  std::size_t n = 0, lo = 0;
};

// The windows of the given sequences (rows of b.x) for kernel size K.
RepertoireWindows unfold_windows(const RepertoireBatch& b, const std::vector<std::size_t>& rows, std::size_t K);

// One repertoire in training: its logit from the kept sequences, the attention over all of them (no tape) and
// which were kept (by attention, highest first).
struct RepertoireForward {
  Tensor logit;                     // one element
  std::vector<double> attention;    // S
  std::vector<std::size_t> kept;    // indices into the S sequences
};

class RepertoireNet : public Module {
 public:
  // Parameters drawn from gen in layer order: conv, pooling, key network, output.
  explicit RepertoireNet(const RepertoireNetOptions& options, Generator& gen = default_generator());

  // Sequence embeddings h (n, F) of some windows, or of all sequences of a batch.
  Tensor embed(const RepertoireWindows& w);
  Tensor embed(const RepertoireBatch& b);
  // Keys of the attention (1, S, F): the embeddings, or SELU(Linear(h)) with the key network.
  Tensor keys(const Tensor& h);
  // One repertoire's logit (a one-element tensor) from its sequence embeddings h (S, F).
  Tensor logit(const Tensor& h);
  // Attention of the pooling pattern over the S sequences (mean over heads), without the tape.
  std::vector<double> attention(const Tensor& h);
  // DeepRC's training forward of one repertoire (all of b's sequences): the attention over all of them without
  // the tape, then the logit from the ceil(keep_fraction * S) most attended (at least one) with the tape; the
  // others would get a near-zero weight anyway, and the gradient step costs keep_fraction of the full one.
  RepertoireForward forward_top(const RepertoireBatch& b, double keep_fraction);

  // Filters 3j, 3j+1, 3j+2 detect k-mer j with its first tap at window offset 0, 3 and min(6, K - span)
  // (for K = 9 the three offsets together reach every start position of a sequence of length >= 12 once
  // windows past the end are masked): weight 1 on the k-mer's n letters and bias 0.5 - n, so a filter is
  // positive only when all n letters match (one mismatch leaves it at -0.5). The remaining filters start at
  // zero weights and bias -2.5 (a constant output that the gradient can grow), because random filters gave
  // the network room to memorise the training repertoires.
  void init_kmer_filters(const std::vector<Kmer>& kmers);
  // The attention starts on the first `detectors` filters: with uniform attention over S ~ 2000 sequences a
  // repertoire's pooled embedding moves by (motif sequences / S) of a detector's swing, ~1e-3, so the readout
  // sees the same input for every repertoire, its loss sits at ln 2, and the gradient towards the attention is
  // that 1e-3 times a readout weight near zero: a saddle (issue 21: a fold whose loss stayed at 0.693147 for all
  // 20 epochs). So the key network starts as `gain` times the identity on those filters (zero elsewhere) and
  // the pooling pattern as their indicator: the attention logit of a sequence is then beta * LN(p) .
  // SELU(gain * h), ~10 higher for a sequence on which a detector fires (h = +0.5) than for one on which none
  // does (h <= -0.5); the attention lands on the motif sequences from the first step and all of it stays
  // trainable. Needs the key network and the static attention (else a no-op).
  void init_attention_on_detectors(std::size_t detectors, double gain = 8.0);

  std::string name() const override { return "RepertoireNet"; }
  const RepertoireNetOptions& options() const { return options_; }

  std::shared_ptr<Linear> conv;  // on the unfolded windows: torch's Conv1d initialisation has fan_in = A * K
  std::shared_ptr<Linear> key;   // null without the key network
  std::shared_ptr<HopfieldPooling> pooling;
  std::shared_ptr<Linear> output;

 private:
  RepertoireNetOptions options_;
};

// Indices of the k largest values (ties: lower index first).
std::vector<std::size_t> top_k_indices(const std::vector<double>& v, std::size_t k);

// A repertoire scored on all of its sequences.
struct RepertoireScore {
  double probability = 0;
  std::vector<std::string> sequences;  // only when asked for
  std::vector<double> attention;       // only when asked for
};

// Scores the repertoire file at `path`, read and pooled in chunks of `chunk` sequences (memory holds one chunk,
// whatever the repertoire's size: layers/models/repertoire_eval.h); with keep_sequences also returns its sequences and their attention. Throws DataError
// naming the file when no sequence is usable.
RepertoireScore score_repertoire(RepertoireNet& net, const std::string& path, std::size_t chunk,
                                 const RepertoireOptions& options, bool keep_sequences);

}  // namespace hf
