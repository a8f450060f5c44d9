// The DeepRC-style repertoire classifier (see layers/models/repertoire_net.h).
#include "hopfield/layers/models/repertoire_net.h"

#include <algorithm>
#include <cmath>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/models/repertoire_eval.h"

namespace hf {

RepertoireWindows unfold_windows(const RepertoireBatch& b, const std::vector<std::size_t>& rows, std::size_t K) {
  HF_CHECK(K >= 1, "unfold_windows", "kernel size must be >= 1");
  const std::size_t lmax = b.x.size(1), A = kRepertoireChannels, AK = A * K;
  RepertoireWindows out;
  out.n = rows.size();
  out.lo = lmax >= K ? lmax - K + 1 : 1;
  std::vector<float> w(out.n * out.lo * AK, 0.0f);
  std::vector<bool> mask(out.n * out.lo, false);
  const float* x = b.x.data<float>();
  const std::int64_t* len = b.lengths.data<std::int64_t>();
  for (std::size_t r = 0; r < out.n; ++r) {
    const std::size_t s = rows[r];
    HF_CHECK(s < b.x.size(0), "unfold_windows", "row " << s << " out of range for " << b.x.size(0) << " sequences");
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

RepertoireNet::RepertoireNet(const RepertoireNetOptions& o, Generator& gen) : options_(o) {
  HF_CHECK(o.num_filters() > 0 && o.kernel_size() > 0 && o.num_heads() > 0 && o.hidden_size() > 0, "RepertoireNet",
           "num_filters=" << o.num_filters() << ", kernel_size=" << o.kernel_size() << ", num_heads=" << o.num_heads()
                          << ", hidden_size=" << o.hidden_size() << " must be positive");
  const std::size_t F = o.num_filters();
  conv = register_module("conv", std::make_shared<Linear>(LinearOptions(kRepertoireChannels * o.kernel_size(), F), gen));
  if (o.conv_init_std() > 0) init::normal_(conv->weight, 0.0, o.conv_init_std(), gen);
  if (o.conv_bias_init() != 0) init::constant_(conv->bias, o.conv_bias_init());
  HopfieldOptions ho(F);
  ho.num_heads(o.num_heads()).hidden_size(o.hidden_size());
  if (o.static_attention()) ho.hidden_size(F).stored_pattern_as_static(true).state_pattern_as_static(true);
  if (o.scaling() > 0) ho.scaling(o.scaling());
  ho.normalize_stored_pattern(o.normalize_keys()).normalize_stored_pattern_affine(o.normalize_keys());
  ho.normalize_pattern_projection(o.normalize_values()).normalize_pattern_projection_affine(o.normalize_values());
  pooling = register_module("pooling", std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(ho), gen));
  if (o.key_network()) key = register_module("key", std::make_shared<Linear>(LinearOptions(F, F), gen));
  output = register_module("output", std::make_shared<Linear>(LinearOptions(F, 1), gen));
}

Tensor RepertoireNet::embed(const RepertoireWindows& w) {
  const auto n = static_cast<std::int64_t>(w.n), lo = static_cast<std::int64_t>(w.lo);
  const Tensor z = selu(reshape(conv->forward(w.w), {n, lo, static_cast<std::int64_t>(options_.num_filters())}));
  return masked_max(z, w.mask, 1);
}

Tensor RepertoireNet::embed(const RepertoireBatch& b) {
  return embed(unfold_windows(b, iota_indices(b.x.size(0)), options_.kernel_size()));
}

Tensor RepertoireNet::keys(const Tensor& h) { return unsqueeze(key ? selu(key->forward(h)) : h, 0); }

Tensor RepertoireNet::logit(const Tensor& h) {
  return flatten(output->forward(pooling->forward(keys(h), unsqueeze(h, 0), Tensor(), Tensor())));
}

std::vector<double> RepertoireNet::attention(const Tensor& h) {
  NoGrad ng;
  const Tensor a = pooling->forward_with_details(keys(h), unsqueeze(h, 0)).association_matrix;  // (1, H, 1, S)
  const std::size_t H = a.size(1), S = a.size(3);
  std::vector<double> v = a.to_vector(), out(S, 0.0);
  for (std::size_t hh = 0; hh < H; ++hh)
    for (std::size_t s = 0; s < S; ++s) out[s] += v[hh * S + s] / static_cast<double>(H);
  return out;
}

RepertoireForward RepertoireNet::forward_top(const RepertoireBatch& b, double keep_fraction) {
  HF_CHECK(keep_fraction > 0 && keep_fraction <= 1, "RepertoireNet.forward_top",
           "keep_fraction must be in (0, 1], got " << keep_fraction);
  RepertoireForward out;
  {
    NoGrad ng;
    out.attention = attention(embed(b));
  }
  const double S = static_cast<double>(out.attention.size());
  out.kept = top_k_indices(out.attention, std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(keep_fraction * S))));
  std::vector<std::size_t> rows = out.kept;
  std::sort(rows.begin(), rows.end());
  out.logit = logit(embed(unfold_windows(b, rows, options_.kernel_size())));
  return out;
}

