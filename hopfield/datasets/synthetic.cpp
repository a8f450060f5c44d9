// Synthetic MIL bags, latch sequences and motif-implanted repertoires.
#include "hopfield/datasets/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include "hopfield/datasets/text_reader.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"

namespace hf {

namespace {
bool all_zero(const std::vector<int>& v) { return std::all_of(v.begin(), v.end(), [](int b) { return b == 0; }); }

// torch.randint(low=0, high=n) on the CPU, element by element: torch.manual_seed(s) seeds an MT19937 with
// s (its init_genrand, as std::mt19937), and each element takes one 32-bit output modulo n (torch's
// uniform_int_from_to for ranges below 2^32). Reproducing that stream makes bit_pattern_bags give hflayers'
// bags bit for bit: which 8 signals the bags hide changes the adapted demo variants' accuracy by ~0.1 (README).
struct TorchCpuRandint {
  explicit TorchCpuRandint(std::uint64_t seed) : engine(static_cast<std::mt19937::result_type>(seed & 0xffffffffu)) {}
  int operator()(std::size_t n) { return static_cast<int>(engine() % static_cast<std::uint32_t>(n)); }
  std::vector<int> bits(std::size_t count) {
    std::vector<int> v(count);
    for (auto& b : v) b = (*this)(2);
    return v;
  }
  std::mt19937 engine;
};
}  // namespace

BitPatternSet bit_pattern_bags(const BitPatternOptions& o) {
  HF_CHECK(o.num_bags() > 0 && o.num_instances() > 0 && o.num_signals() > 0 && o.num_bits() > 0, "bit_pattern_bags",
           "num_bags, num_instances, num_signals and num_bits must be positive");
  HF_CHECK(o.num_signals_per_bag() <= o.num_instances(), "bit_pattern_bags",
           "num_signals_per_bag " << o.num_signals_per_bag() << " exceeds num_instances " << o.num_instances());
  HF_CHECK(o.fraction_targets() > 0 && o.fraction_targets() < 1, "bit_pattern_bags",
           "fraction_targets must be in (0, 1), got " << o.fraction_targets());
  HF_CHECK(o.num_bits() < 63 && (std::uint64_t{1} << o.num_bits()) - 1 > o.num_signals(), "bit_pattern_bags",
           "num_signals " << o.num_signals() << " must be smaller than 2^num_bits - 1");
  const std::size_t nb = o.num_bits(), B = o.num_bags(), N = o.num_instances(), S = o.num_signals();
  BitPatternSet out;
  // Signals: randint(0, 2, (S, nb)); then, until S remain, unique rows (sorted), drop the zero row, append
  // randint rows for the missing ones (hflayers' loop, draw for draw).
  TorchCpuRandint gs(o.seed_signals());
  std::vector<std::vector<int>> rows;
  for (std::size_t i = 0; i < S; ++i) rows.push_back(gs.bits(nb));
  for (;;) {
    std::set<std::vector<int>> distinct(rows.begin(), rows.end());
    rows.clear();
    for (const auto& r : distinct)
      if (!all_zero(r)) rows.push_back(r);
    if (rows.size() >= S) break;
    const std::size_t missing = S - rows.size();
    for (std::size_t i = 0; i < missing; ++i) rows.push_back(gs.bits(nb));
  }
  out.signals = rows;
  const std::set<std::vector<int>> signal_set(rows.begin(), rows.end());

  // Bags: randint(0, 2, (B, N, nb)); every instance that is zero or a signal is redrawn, all of them at once
  // in row-major order, until none is left; then the first num_targets bags get their signals.
  TorchCpuRandint g(o.seed_data());
  std::vector<std::vector<int>> inst(B * N);
  for (auto& x : inst) x = g.bits(nb);
  for (;;) {
    std::vector<std::size_t> invalid;
    for (std::size_t i = 0; i < inst.size(); ++i)
      if (all_zero(inst[i]) || signal_set.count(inst[i])) invalid.push_back(i);
    if (invalid.empty()) break;
    for (std::size_t i : invalid) inst[i] = g.bits(nb);
  }
  const auto num_targets =
      std::min<std::size_t>(B, std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(double(B) * o.fraction_targets()))));
  for (std::size_t b = 0; b < num_targets; ++b) {
    std::vector<std::size_t> slots;
    for (std::size_t k = 0; k < o.num_signals_per_bag(); ++k) {
      std::size_t slot;
      do slot = static_cast<std::size_t>(g(N));
      while (std::find(slots.begin(), slots.end(), slot) != slots.end());
      slots.push_back(slot);
      inst[b * N + slot] = out.signals[static_cast<std::size_t>(g(out.signals.size()))];
    }
  }
  out.bags.name = "bit-pattern";
  out.bags.num_features = nb;
  for (std::size_t j = 0; j < nb; ++j) out.bags.feature_names.push_back(std::string("bit").append(std::to_string(j)));
  for (std::size_t b = 0; b < B; ++b) {
    std::vector<double> flat;
    for (std::size_t i = 0; i < N; ++i) flat.insert(flat.end(), inst[b * N + i].begin(), inst[b * N + i].end());
    out.bags.add_bag(static_cast<std::int64_t>(b + 1), b < num_targets ? 1 : 0, flat);
  }
  return out;
}

