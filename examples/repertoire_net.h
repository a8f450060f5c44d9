// The model of hopfield-repertoire (examples/hopfield_repertoire.cpp): a DeepRC-style network (Widrich et al.
// 2020) and the pieces that embed and score one repertoire. Header-only so the program stays one hf_program
// source.
//
//   one repertoire = S sequences, each encoded as L x 23 (one-hot amino acid + 3 position channels)
//   --1-D convolution (kernel K = 9, F = 32 filters) -> SELU -> max over positions--> h (S, F)
//   --HopfieldPooling over the S sequences (a learned state pattern attends to all of them; keys
//     SELU(Linear(F, F)(h)), values h)--> (F)
//   --Linear(F, 1)--> one logit per repertoire
//
// Attention: by default the stored and state patterns enter the association without projections
// (stored_pattern_as_static, state_pattern_as_static) and the keys are k_s = SELU(W h_s + b), so the
// attention logit of sequence s is beta * LN(p) . k_s: DeepRC's attention network (Linear, SELU, Linear)
// with the pooling pattern as its last layer. Keys and values enter without LayerNorm (--layer-norm-keys,
// --layer-norm-values): with the k-mer initialisation most filters are constant, and a LayerNorm over them
// hid the few informative ones (PyTorch with LayerNorm on keys h_s and values, k-mer init: test AUC 0.31, fold 1). With hflayers'
// projected default (--projected-attention) the logit is bilinear in two projections that start at
// N(0, 0.02^2), i.e. at a saddle: in our runs the attention stayed uniform (1/S) for 25 epochs.
//
// The convolution runs as an unfolded window matrix times the filter matrix (one gemm per repertoire
// instead of one per sequence); the filters (F, 23 * K) are ordered like torch.nn.Conv1d's (F, 23, K).
// Windows that run past a sequence's end are masked out of the max (sequences shorter than K keep their
// first, zero-padded window), so a sequence's embedding does not depend on what else is in the batch.
//
// Evaluation pools every sequence of a repertoire in chunks (score_repertoire).
//
// Legend: S sequences of a repertoire (after subsampling), L sequence length, Lmax longest in a chunk,
// A = 23 channels, K kernel size, Lo = max(1, Lmax - K + 1) window positions, F filters, H heads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "hopfield/datasets/kmer_enrichment.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/models/repertoire_eval.h"
#include "hopfield/optim/training.h"

namespace hf::repertoire_demo {
struct RepConfig {
  std::size_t kernels = 32;       // F
  std::size_t kernel_size = 9;    // K
  std::size_t heads = 1;          // H
  std::size_t hidden = 32;        // association size per head
  double scaling = 1.0;           // beta; 0 = hflayers' default (1 with static attention, else 1/sqrt(hidden))
  bool static_attention = true;   // stored and state patterns enter the association without projections
  std::size_t subsample = 1000;   // sequences per repertoire and epoch in training
  double keep = 0.1;              // fraction of the subsample kept for the gradient step (by attention)
  std::size_t batch_size = 4;     // repertoires per optimizer step
  std::size_t epochs = 20;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  double clip = 1.0;
  std::size_t eval_chunk = 4096;  // sequences per chunk when reading a repertoire for evaluation
  std::size_t warmup_epochs = 3;  // epochs that train on the whole subsample before the top-fraction reduction
  bool normalize_keys = false;    // LayerNorm on the stored patterns (the attention keys)
  bool normalize_values = false;  // LayerNorm on the pattern projections (the embeddings as values)
  double conv_init_std = 0;       // > 0: conv weights N(0, std^2) instead of torch's default
  double conv_bias_init = 0;      // != 0: conv biases start at this value (negative = sparse detectors)
  bool balanced = true;           // batches with as many positive as negative repertoires
  bool kmer_init = true;          // conv filters start as detectors of significantly enriched gapped 3-mers
  bool key_network = true;        // keys = SELU(Linear(h)) (DeepRC's attention network) instead of h itself
  bool train_conv = false;        // with kmer_init: fine-tune the convolution too (else only attention and readout)
  bool attention_init = true;     // with kmer_init: the attention starts on the detectors (init_attention_on_detectors)
  bool verbose = false;           // per-epoch diagnostics on stderr
  std::size_t eval_every = 0;     // with verbose: test AUC every this many epochs (diagnostic only)

