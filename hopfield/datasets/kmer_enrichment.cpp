// Gapped 3-mer enrichment screen (see kmer_enrichment.h).
#include "hopfield/datasets/kmer_enrichment.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>

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

namespace {

// read(i) gives repertoire i's sequences; the reference stays valid until the next call.
std::vector<Kmer> enriched(const std::function<const std::vector<std::string>&(std::size_t)>& read,
                           const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y, std::size_t limit) {
  for (std::size_t i : train)
    HF_CHECK(i < y.size() && (y[i] == 0 || y[i] == 1), "enriched_kmers",
             "training repertoire " << i << " has no 0/1 label (" << y.size() << " labels given)");

  constexpr std::size_t kA = 20, kPer = kA * kA * kA, kAll = 3 * kPer;
  int letter[256];
  std::fill(std::begin(letter), std::end(letter), -1);
  for (std::size_t i = 0; i < kA; ++i) letter[static_cast<unsigned char>(kAminoAcids[i])] = static_cast<int>(i);
  std::vector<std::size_t> pos(kAll, 0), neg(kAll, 0);
  std::vector<char> seen(kAll);
  std::size_t npos = 0, nneg = 0;
  for (std::size_t i : train) {
    std::fill(seen.begin(), seen.end(), 0);
    for (const std::string& q : read(i))
      for (std::size_t sh = 0; sh < 3; ++sh) {
        const auto& o = Kmer::kKmerShapes[sh];
        for (std::size_t p = 0; p + o[2] < q.size(); ++p) {
          const int la = letter[static_cast<unsigned char>(q[p + o[0]])];
          const int lb = letter[static_cast<unsigned char>(q[p + o[1]])];
          const int lc = letter[static_cast<unsigned char>(q[p + o[2]])];
          HF_CHECK(la >= 0 && lb >= 0 && lc >= 0, "enriched_kmers",
                   "repertoire " << i << ": sequence '" << q << "' has a letter outside " << kAminoAcids);
          const auto a = static_cast<std::size_t>(la), b = static_cast<std::size_t>(lb), c = static_cast<std::size_t>(lc);
          seen[sh * kPer + (a * kA + b) * kA + c] = 1;
        }
      }
    auto& count = y[i] == 1 ? pos : neg;
    (y[i] == 1 ? npos : nneg) += 1;
    for (std::size_t k = 0; k < kAll; ++k) count[k] += static_cast<std::size_t>(seen[k]);
  }
  std::vector<std::size_t> order;
  for (std::size_t k = 0; k < kAll; ++k)
    if (pos[k] + neg[k] > 0) order.push_back(k);
  const double tested = static_cast<double>(order.size());
  auto score = [&](std::size_t k) { return static_cast<double>(pos[k]) - static_cast<double>(neg[k]); };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score(a) > score(b); });
  std::vector<Kmer> out;
  for (std::size_t k : order) {
    if (out.size() >= limit || score(k) <= 0) break;
    const double p = fisher_upper(pos[k], neg[k], npos, nneg);
    if (p * tested >= 0.05) continue;
    Kmer m;
    m.shape = k / kPer;
    m.letters[0] = static_cast<int>(k % kPer / (kA * kA));
    m.letters[1] = static_cast<int>(k % (kA * kA) / kA);
    m.letters[2] = static_cast<int>(k % kA);
    m.positives = pos[k], m.negatives = neg[k], m.p_value = p;
    out.push_back(m);
  }
  return out;
}

}  // namespace

std::vector<Kmer> enriched_kmers(const std::vector<std::vector<std::string>>& sequences,
                                 const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                 std::size_t limit) {
  for (std::size_t i : train)
    HF_CHECK(i < sequences.size(), "enriched_kmers", "training index " << i << " out of range for " << sequences.size() << " repertoires");
  return enriched([&](std::size_t i) -> const std::vector<std::string>& { return sequences[i]; }, train, y, limit);
}

std::vector<Kmer> enriched_kmers(const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                                 const std::vector<std::int64_t>& y, std::size_t limit) {
  Repertoire held;  // one repertoire in memory at a time
  return enriched([&](std::size_t i) -> const std::vector<std::string>& {
    held = ds.read(i);
    return held.sequences;
  }, train, y, limit);
}

}  // namespace hf
