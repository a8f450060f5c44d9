// Synthetic data sets with a known signal, so that every program runs without ../shared/data and tests can
// check that a model finds what was planted.
//   - bit_pattern_bags: hflayers' BitPatternSet (MIL over bit patterns; positive bags carry signals)
//   - latch_sequences: hflayers' LatchSequenceSet (class = first symbol, the rest is noise)
//   - planted_mil_bags: Gaussian MIL bags, positive bags hold witnesses shifted along a hidden direction
//   - implanted repertoires: DeepRC-layout repertoires where positives carry motif sequences at a rate
// All draw from hf::Generator with explicit seeds (the streams differ from torch's, the structure does not),
// except bit_pattern_bags, which draws torch's CPU stream and so gives hflayers' bags bit for bit.
//
// Legend: B bags, N instances per bag, d features / bits, C characters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/arg.h"

namespace hf {

// hflayers.auxiliary.data.BitPatternSet: B bags of N random non-zero bit patterns of num_bits bits; the first
// ceil(B * fraction_targets) bags are positive and have num_signals_per_bag instances (distinct slots)
// replaced by one of num_signals fixed signal patterns; no background instance equals a signal. Drawn as
// hflayers draws them, from torch's CPU generator (MT19937, torch.randint = 32-bit output modulo the range)
// seeded with seed_signals / seed_data: the same options give hflayers' signals, bags and labels exactly.
struct BitPatternOptions {
  BitPatternOptions(std::size_t num_bags, std::size_t num_instances, std::size_t num_signals)
      : num_bags_(num_bags), num_instances_(num_instances), num_signals_(num_signals) {}
  HF_ARG(std::size_t, num_bags);
  HF_ARG(std::size_t, num_instances);
  HF_ARG(std::size_t, num_signals);
  HF_ARG(std::size_t, num_signals_per_bag) = 1;
  HF_ARG(double, fraction_targets) = 0.5;
  HF_ARG(std::size_t, num_bits) = 8;
  HF_ARG(std::uint64_t, seed_signals) = 43;
  HF_ARG(std::uint64_t, seed_data) = 44;
};
struct BitPatternSet {
  MilDataset bags;                       // B bags of N instances, d = num_bits, values 0/1
  std::vector<std::vector<int>> signals;  // num_signals x num_bits
};
BitPatternSet bit_pattern_bags(const BitPatternOptions& options);

// hflayers.auxiliary.data.LatchSequenceSet: num_samples sequences of num_instances one-hot characters
// (C = num_characters >= 3); the first character is 0 or 1 and is the label, the others are drawn from 2..C-1.
struct LatchOptions {
  explicit LatchOptions(std::size_t num_samples) : num_samples_(num_samples) {}
  HF_ARG(std::size_t, num_samples);
  HF_ARG(std::size_t, num_instances) = 20;
  HF_ARG(std::size_t, num_characters) = 6;
  HF_ARG(std::uint64_t, seed) = 43;
};
MilDataset latch_sequences(const LatchOptions& options);  // bag = sequence, instance = one-hot character

// Gaussian MIL: instances ~ N(0, I_d); bag sizes uniform in [min_instances, max_instances]; in a positive bag
// num_witnesses instances (at random slots) are shifted by signal * u, u a fixed random unit vector.
struct PlantedMilOptions {
  PlantedMilOptions(std::size_t num_bags, std::size_t num_features) : num_bags_(num_bags), num_features_(num_features) {}
  HF_ARG(std::size_t, num_bags);
  HF_ARG(std::size_t, num_features);
  HF_ARG(std::size_t, min_instances) = 4;
  HF_ARG(std::size_t, max_instances) = 12;
  HF_ARG(std::size_t, num_witnesses) = 1;
  HF_ARG(double, fraction_positive) = 0.5;
  HF_ARG(double, signal) = 3.0;
  HF_ARG(std::uint64_t, seed) = 0;
};
MilDataset planted_mil_bags(const PlantedMilOptions& options);

// Repertoires with implanted motifs, in the spirit of ../shared/data/repertoire-implanted: CDR3-like
// background sequences "CA" + random letters + "F" of length length_min..length_max that contain no motif;
// in positive repertoires a fraction witness_rate of the sequences (at least one) carries a motif ('?' = any
// letter) at a random inner position. Counts are uniform in 1..max_count.
struct ImplantedRepertoireOptions {
  explicit ImplantedRepertoireOptions(std::size_t num_repertoires) : num_repertoires_(num_repertoires) {}
  HF_ARG(std::size_t, num_repertoires);
  HF_ARG(std::size_t, min_sequences) = 200;
  HF_ARG(std::size_t, max_sequences) = 300;
  HF_ARG(std::size_t, length_min) = 12;
  HF_ARG(std::size_t, length_max) = 18;
  HF_ARG(double, witness_rate) = 0.01;
  HF_ARG(double, fraction_positive) = 0.5;
  HF_ARG(std::vector<std::string>, motifs) = {"GSA", "K?YV"};
  HF_ARG(std::size_t, max_count) = 20;
  HF_ARG(std::uint64_t, seed) = 0;
  // Relative frequencies of the 20 letters of kAminoAcids in background positions; empty = uniform.
  HF_ARG(std::vector<double>, letter_weights) = {};
};

// The letter frequencies of ../shared/data/repertoire-implanted's background (CDR3-like: S, G, A frequent,
// M, C, H rare), in kAminoAcids order.
std::vector<double> cdr3_letter_weights();

// A held-out cohort "like ../shared/data/repertoire-implanted but with other motifs" (issue 21): 160
// repertoires of 1600..2400 sequences with cdr3_letter_weights(), half positive, and drawn from `seed`:
//   1..3 motifs, each of length 3..6 with 0..2 gap positions ('?'), gaps only inside (first and last letter
//   fixed) and at least 3 fixed letters (so length 3 has no gap and length 4 at most one); distinct motifs;
//   one witness rate for the cohort, uniform in [0.001, 0.01].
// The motifs and the rate are in the returned options (motifs(), witness_rate()).
ImplantedRepertoireOptions random_motif_cohort(std::uint64_t seed, std::size_t num_repertoires = 160);
struct ImplantedRepertoire {
  Repertoire repertoire;
  std::int64_t label = 0;
  std::size_t witnesses = 0;
};
std::vector<ImplantedRepertoire> implanted_repertoires(const ImplantedRepertoireOptions& options);
// The same repertoires handed to `sink` one at a time (index, repertoire) and not kept: for cohorts too big to
// hold (40 x 300,000 sequences is ~12 million strings). The vector version collects this stream.
void implanted_repertoires(const ImplantedRepertoireOptions& options,
                           const std::function<void(std::size_t, ImplantedRepertoire&&)>& sink);
// true if `seq` contains `motif` ('?' matches any letter).
bool contains_motif(const std::string& seq, const std::string& motif);

// Writes a repertoire as a DeepRC file (header "amino_acid\ttemplates").
void write_repertoire_file(const std::string& path, const Repertoire& rep);
// Writes <dir>/metadata.tsv (ID label n_sequences n_witnesses) and <dir>/repertoires/rep_NNNN.tsv.
void write_implanted_dataset(const std::string& dir, const std::vector<ImplantedRepertoire>& reps);
// The same files generated and written one repertoire at a time (memory: one repertoire).
void write_implanted_dataset(const std::string& dir, const ImplantedRepertoireOptions& options);

// A DeepRC-scale cohort (issue 20): random_motif_cohort(seed, num_repertoires) with exactly `sequences`
// sequences per repertoire (DeepRC's real cohorts hold 10^5 - 10^6 per repertoire), e.g. 40 x 300,000.
ImplantedRepertoireOptions deeprc_scale_cohort(std::uint64_t seed, std::size_t num_repertoires = 40,
                                               std::size_t sequences = 300000);

}  // namespace hf
