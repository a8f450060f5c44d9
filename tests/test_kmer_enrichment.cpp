// Gapped 3-mer enrichment screen (datasets/kmer_enrichment.h): the Fisher tail against scipy, recovery of
// planted motifs, no false finding under random labels, and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "hopfield/datasets/kmer_enrichment.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"

using namespace hf;

namespace {

// Random background sequences over a reduced alphabet that never holds the planted letters G, S, K, Y, V,
// so no background sequence can contain a planted motif.
std::string background(Generator& g, std::size_t len) {
  static const std::string letters = "ACDEFHILMNPQRTW";
  std::string s;
  for (std::size_t i = 0; i < len; ++i) s += letters[static_cast<std::size_t>(g.next_u64() % letters.size())];
  return s;
}

// n repertoires of 60 sequences; the first half is positive: 2 sequences carry GSA, 2 carry K?YV.
std::vector<std::vector<std::string>> planted(std::size_t n, std::vector<std::int64_t>& y, std::uint64_t seed) {
  Generator g(seed);
  std::vector<std::vector<std::string>> reps(n);
  y.assign(n, 0);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t s = 0; s < 60; ++s) reps[r].push_back(background(g, 12 + g.next_u64() % 6));
    if (r < n / 2) {
      y[r] = 1;
      reps[r][3].replace(4, 3, "GSA");
      reps[r][7].replace(5, 3, "GSA");
      reps[r][11].replace(3, 4, "KQYV");
      reps[r][19].replace(6, 4, "KAYV");
    }
  }
  return reps;
}

}  // namespace

TEST_CASE("fisher_upper matches scipy's hypergeometric upper tail") {
  // /usr/bin/python3 -c "from scipy.stats import hypergeom; print(hypergeom.sf(a-1, npos+nneg, npos, a+b))"
  struct Case { std::size_t a, b, npos, nneg; double p; };
  const Case cases[] = {{48, 0, 48, 48, 1.5539853708519234e-28}, {5, 2, 10, 12, 0.11300309597523218},
                        {3, 3, 10, 10, 0.6857585139318887},      {0, 4, 6, 6, 1.0},
                        {10, 1, 20, 25, 0.00047158413579287113}};
  for (const Case& c : cases) {
    INFO(c.a << " " << c.b << " " << c.npos << " " << c.nneg);
    CHECK(fisher_upper(c.a, c.b, c.npos, c.nneg) == doctest::Approx(c.p).epsilon(1e-9));
  }
}

TEST_CASE("enriched_kmers finds the planted motifs and only them") {
  std::vector<std::int64_t> y;
  const auto reps = planted(40, y, 7);
  std::vector<std::size_t> train;
  for (std::size_t i = 0; i < reps.size(); ++i) train.push_back(i);
  const std::vector<Kmer> found = enriched_kmers(reps, train, y, 10);
  // Every positive holds GSA, KQYV and KAYV and no negative holds G, S, K, Y or V, so the patterns held by
  // all 20 positives and no negative are exactly the 3-mers inside the motifs: GSA, K_YV and the ones the two
  // fixed K?YV variants add (KQY, KAY, QYV, AYV, KQ_V, KA_V). Patterns mixing a motif letter with a random
  // background neighbour are held by a few positives only and must not pass the Bonferroni threshold.
  const std::vector<std::string> allowed = {"GSA", "K_YV", "KQY", "KAY", "QYV", "AYV", "KQ_V", "KA_V"};
  REQUIRE(!found.empty());
  bool gsa = false, kyv = false;
  for (const Kmer& k : found) {
    const std::string t = k.text();
    CHECK_MESSAGE(std::find(allowed.begin(), allowed.end(), t) != allowed.end(), "unexpected k-mer " << t);
    CHECK(k.negatives == 0);
    CHECK(k.positives == 20);
    CHECK(k.p_value < 1e-10);
    gsa = gsa || t == "GSA";
    kyv = kyv || t == "K_YV";
  }
  CHECK(gsa);
  CHECK(kyv);
  CHECK(found.size() == allowed.size());
}

TEST_CASE("enriched_kmers keeps nothing when the labels carry no motif") {
  std::vector<std::int64_t> y;
  const auto reps = planted(40, y, 11);
  // Labels that cut across the planted halves: every planted k-mer is in 10 positives and 10 negatives.
  std::vector<std::int64_t> crossed(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) crossed[i] = static_cast<std::int64_t>(i % 2);
  std::vector<std::size_t> train;
  for (std::size_t i = 0; i < reps.size(); ++i) train.push_back(i);
  CHECK(enriched_kmers(reps, train, crossed, 10).empty());
  // Only the training subset enters: with the positives left out nothing can be enriched.
  std::vector<std::size_t> negatives_only;
  for (std::size_t i = 20; i < 40; ++i) negatives_only.push_back(i);
  CHECK(enriched_kmers(reps, negatives_only, y, 10).empty());
}

TEST_CASE("enriched_kmers rejects bad letters, labels and indices") {
  std::vector<std::vector<std::string>> reps = {{"CASSGSAF"}, {"CASSXQF"}};
  std::vector<std::int64_t> y = {1, 0};
  try {
    enriched_kmers(reps, {0, 1}, y, 4);
    FAIL("expected an error for the letter X");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("enriched_kmers") != std::string::npos);
    CHECK(std::string(e.what()).find("CASSXQF") != std::string::npos);
  }
  CHECK_THROWS_AS(enriched_kmers(reps, {0, 2}, y, 4), Error);
  const std::vector<std::int64_t> bad_label = {1, 2};
  CHECK_THROWS_AS(enriched_kmers({{"CASSGSAF"}, {"CASSQF"}}, {0, 1}, bad_label, 4), Error);
}