MilDataset latch_sequences(const LatchOptions& o) {
  HF_CHECK(o.num_samples() > 0 && o.num_instances() > 0, "latch_sequences", "num_samples and num_instances must be positive");
  HF_CHECK(o.num_characters() >= 3, "latch_sequences",
           "num_characters must be at least 3 (two signal symbols and a noise symbol), got " << o.num_characters());
  const std::size_t C = o.num_characters();
  Generator g(o.seed());
  MilDataset ds;
  ds.name = "latch";
  ds.num_features = C;
  for (std::size_t c = 0; c < C; ++c) ds.feature_names.push_back(std::string("char").append(std::to_string(c)));
  for (std::size_t s = 0; s < o.num_samples(); ++s) {
    const std::size_t label = g.below(2);
    std::vector<double> rows(o.num_instances() * C, 0.0);
    for (std::size_t t = 0; t < o.num_instances(); ++t) {
      std::size_t ch = t == 0 ? label : 2 + g.below(C - 2);
      rows[t * C + ch] = 1.0;
    }
    ds.add_bag(static_cast<std::int64_t>(s + 1), static_cast<std::int64_t>(label), rows);
  }
  return ds;
}

MilDataset planted_mil_bags(const PlantedMilOptions& o) {
  HF_CHECK(o.num_bags() > 0 && o.num_features() > 0, "planted_mil_bags", "num_bags and num_features must be positive");
  HF_CHECK(o.min_instances() >= 1 && o.min_instances() <= o.max_instances(), "planted_mil_bags",
           "need 1 <= min_instances <= max_instances, got " << o.min_instances() << ", " << o.max_instances());
  HF_CHECK(o.num_witnesses() >= 1 && o.num_witnesses() <= o.min_instances(), "planted_mil_bags",
           "num_witnesses must be in 1..min_instances, got " << o.num_witnesses());
  const std::size_t d = o.num_features();
  Generator g(o.seed());
  std::vector<double> u(d);
  double norm = 0;
  for (auto& x : u) x = g.normal(), norm += x * x;
  for (auto& x : u) x /= std::sqrt(norm);
  const auto num_pos = static_cast<std::size_t>(std::llround(double(o.num_bags()) * o.fraction_positive()));
  // Labels interleaved by a shuffle so that positives are not all first.
  std::vector<std::int64_t> labels(o.num_bags(), 0);
  std::fill(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(std::min(num_pos, o.num_bags())), 1);
  for (std::size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[g.below(i)]);
  MilDataset ds;
  ds.name = "planted-mil";
  ds.num_features = d;
  for (std::size_t j = 0; j < d; ++j) ds.feature_names.push_back(std::string("f").append(std::to_string(j + 1)));
  for (std::size_t b = 0; b < o.num_bags(); ++b) {
    const std::size_t n = o.min_instances() + g.below(o.max_instances() - o.min_instances() + 1);
    std::vector<double> rows(n * d);
    for (auto& x : rows) x = g.normal();
    if (labels[b] == 1) {
      std::vector<std::size_t> slots;
      while (slots.size() < o.num_witnesses()) {
        std::size_t s = g.below(n);
        if (std::find(slots.begin(), slots.end(), s) == slots.end()) slots.push_back(s);
      }
      for (std::size_t s : slots)
        for (std::size_t j = 0; j < d; ++j) rows[s * d + j] += o.signal() * u[j];
    }
    ds.add_bag(static_cast<std::int64_t>(b + 1), labels[b], rows);
  }
  return ds;
}

bool contains_motif(const std::string& seq, const std::string& motif) {
  if (motif.empty() || motif.size() > seq.size()) return false;
  for (std::size_t p = 0; p + motif.size() <= seq.size(); ++p) {
    bool ok = true;
    for (std::size_t k = 0; k < motif.size() && ok; ++k) ok = motif[k] == '?' || motif[k] == seq[p + k];
    if (ok) return true;
  }
  return false;
}