  std::string summary() const {
    std::ostringstream s;
    s << "conv " << kernels << "x" << kernel_size << (kmer_init ? (train_conv ? " (k-mer init, trained)" : " (k-mer init, fixed)") : "")
      << (kmer_init && attention_init ? ", attention on the detectors" : "")
      << " SELU max, HopfieldPooling ";
    if (key_network) s << "keys SELU(Linear(h)), ";
    if (static_attention) s << "static attention";
    else s << "projected attention heads=" << heads << " hidden=" << hidden;
    s << " scaling=" << (scaling > 0 ? std::to_string(scaling) : std::string(static_attention ? "1" : "1/sqrt(hidden)"))
      << "; subsample=" << subsample << " keep=" << keep << " batch=" << batch_size << " epochs=" << epochs
      << " warmup=" << warmup_epochs << " lr=" << lr << " wd=" << weight_decay;
    return s.str();
  }
};

// The unfolded convolution input of some sequences of a batch: w (n * Lo, A * K) and the mask (n, Lo, 1)
// of windows past each sequence's end.
struct Windows {
  Tensor w, mask;
  std::size_t n = 0, lo = 0;
};

inline Windows unfold(const RepertoireBatch& b, const std::vector<std::size_t>& rows, std::size_t K) {
  const std::size_t lmax = b.x.size(1), A = kRepertoireChannels, AK = A * K;
  Windows out;
  out.n = rows.size();
  out.lo = lmax >= K ? lmax - K + 1 : 1;
  std::vector<float> w(out.n * out.lo * AK, 0.0f);
  std::vector<bool> mask(out.n * out.lo, false);
  const float* x = b.x.data<float>();
  const std::int64_t* len = b.lengths.data<std::int64_t>();
  for (std::size_t r = 0; r < out.n; ++r) {
    const std::size_t s = rows[r];
    const std::size_t L = static_cast<std::size_t>(len[s]);
    const std::size_t valid = L >= K ? L - K + 1 : 1;
    const float* xs = x + s * lmax * A;
    for (std::size_t t = 0; t < out.lo; ++t) {
      mask[r * out.lo + t] = t >= valid;
      if (t >= valid) continue;
      float* wt = w.data() + (r * out.lo + t) * AK;
      for (std::size_t k = 0; k < K && t + k < L; ++k)
        for (std::size_t c = 0; c < A; ++c) wt[c * K + k] = xs[(t + k) * A + c];
    }
  }
  out.w = from_vector(w, {out.n * out.lo, AK});
  out.mask = from_mask(mask, {out.n, out.lo, 1});
  return out;
}

inline std::vector<std::size_t> all_rows(const RepertoireBatch& b) { return iota_indices(b.x.size(0)); }

class RepertoireNet : public Module {
 public:
  RepertoireNet(const RepConfig& c, std::uint64_t seed) : kernel_size_(c.kernel_size), filters_(c.kernels) {
    Generator gen(seed);
    // torch's Conv1d initialisation has fan_in = A * K, exactly Linear's on the unfolded windows.
    conv = register_module("conv", std::make_shared<Linear>(LinearOptions(kRepertoireChannels * c.kernel_size, c.kernels)));
    conv->reset_parameters(gen);
    if (c.conv_init_std > 0) init::normal_(conv->weight, 0.0, c.conv_init_std, gen);
    if (c.conv_bias_init != 0) init::constant_(conv->bias, c.conv_bias_init);
    HopfieldOptions ho(c.kernels);
    ho.num_heads(c.heads).hidden_size(c.hidden);
    if (c.static_attention) ho.hidden_size(c.kernels).stored_pattern_as_static(true).state_pattern_as_static(true);
    if (c.scaling > 0) ho.scaling(c.scaling);
    ho.normalize_stored_pattern(c.normalize_keys).normalize_stored_pattern_affine(c.normalize_keys);
    ho.normalize_pattern_projection(c.normalize_values).normalize_pattern_projection_affine(c.normalize_values);
    pooling = register_module("pooling", std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(ho)));
    pooling->reset_parameters(gen);
    if (c.key_network) {
      key = register_module("key", std::make_shared<Linear>(LinearOptions(c.kernels, c.kernels)));
      key->reset_parameters(gen);
    }
    output = register_module("output", std::make_shared<Linear>(LinearOptions(c.kernels, 1)));
    output->reset_parameters(gen);
  }

