// A whole repertoire through a DeepRC-style network's attention pooling, in chunks (issue 20): no
// subsampling and memory bounded by the chunk, for repertoires of 10^5 - 10^6 sequences.
//
//   file --RepertoireStream, `chunk` sequences at a time--> embed(chunk) = h_c (S_c, F)
//   --keys(h_c) = stored (S_c, Dk), projection h_c--> ChunkedPooling (online softmax over the chunks)
//   --> pooled (1, q * out) = pooling.forward(keys(h), h) over all S sequences
//
// The network's pieces come as arguments (a sequence embedder, an optional key network, the pooling), so
// any network of this shape can use it; the readout after the pooling stays with the caller. The embedder
// must treat sequences independently (a sequence's embedding may not depend on the others in its chunk);
// then the pooled result equals the unchunked one up to rounding (tests/test_repertoire_eval.cpp: 1e-12 in
// float64). Memory: one chunk's encoding, embeddings and intermediate activations, never S x F; plus, when
// asked, H * q logits per sequence (attention) and the sequences themselves.
//
// Legend: S sequences of a repertoire, S_c of a chunk, F embedding features, H heads, q pooling patterns.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"
#include "hopfield/layers/hopfield_pooling.h"

namespace hf {

// h_c (S_c, F) of a chunk's sequences.
using SequenceEmbedder = std::function<Tensor(const Repertoire& chunk)>;
// Attention keys (S_c, Dk) or (1, S_c, Dk) from h_c; an empty function uses h_c itself.
using KeyNetwork = std::function<Tensor(const Tensor& h)>;

struct RepertoireEvalOptions {
  HF_ARG(std::size_t, chunk) = 4096;   // sequences embedded at once
  HF_ARG(bool, attention) = false;     // keep every sequence's attention (mean over heads and pooling patterns)
  HF_ARG(bool, sequences) = false;     // keep every sequence (e.g. to list the most attended ones)
};

struct PooledRepertoire {
  Tensor pooled;                        // (1, q * out)
  std::size_t num_sequences = 0;        // sequences pooled
  std::size_t dropped = 0;              // rows dropped by the reader (letters outside the alphabet)
  std::size_t chunks = 0;
  std::vector<double> attention;        // S values, when asked
  std::vector<std::string> sequences;   // S, when asked
};

// Reads the repertoire file at `path` in chunks and pools all of its sequences. Throws when no sequence is
// usable (empty file or every row dropped), naming the file.
PooledRepertoire pool_repertoire_file(const std::string& path, const RepertoireOptions& reader,
                                      const SequenceEmbedder& embed, const KeyNetwork& keys, HopfieldPooling& pooling,
                                      const RepertoireEvalOptions& options = RepertoireEvalOptions());
// The same for a repertoire in memory (split into chunks of options.chunk sequences).
PooledRepertoire pool_repertoire(const Repertoire& repertoire, const SequenceEmbedder& embed, const KeyNetwork& keys,
                                 HopfieldPooling& pooling, const RepertoireEvalOptions& options = RepertoireEvalOptions());

}  // namespace hf