void implanted_repertoires(const ImplantedRepertoireOptions& o,
                           const std::function<void(std::size_t, ImplantedRepertoire&&)>& sink) {
  HF_CHECK(o.num_repertoires() > 0, "implanted_repertoires", "num_repertoires must be positive");
  HF_CHECK(o.min_sequences() >= 1 && o.min_sequences() <= o.max_sequences(), "implanted_repertoires",
           "need 1 <= min_sequences <= max_sequences");
  HF_CHECK(o.length_min() >= 4 && o.length_min() <= o.length_max(), "implanted_repertoires",
           "need 4 <= length_min <= length_max");
  HF_CHECK(o.witness_rate() >= 0 && o.witness_rate() <= 1, "implanted_repertoires", "witness_rate must be in [0, 1]");
  HF_CHECK(!o.motifs().empty(), "implanted_repertoires", "no motifs given");
  for (const auto& m : o.motifs())
    HF_CHECK(!m.empty() && m.size() + 3 <= o.length_min(), "implanted_repertoires",
             "motif '" << m << "' must be non-empty and fit inside the shortest sequence (length_min - 3)");
  HF_CHECK(o.letter_weights().empty() || o.letter_weights().size() == kAminoAcids.size(), "implanted_repertoires",
           "letter_weights needs " << kAminoAcids.size() << " values (one per letter of " << kAminoAcids << "), got "
                                   << o.letter_weights().size());
  std::vector<double> cumulative;  // of letter_weights, normalised; empty = uniform
  for (double w : o.letter_weights()) {
    HF_CHECK(std::isfinite(w) && w >= 0, "implanted_repertoires", "letter_weights must be finite and >= 0, got " << w);
    cumulative.push_back((cumulative.empty() ? 0.0 : cumulative.back()) + w);
  }
  HF_CHECK(cumulative.empty() || cumulative.back() > 0, "implanted_repertoires", "letter_weights are all zero");
  Generator g(o.seed());
  auto letter = [&] {
    if (cumulative.empty()) return kAminoAcids[g.below(kAminoAcids.size())];
    const double u = g.uniform() * cumulative.back();
    const auto k = static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    return kAminoAcids[std::min(k, kAminoAcids.size() - 1)];
  };
  auto has_any_motif = [&](const std::string& s) {
    for (const auto& m : o.motifs())
      if (contains_motif(s, m)) return true;
    return false;
  };
  auto background = [&] {
    std::string s;
    do {
      const std::size_t L = o.length_min() + g.below(o.length_max() - o.length_min() + 1);
      s.assign(L, 'F');
      s[0] = 'C';
      s[1] = 'A';
      for (std::size_t i = 2; i + 1 < L; ++i) s[i] = letter();
    } while (has_any_motif(s));
    return s;
  };
  const auto num_pos = static_cast<std::size_t>(std::llround(double(o.num_repertoires()) * o.fraction_positive()));
  std::vector<std::int64_t> labels(o.num_repertoires(), 0);
  std::fill(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(std::min(num_pos, labels.size())), 1);
  for (std::size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[g.below(i)]);
  for (std::size_t r = 0; r < labels.size(); ++r) {
    ImplantedRepertoire rep;
    rep.label = labels[r];
    const std::size_t n = o.min_sequences() + g.below(o.max_sequences() - o.min_sequences() + 1);
    if (rep.label == 1)
      rep.witnesses = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(o.witness_rate() * double(n))));
    for (std::size_t k = 0; k < n; ++k) {
      std::string s = background();
      if (k < rep.witnesses) {
        const std::string& m = o.motifs()[g.below(o.motifs().size())];
        // Inner position: after "CA", before "F".
        std::size_t pos = 2 + g.below(s.size() - 3 - m.size() + 1);
        for (std::size_t q = 0; q < m.size(); ++q) s[pos + q] = m[q] == '?' ? letter() : m[q];
      }
      rep.repertoire.sequences.push_back(std::move(s));
      rep.repertoire.counts.push_back(static_cast<double>(1 + g.below(o.max_count())));
    }
    // Witnesses were made first; shuffle so that they sit at random rows.
    auto& seqs = rep.repertoire.sequences;
    for (std::size_t i = seqs.size(); i > 1; --i) std::swap(seqs[i - 1], seqs[g.below(i)]);
    sink(r, std::move(rep));
  }
}

std::vector<ImplantedRepertoire> implanted_repertoires(const ImplantedRepertoireOptions& o) {
  std::vector<ImplantedRepertoire> out;
  implanted_repertoires(o, [&](std::size_t, ImplantedRepertoire&& rep) { out.push_back(std::move(rep)); });
  return out;
}