  // Sequence embeddings h (n, F).
  Tensor embed(const Windows& w) {
    Tensor z = conv->forward(w.w);
    z = selu(reshape(z, {static_cast<std::int64_t>(w.n), static_cast<std::int64_t>(w.lo), static_cast<std::int64_t>(filters_)}));
    return masked_max(z, w.mask, 1);
  }
  // Keys of the attention (1, S, F): the embeddings, or SELU(Linear(h)) with the key network.
  Tensor keys(const Tensor& h) { return unsqueeze(key ? selu(key->forward(h)) : h, 0); }
  // One repertoire's logit (a one-element tensor) from its sequence embeddings h (S, F).
  Tensor logit(const Tensor& h) {
    const Tensor h3 = unsqueeze(h, 0);
    return flatten(output->forward(pooling->forward(keys(h), h3, Tensor(), Tensor())));
  }
  // Attention of the pooling pattern over the S sequences (mean over heads), without the tape.
  std::vector<double> attention(const Tensor& h) {
    NoGrad ng;
    const Tensor a = pooling->forward_with_details(keys(h), unsqueeze(h, 0)).association_matrix;  // (1, H, 1, S)
    const std::size_t H = a.size(1), S = a.size(3);
    std::vector<double> v = a.to_vector(), out(S, 0.0);
    for (std::size_t hh = 0; hh < H; ++hh)
      for (std::size_t s = 0; s < S; ++s) out[s] += v[hh * S + s] / static_cast<double>(H);
    return out;
  }
  std::size_t kernel_size() const { return kernel_size_; }
  std::string name() const override { return "RepertoireNet"; }

  std::shared_ptr<Linear> conv;
  std::shared_ptr<Linear> key;  // null without the key network
  std::shared_ptr<HopfieldPooling> pooling;
  std::shared_ptr<Linear> output;

 private:
  std::size_t kernel_size_, filters_;
};

// Filters 3j, 3j+1, 3j+2 detect k-mer j with its first tap at window offset 0, 3 and min(6, K - span)
// (for K = 9 the three offsets together reach every start position of a sequence of length >= 12 once
// windows past the end are masked): weight 1 on the k-mer's n letters and bias 0.5 - n, so a filter is
// positive only when all n letters match (one mismatch leaves it at -0.5).
// The remaining filters start at zero weights and bias -2.5 (a constant output that the gradient can grow),
// because random filters gave the network room to memorise the training repertoires.
inline void init_kmer_filters(Linear& conv, const std::vector<Kmer>& kmers, std::size_t K) {
  init::zeros_(conv.weight);
  init::constant_(conv.bias, -2.5);
  const std::size_t F = conv.weight.size(0), AK = conv.weight.size(1);
  auto set = [](Tensor& t, std::size_t i, double v) {
    if (t.dtype() == Dtype::Float32) t.data<float>()[i] = static_cast<float>(v);
    else t.data<double>()[i] = v;
  };
  for (std::size_t j = 0; j < kmers.size(); ++j)
    for (std::size_t o = 0; o < 3; ++o) {
      const std::size_t span = kmers[j].span();
      if (span > K) continue;
      const std::size_t f = 3 * j + o, off = std::min(3 * o, K - span);
      if (f >= F) continue;
      set(conv.bias, f, 0.5 - static_cast<double>(kmers[j].letters.size()));
      for (std::size_t t = 0; t < kmers[j].letters.size(); ++t) {
        const std::size_t c = static_cast<std::size_t>(kmers[j].letters[t]), k = off + kmers[j].offsets[t];
        set(conv.weight, f * AK + c * K + k, 1.0);
      }
    }
}

