// Gapped k-mer enrichment screen (see kmer_enrichment.h).
//
// Counting: a pattern is a 64-bit code (shape index from bit 40, 5 bits per letter below). The distinct patterns of a
// few hundred repertoires run into tens of millions, nearly all held by one or two repertoires, so they are
// counted in two passes: the first adds every repertoire's distinct codes to a count-min sketch (two hashed
// rows of saturating 8-bit counters; a code's estimate is never below its true number of holders), the
// second counts exactly, per class, only the codes whose estimate reaches n_min, the fewest holders with
// which a pattern could be significant at all. Codes below n_min cannot be testable in Tarone's sense, so
// the correction is exact although they were never counted.
#include "hopfield/datasets/kmer_enrichment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <iterator>
#include <unordered_map>

#include "hopfield/engine/check.h"

namespace hf {

double fisher_upper(std::size_t a, std::size_t b, std::size_t npos, std::size_t nneg) {
  auto lc = [](double n, double k) { return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1); };
  const std::size_t m = a + b;
  double p = 0;
  for (std::size_t k = a; k <= std::min(m, npos); ++k)
    if (m - k <= nneg)
      p += std::exp(lc(double(npos), double(k)) + lc(double(nneg), double(m - k)) - lc(double(npos + nneg), double(m)));
  return std::min(1.0, p);
}

std::vector<std::vector<std::size_t>> kmer_shapes(const KmerScreenOptions& o) {
  HF_CHECK(o.max_span() >= 3 && o.max_span() <= 8, "kmer_shapes", "max_span=" << o.max_span() << " must be in 3..8");
  HF_CHECK(o.max_letters() >= 3 && o.max_letters() <= o.max_span(), "kmer_shapes",
           "max_letters=" << o.max_letters() << " must be in 3..max_span=" << o.max_span());
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t span = 3; span <= o.max_span(); ++span)
    for (std::size_t inner = 0; inner < (std::size_t{1} << (span - 2)); ++inner) {  // bit k set: offset k + 1 fixed
      std::vector<std::size_t> offs{0};
      for (std::size_t k = 0; k + 2 < span; ++k)
        if (inner >> k & 1) offs.push_back(k + 1);
      offs.push_back(span - 1);
      const std::size_t gaps = span - offs.size();
      if (offs.size() >= 3 && offs.size() <= o.max_letters() && gaps <= o.max_gaps()) out.push_back(offs);
    }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.back() != b.back() ? a.back() < b.back() : a < b;
  });
  return out;
}

std::string Kmer::text() const {
  std::string t(span(), '_');
  for (std::size_t k = 0; k < offsets.size(); ++k) t[offsets[k]] = kAminoAcids[static_cast<std::size_t>(letters[k])];
  return t;
}

