// pool_repertoire_file / pool_repertoire (see repertoire_eval.h). S sequences, S_c of a chunk, H heads,
// q pooling patterns.
#include "hopfield/layers/models/repertoire_eval.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/chunked_pooling.h"

namespace hf {

namespace {

class Pooler {
 public:
  Pooler(const SequenceEmbedder& embed, const KeyNetwork& keys, HopfieldPooling& pooling, const RepertoireEvalOptions& o,
         std::string name)
      : embed_(embed), keys_(keys), acc_(pooling), o_(o), name_(std::move(name)) {}

  void add(const Repertoire& chunk) {
    out_.dropped += chunk.dropped;
    if (chunk.sequences.empty()) return;
    const Tensor h = embed_(chunk);
    HF_CHECK(h.defined() && h.dim() == 2 && h.size(0) == chunk.sequences.size(), "pool_repertoire",
             name_ << ": the embedder must return (S_c, F) = (" << chunk.sequences.size() << ", F) for a chunk of "
                   << chunk.sequences.size() << " sequences, got " << (h.defined() ? shape_str(h.shape()) : "undefined"));
    const Tensor stored = keys_ ? keys_(h) : h;
    const std::vector<double> z = acc_.add(stored, h);  // (H * q) x S_c
    if (o_.attention()) {
      const std::size_t s = chunk.sequences.size();
      for (std::size_t r = 0; r < acc_.rows(); ++r) logits_[r].insert(logits_[r].end(), z.begin() + static_cast<std::ptrdiff_t>(r * s),
                                                                    z.begin() + static_cast<std::ptrdiff_t>((r + 1) * s));
    }
    if (o_.sequences()) out_.sequences.insert(out_.sequences.end(), chunk.sequences.begin(), chunk.sequences.end());
    out_.num_sequences += chunk.sequences.size();
    out_.chunks += 1;
  }

  PooledRepertoire finish() {
    HF_CHECK(out_.num_sequences > 0, "pool_repertoire",
             name_ << ": no usable sequence (file empty or all " << out_.dropped << " rows dropped)");
    out_.pooled = acc_.output();
    if (o_.attention()) {
      const std::vector<double> lse = acc_.log_normalizers();
      const double rows = static_cast<double>(acc_.rows());
      out_.attention.assign(out_.num_sequences, 0.0);
      for (std::size_t r = 0; r < acc_.rows(); ++r)
        for (std::size_t j = 0; j < out_.num_sequences; ++j) out_.attention[j] += std::exp(logits_[r][j] - lse[r]) / rows;
    }
    return std::move(out_);
  }

 private:
  const SequenceEmbedder& embed_;
  const KeyNetwork& keys_;
  ChunkedPooling acc_;
  RepertoireEvalOptions o_;
  std::string name_;
  PooledRepertoire out_;
  std::vector<std::vector<double>> logits_ = std::vector<std::vector<double>>(acc_.rows());
};

}  // namespace

PooledRepertoire pool_repertoire_file(const std::string& path, const RepertoireOptions& reader,
                                      const SequenceEmbedder& embed, const KeyNetwork& keys, HopfieldPooling& pooling,
                                      const RepertoireEvalOptions& options) {
  HF_CHECK(options.chunk() > 0, "pool_repertoire_file", "chunk must be positive");
  NoGrad ng;
  Pooler p(embed, keys, pooling, options, path);
  RepertoireStream stream(path, options.chunk(), reader);
  Repertoire chunk;
  while (stream.next(chunk)) p.add(chunk);
  return p.finish();
}

PooledRepertoire pool_repertoire(const Repertoire& rep, const SequenceEmbedder& embed, const KeyNetwork& keys,
                                 HopfieldPooling& pooling, const RepertoireEvalOptions& options) {
  HF_CHECK(options.chunk() > 0, "pool_repertoire", "chunk must be positive");
  HF_CHECK(rep.counts.empty() || rep.counts.size() == rep.sequences.size(), "pool_repertoire",
           "counts (" << rep.counts.size() << ") and sequences (" << rep.sequences.size() << ") differ in length");
  NoGrad ng;
  Pooler p(embed, keys, pooling, options, "repertoire");
  for (std::size_t begin = 0; begin < rep.sequences.size(); begin += options.chunk()) {
    const std::size_t end = std::min(rep.sequences.size(), begin + options.chunk());
    Repertoire chunk;
    chunk.sequences.assign(rep.sequences.begin() + static_cast<std::ptrdiff_t>(begin),
                           rep.sequences.begin() + static_cast<std::ptrdiff_t>(end));
    if (!rep.counts.empty())
      chunk.counts.assign(rep.counts.begin() + static_cast<std::ptrdiff_t>(begin),
                          rep.counts.begin() + static_cast<std::ptrdiff_t>(end));
    p.add(chunk);
  }
  return p.finish();
}

}  // namespace hf