std::vector<double> cdr3_letter_weights() {
  // A     C      D      E      F      G      H      I      K      L
  // M     N      P      Q      R      S      T      V      W      Y
  return {0.072, 0.021, 0.053, 0.052, 0.041, 0.094, 0.022, 0.030, 0.031, 0.063,
          0.010, 0.052, 0.042, 0.052, 0.042, 0.113, 0.063, 0.052, 0.032, 0.063};
}

ImplantedRepertoireOptions random_motif_cohort(std::uint64_t seed, std::size_t num_repertoires) {
  // The cohort's draws come from their own stream so that the repertoires (drawn from `seed` by
  // implanted_repertoires) and the motifs do not share one.
  Generator g(seed ^ 0x6d6f746966ULL);
  std::vector<std::string> motifs;
  const std::size_t count = 1 + g.below(3);
  while (motifs.size() < count) {
    const std::size_t length = 3 + g.below(4);                             // 3..6
    const std::size_t max_gaps = std::min<std::size_t>(2, length - 3);     // keep >= 3 fixed letters
    const std::size_t gaps = g.below(max_gaps + 1);
    std::string m(length, '?');
    for (char& ch : m) ch = kAminoAcids[g.below(kAminoAcids.size())];
    std::vector<std::size_t> inner;
    for (std::size_t k = 1; k + 1 < length; ++k) inner.push_back(k);
    for (std::size_t k = 0; k < gaps; ++k) {  // distinct inner positions by a partial shuffle
      std::swap(inner[k], inner[k + g.below(inner.size() - k)]);
      m[inner[k]] = '?';
    }
    if (std::find(motifs.begin(), motifs.end(), m) == motifs.end()) motifs.push_back(m);
  }
  const double rate = 0.001 + 0.009 * g.uniform();
  return ImplantedRepertoireOptions(num_repertoires)
      .min_sequences(1600)
      .max_sequences(2400)
      .witness_rate(rate)
      .motifs(motifs)
      .letter_weights(cdr3_letter_weights())
      .seed(seed);
}

void write_repertoire_file(const std::string& path, const Repertoire& rep) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw DataError(path + ": cannot open file for writing");
  out << "amino_acid\ttemplates\n";
  char buf[32];
  for (std::size_t i = 0; i < rep.sequences.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.17g", rep.counts[i]);
    out << rep.sequences[i] << '\t' << buf << '\n';
  }
  if (!out) throw DataError(path + ": write error");
}

namespace {

// <dir>/metadata.tsv and <dir>/repertoires/, written one repertoire at a time.
class ImplantedWriter {
 public:
  explicit ImplantedWriter(const std::string& dir) : dir_(dir) {
    namespace fs = std::filesystem;
    fs::create_directories(fs::path(dir) / "repertoires");
    md_.open(fs::path(dir) / "metadata.tsv", std::ios::binary);
    if (!md_) throw DataError(dir + "/metadata.tsv: cannot open file for writing");
    md_ << "ID\tlabel\tn_sequences\tn_witnesses\n";
  }
  void add(std::size_t r, const ImplantedRepertoire& rep) {
    char id[32];
    std::snprintf(id, sizeof id, "rep_%04zu", r);
    md_ << id << '\t' << rep.label << '\t' << rep.repertoire.sequences.size() << '\t' << rep.witnesses << '\n';
    write_repertoire_file((std::filesystem::path(dir_) / "repertoires" / (std::string(id) + ".tsv")).string(),
                          rep.repertoire);
  }
  void close() {
    md_.close();
    if (!md_) throw DataError(dir_ + "/metadata.tsv: write error");
  }

 private:
  std::string dir_;
  std::ofstream md_;
};

}  // namespace

void write_implanted_dataset(const std::string& dir, const std::vector<ImplantedRepertoire>& reps) {
  ImplantedWriter w(dir);
  for (std::size_t r = 0; r < reps.size(); ++r) w.add(r, reps[r]);
  w.close();
}

void write_implanted_dataset(const std::string& dir, const ImplantedRepertoireOptions& options) {
  ImplantedWriter w(dir);
  implanted_repertoires(options, [&](std::size_t r, ImplantedRepertoire&& rep) { w.add(r, rep); });
  w.close();
}

ImplantedRepertoireOptions deeprc_scale_cohort(std::uint64_t seed, std::size_t num_repertoires, std::size_t sequences) {
  return random_motif_cohort(seed, num_repertoires).min_sequences(sequences).max_sequences(sequences);
}

}  // namespace hf