namespace {

constexpr std::size_t kA = 20;

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Two k-mers are parts of one motif when some alignment puts at least 3 fixed letters of both on the same
// positions with the same letters and no position holds different letters in the two.
bool same_motif(const Kmer& a, const Kmer& b) {
  const auto span_a = static_cast<long>(a.span()), span_b = static_cast<long>(b.span());
  for (long shift = -span_b + 1; shift < span_a; ++shift) {  // b's offset 0 sits at a's offset `shift`
    std::size_t agree = 0;
    bool conflict = false;
    for (std::size_t i = 0; i < a.offsets.size() && !conflict; ++i)
      for (std::size_t j = 0; j < b.offsets.size(); ++j)
        if (static_cast<long>(a.offsets[i]) == shift + static_cast<long>(b.offsets[j])) {
          if (a.letters[i] == b.letters[j]) ++agree;
          else conflict = true;
        }
    if (!conflict && agree >= 3) return true;
  }
  return false;
}

// read(i) gives repertoire i's sequences; the reference stays valid until the next call.
std::vector<Kmer> enriched(const std::function<const std::vector<std::string>&(std::size_t)>& read,
                           const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y, std::size_t limit,
                           const KmerScreenOptions& o) {
  for (std::size_t i : train)
    HF_CHECK(i < y.size() && (y[i] == 0 || y[i] == 1), "enriched_kmers",
             "training repertoire " << i << " has no 0/1 label (" << y.size() << " labels given)");
  HF_CHECK(o.alpha() > 0 && o.alpha() < 1, "enriched_kmers", "alpha=" << o.alpha() << " must be in (0, 1)");
  const std::vector<std::vector<std::size_t>> shapes = kmer_shapes(o);
  int letter[256];
  std::fill(std::begin(letter), std::end(letter), -1);
  for (std::size_t i = 0; i < kA; ++i) letter[static_cast<unsigned char>(kAminoAcids[i])] = static_cast<int>(i);

  std::size_t npos = 0, nneg = 0;
  for (std::size_t i : train) (y[i] == 1 ? npos : nneg) += 1;

  // The distinct pattern codes of repertoire i, sorted.
  std::vector<std::uint64_t> codes;
  std::vector<int> idx;
  auto collect = [&](std::size_t i) {
    codes.clear();
    for (const std::string& q : read(i)) {
      idx.resize(q.size());
      for (std::size_t p = 0; p < q.size(); ++p) {
        idx[p] = letter[static_cast<unsigned char>(q[p])];
        HF_CHECK(idx[p] >= 0, "enriched_kmers", "repertoire " << i << ": sequence '" << q << "' has a letter outside " << kAminoAcids);
      }
      for (std::size_t sh = 0; sh < shapes.size(); ++sh) {
        const auto& offs = shapes[sh];
        for (std::size_t p = 0; p + offs.back() < q.size(); ++p) {
          std::uint64_t c = 0;
          for (std::size_t t : offs) c = (c << 5) | static_cast<std::uint64_t>(idx[p + t]);
          codes.push_back(c | static_cast<std::uint64_t>(sh) << 40);
        }
      }
    }
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  };

  // Pass 1: count-min sketch of the number of holders. A repertoire of 2000 sequences holds ~500,000
  // distinct codes; 2^26 slots per row keep the mean load of a slot near 1 for 128 of them, so few rare
  // codes reach n_min by collisions in both rows (8-bit counters: 2 x 64 MB).
  std::size_t slots = std::size_t{1} << 16;
  while (slots < (std::size_t{1} << 26) && slots < train.size() * (std::size_t{1} << 19)) slots <<= 1;
  std::vector<std::uint8_t> sketch(2 * slots, 0);
  auto bump = [](std::uint8_t& c) { c = c < 0xff ? static_cast<std::uint8_t>(c + 1) : c; };
  auto estimate = [&](std::uint64_t h) { return std::min(sketch[h & (slots - 1)], sketch[slots + ((h >> 32) & (slots - 1))]); };
  for (std::size_t i : train) {
    collect(i);
    for (std::uint64_t c : codes) {
      const std::uint64_t h = mix(c);
      bump(sketch[h & (slots - 1)]);
      bump(sketch[slots + ((h >> 32) & (slots - 1))]);
    }
  }
  // n_min: the fewest holders whose best table (all holders positive) can pass alpha even uncorrected.
  auto best_p = [&](std::size_t n) {
    const std::size_t a = std::min(n, npos);
    return fisher_upper(a, n - a, npos, nneg);
  };
  const std::size_t ntrain = npos + nneg;
  std::vector<double> pmin(ntrain + 1);
  for (std::size_t n = 0; n <= ntrain; ++n) pmin[n] = best_p(n);
  std::size_t n_min = 1;
  while (n_min <= ntrain && pmin[n_min] >= o.alpha()) ++n_min;
  // Every repertoire has been read (and its letters checked) before giving up.
  if (npos == 0 || nneg == 0 || limit == 0 || n_min > ntrain) return {};

  // Pass 2: exact holders per class of the codes that may reach n_min.
  std::unordered_map<std::uint64_t, std::array<std::uint32_t, 2>> count;
  for (std::size_t i : train) {
    collect(i);
    const std::size_t cls = y[i] == 1 ? 0 : 1;
    for (std::uint64_t c : codes)
      if (estimate(mix(c)) >= std::min<std::size_t>(n_min, 0xff)) count[c][cls] += 1;
  }
  std::vector<std::size_t> hist(ntrain + 1, 0);
  for (const auto& [c, pn] : count) hist[pn[0] + pn[1]] += 1;
  // Tarone: the smallest k with m(k) = #{patterns whose best p-value is below alpha / k} <= k.
  auto testable = [&](double k) {
    std::size_t m = 0;
    for (std::size_t n = n_min; n <= ntrain; ++n)
      if (pmin[n] < o.alpha() / k) m += hist[n];
    return m;
  };
  std::size_t lo = 1, hi = std::max<std::size_t>(1, count.size());
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (testable(static_cast<double>(mid)) <= mid) hi = mid;
    else lo = mid + 1;
  }
  const double correction = static_cast<double>(lo);

  std::vector<Kmer> kept;
  for (const auto& [c, pn] : count) {
    if (pn[0] <= pn[1] || pmin[pn[0] + pn[1]] >= o.alpha() / correction) continue;
    const double p = fisher_upper(pn[0], pn[1], npos, nneg);
    if (p * correction >= o.alpha()) continue;
    Kmer m;
    const auto sh = static_cast<std::size_t>(c >> 40);
    const std::size_t letters = shapes[sh].size();
    std::uint64_t code = c;
    m.offsets = shapes[sh];
    m.letters.resize(letters);
    for (std::size_t t = letters; t-- > 0;) {
      m.letters[t] = static_cast<int>(code & 31);
      code >>= 5;
    }
    m.positives = pn[0], m.negatives = pn[1], m.p_value = p, m.correction = correction;
    kept.push_back(std::move(m));
  }
  std::sort(kept.begin(), kept.end(), [](const Kmer& a, const Kmer& b) {
    const long sa = static_cast<long>(a.positives) - static_cast<long>(a.negatives);
    const long sb = static_cast<long>(b.positives) - static_cast<long>(b.negatives);
    if (sa != sb) return sa > sb;
    if (a.letters.size() != b.letters.size()) return a.letters.size() > b.letters.size();
    if (a.p_value != b.p_value) return a.p_value < b.p_value;
    return a.text() < b.text();
  });
  std::vector<Kmer> out;
  for (Kmer& k : kept) {
    if (out.size() >= limit) break;
    if (std::any_of(out.begin(), out.end(), [&](const Kmer& o2) { return same_motif(o2, k); })) continue;
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

std::vector<Kmer> enriched_kmers(const std::vector<std::vector<std::string>>& sequences,
                                 const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                 std::size_t limit, const KmerScreenOptions& options) {
  for (std::size_t i : train)
    HF_CHECK(i < sequences.size(), "enriched_kmers", "training index " << i << " out of range for " << sequences.size() << " repertoires");
  return enriched([&](std::size_t i) -> const std::vector<std::string>& { return sequences[i]; }, train, y, limit,
                  options);
}

std::vector<Kmer> enriched_kmers(const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                                 const std::vector<std::int64_t>& y, std::size_t limit, const KmerScreenOptions& options) {
  Repertoire held;  // one repertoire in memory at a time
  return enriched([&](std::size_t i) -> const std::vector<std::string>& {
    held = ds.read(i);
    return held.sequences;
  }, train, y, limit, options);
}

}  // namespace hf