// The attention starts on the detectors: with uniform attention over S ~ 2000 sequences a repertoire's pooled
// embedding moves by (motif sequences / S) of a detector's swing, ~1e-3, so the readout sees the same input
// for every repertoire, its loss sits at ln 2, and the gradient towards the attention is that 1e-3 times
// a readout weight near zero: a saddle (issue 21: a fold whose loss stayed at 0.693147 for all 20 epochs).
// So the key network starts as `gain` times the identity on the first `detectors` filters (zero elsewhere)
// and the pooling pattern as their indicator: the attention logit of a sequence is then beta * LN(p) .
// SELU(gain * h), which is ~10 higher for a sequence on which a detector fires (h = +0.5) than for one on
// which none does (h <= -0.5); the attention lands on the motif sequences from the first step and all of it
// stays trainable. Needs the key network and the static attention (else a no-op).
inline void init_attention_on_detectors(RepertoireNet& net, std::size_t detectors, double gain = 8.0) {
  if (!net.key || detectors == 0) return;
  Tensor& p = net.pooling->pooling_weights;  // (1, 1, F) with static attention
  const std::size_t F = net.key->weight.size(0);
  if (p.numel() != F || net.key->weight.size(1) != F) return;
  init::zeros_(net.key->weight);
  init::zeros_(net.key->bias);
  init::zeros_(p);
  auto set = [](Tensor& t, std::size_t i, double v) {
    if (t.dtype() == Dtype::Float32) t.data<float>()[i] = static_cast<float>(v);
    else t.data<double>()[i] = v;
  };
  for (std::size_t f = 0; f < std::min(detectors, F); ++f) {
    set(net.key->weight, f * F + f, gain);
    set(p, f, 1.0);
  }
}

// Indices of the k largest values (ties: lower index first).
inline std::vector<std::size_t> top_k(const std::vector<double>& v, std::size_t k) {
  std::vector<std::size_t> idx = iota_indices(v.size());
  k = std::min(k, v.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](std::size_t a, std::size_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(k);
  return idx;
}

// A repertoire scored on all of its sequences (read in chunks).
struct Scored {
  double probability = 0;
  std::vector<std::string> sequences;  // only when asked for
  std::vector<double> attention;       // only when asked for
};

// Reads the file in chunks of c.eval_chunk sequences and pools all of them without holding S x F
// embeddings (hopfield/layers/models/repertoire_eval.h: the chunked pooling equals the unchunked one).
inline Scored score_repertoire(RepertoireNet& net, const RepertoireDataset& ds, std::size_t i, const RepertoireOptions& ro,
                               const RepConfig& c, bool keep_sequences) {
  NoGrad ng;
  PooledRepertoire p = pool_repertoire_file(
      ds.path(i), ro,
      [&](const Repertoire& chunk) {
        const RepertoireBatch b = encode_repertoires({&chunk});
        return net.embed(unfold(b, all_rows(b), net.kernel_size()));
      },
      [&](const Tensor& h) { return net.keys(h); }, *net.pooling,
      RepertoireEvalOptions().chunk(c.eval_chunk).attention(keep_sequences).sequences(keep_sequences));
  Scored out;
  out.probability = 1.0 / (1.0 + std::exp(-flatten(net.output->forward(p.pooled)).item()));
  out.sequences = std::move(p.sequences);
  out.attention = std::move(p.attention);
  return out;
}

}  // namespace hf::repertoire_demo
