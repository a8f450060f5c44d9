// Gapped k-mer enrichment screen (datasets/kmer_enrichment.h): the Fisher tail against scipy, the shapes,
// recovery of planted motifs (3-mers, and longer motifs with two gaps), no false finding under random labels,
// and bad input.
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
  // The gapped 3-mers only (the screen's shapes before issue 21).
  const std::vector<Kmer> found =
      enriched_kmers(reps, train, y, 10, KmerScreenOptions().max_span(4).max_gaps(1).max_letters(3));
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

TEST_CASE("kmer_shapes: spans 3..6, at most 2 inner gaps, at least 3 letters") {
  const auto shapes = kmer_shapes();
  // span 3: 1; span 4: 1 + 2 (one gap); span 5: 1 + 3 + 3; span 6: 1 + 4 + 6 (two gaps).
  CHECK(shapes.size() == 22);
  CHECK(shapes.front() == std::vector<std::size_t>{0, 1, 2});
  for (const auto& s : shapes) {
    CHECK(s.front() == 0);
    CHECK(s.size() >= 3);
    CHECK(s.back() + 1 - s.size() <= 2);
    CHECK(std::is_sorted(s.begin(), s.end()));
  }
  CHECK(kmer_shapes(KmerScreenOptions().max_span(4).max_gaps(1).max_letters(3)) ==
        std::vector<std::vector<std::size_t>>{{0, 1, 2}, {0, 1, 3}, {0, 2, 3}});
  CHECK_THROWS_WITH_AS(kmer_shapes(KmerScreenOptions().max_span(2)), doctest::Contains("max_span"), Error);
}

TEST_CASE("enriched_kmers finds longer motifs with two gaps, one k-mer per motif") {
  // Positives carry G?SK?Y (4 letters over 6 positions) and VY?G twice each; each gap holds a random background
  // letter, as in the generated cohorts, so only the motif's fixed letters are shared by the positives.
  Generator g(5);
  std::vector<std::vector<std::string>> reps(40);
  std::vector<std::int64_t> y(40, 0);
  for (std::size_t r = 0; r < reps.size(); ++r) {
    for (std::size_t s = 0; s < 60; ++s) reps[r].push_back(background(g, 12 + g.next_u64() % 6));
    if (r < 20) {
      y[r] = 1;
      auto fill = [&](std::string m) {
        for (char& ch : m)
          if (ch == '?') ch = background(g, 1)[0];
        return m;
      };
      reps[r][2].replace(3, 6, fill("G?SK?Y"));
      reps[r][9].replace(5, 6, fill("G?SK?Y"));
      reps[r][14].replace(4, 4, fill("VY?G"));
      reps[r][30].replace(2, 4, fill("VY?G"));
    }
  }
  std::vector<std::size_t> train;
  for (std::size_t i = 0; i < reps.size(); ++i) train.push_back(i);
  const std::vector<Kmer> found = enriched_kmers(reps, train, y, 10);
  REQUIRE(found.size() == 2);  // every other significant pattern is a part of one of the two
  std::vector<std::string> texts = {found[0].text(), found[1].text()};
  std::sort(texts.begin(), texts.end());
  CHECK(texts == std::vector<std::string>{"G_SK_Y", "VY_G"});
  for (const Kmer& k : found) {
    CHECK(k.positives == 20);
    CHECK(k.negatives == 0);
    CHECK(k.p_value * k.correction < 0.05);
  }
  // The 3-mer screen alone sees only parts of G?SK?Y (G_SK, S_K_Y does not fit): a part, not the motif.
  const auto old = enriched_kmers(reps, train, y, 10, KmerScreenOptions().max_span(4).max_gaps(1).max_letters(3));
  for (const Kmer& k : old) CHECK(k.letters.size() == 3);
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