namespace {
void set_entry(Tensor& t, std::size_t i, double v) {
  if (t.dtype() == Dtype::Float32) t.data<float>()[i] = static_cast<float>(v);
  else t.data<double>()[i] = v;
}
}  // namespace

void RepertoireNet::init_kmer_filters(const std::vector<Kmer>& kmers) {
  init::zeros_(conv->weight);
  init::constant_(conv->bias, -2.5);
  const std::size_t K = options_.kernel_size(), F = conv->weight.size(0), AK = conv->weight.size(1);
  for (std::size_t j = 0; j < kmers.size(); ++j)
    for (std::size_t o = 0; o < 3; ++o) {
      const std::size_t span = kmers[j].span();
      if (span > K) continue;
      const std::size_t f = 3 * j + o, off = std::min(3 * o, K - span);
      if (f >= F) continue;
      set_entry(conv->bias, f, 0.5 - static_cast<double>(kmers[j].letters.size()));
      for (std::size_t t = 0; t < kmers[j].letters.size(); ++t) {
        const std::size_t c = static_cast<std::size_t>(kmers[j].letters[t]), k = off + kmers[j].offsets[t];
        set_entry(conv->weight, f * AK + c * K + k, 1.0);
      }
    }
}

void RepertoireNet::init_attention_on_detectors(std::size_t detectors, double gain) {
  if (!key || detectors == 0) return;
  Tensor& p = pooling->pooling_weights;  // (1, 1, F) with static attention
  const std::size_t F = key->weight.size(0);
  if (p.numel() != F || key->weight.size(1) != F) return;
  init::zeros_(key->weight);
  init::zeros_(key->bias);
  init::zeros_(p);
  for (std::size_t f = 0; f < std::min(detectors, F); ++f) {
    set_entry(key->weight, f * F + f, gain);
    set_entry(p, f, 1.0);
  }
}

std::vector<std::size_t> top_k_indices(const std::vector<double>& v, std::size_t k) {
  std::vector<std::size_t> idx = iota_indices(v.size());
  k = std::min(k, v.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](std::size_t a, std::size_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(k);
  return idx;
}

RepertoireScore score_repertoire(RepertoireNet& net, const std::string& path, std::size_t chunk,
                                 const RepertoireOptions& options, bool keep_sequences) {
  NoGrad ng;
  // Pooled chunk by chunk (repertoire_eval.h): memory holds one chunk, whatever the repertoire's size; the
  // chunked pooling equals the unchunked one up to rounding.
  PooledRepertoire p = pool_repertoire_file(
      path, options, [&](const Repertoire& part) { return net.embed(encode_repertoires({&part})); },
      [&](const Tensor& h) { return net.keys(h); }, *net.pooling,
      RepertoireEvalOptions().chunk(chunk).attention(keep_sequences).sequences(keep_sequences));
  RepertoireScore out;
  out.probability = 1.0 / (1.0 + std::exp(-flatten(net.output->forward(p.pooled)).item()));
  out.sequences = std::move(p.sequences);
  out.attention = std::move(p.attention);
  return out;
}

}  // namespace hf
