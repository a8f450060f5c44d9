// Immune repertoires in DeepRC's text layout (Widrich et al. 2020, github.com/ml-jku/DeepRC):
//   <root>/metadata.tsv        one row per repertoire: an ID column and target columns (tab, ',' or ';')
//   <root>/**/<ID>.<ext>       one file per repertoire anywhere below the root, with a header holding the
//                              columns `amino_acid` (the CDR3 sequence) and `templates` (its count)
// IDs are matched on the file name without extension, on both sides ("rep_00398.tsv" in the metadata
// matches repertoires/rep_00398.tsv). A missing final newline is fine.
//
// Encoding (DeepRC's): a sequence of length L becomes L rows of 23 channels. Channels 0..19 one-hot over
// ACDEFGHIKLMNPQRSTVWY; with v_j = |0.5 - (1 - j/(L-1))| * 2 for j = 0..L-1 (1 at both ends, ~0 in the
// middle) channel 20 holds v_j on the first ceil(L/2) positions (0 elsewhere), channel 21 holds v_j on the
// remaining positions, channel 22 holds 1 - v_j everywhere. For L = 1 the formula is 0/0; we set v_0 = 1
// (the single position is both the first and the last one), so channels 20/21/22 are 1/0/0.
// Rows whose sequence is empty or has other letters are dropped and counted.
//
// Streaming: RepertoireDataset keeps only the metadata and file paths; a repertoire is read from disk when
// a batch asks for it, so memory is bounded by the batch, not by the dataset. RepertoireStream reads one
// (possibly huge) repertoire file in chunks of sequences.
//
// Legend: R repertoires in a batch, S sequences in the batch (all repertoires concatenated),
// Lmax = longest sequence in the batch, A = 23 channels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/engine/tensor.h"

namespace hf {

inline constexpr std::string_view kAminoAcids = "ACDEFGHIKLMNPQRSTVWY";
inline constexpr std::size_t kRepertoireChannels = 23;  // A

enum class CountWeighting {
  None,  // every sequence weighs 1
  Log,   // w = ln(1 + count): grows slowly with the count, stays > 0 for singletons and finite for count 0
};

struct RepertoireOptions {
  HF_ARG(std::string, metadata) = "metadata.tsv";     // relative to the root folder, or absolute
  HF_ARG(std::string, id_column) = "ID";
  HF_ARG(std::string, target_column) = "";            // empty = the first column after the ID column
  HF_ARG(std::vector<std::string>, classes) = {};     // allowed target values in class order; empty = sorted levels
  HF_ARG(std::string, sequence_column) = "amino_acid";
  HF_ARG(std::string, count_column) = "templates";    // empty = every count is 1
};

// One repertoire's rows that passed the alphabet check.
struct Repertoire {
  std::vector<std::string> sequences;
  std::vector<double> counts;  // same length, >= 0
  std::size_t dropped = 0;     // rows dropped for letters outside the alphabet or an empty sequence
};

// v_j of the position channels (see the header comment); L >= 1, j < L.
double position_value(std::size_t j, std::size_t L);
// Writes the L x 23 encoding of `seq` (only alphabet letters) into `out` (row-major, L * 23 values).
void encode_sequence(std::string_view seq, float* out);
void encode_sequence(std::string_view seq, double* out);

// Parses one repertoire file from memory. Throws DataError (file, line, column) for an empty file, a
// header without the sequence or count column, ragged rows, a count that is not a finite number >= 0.
Repertoire parse_repertoire(std::string_view text, const std::string& name,
                            const RepertoireOptions& options = RepertoireOptions());
Repertoire load_repertoire(const std::string& path, const RepertoireOptions& options = RepertoireOptions());

struct RepertoireMetadata {
  std::vector<std::string> ids;        // as written
  std::vector<std::string> targets;    // raw target values
  std::vector<std::size_t> lines;      // 1-based line of each row
  std::string target_column;
};
// Throws DataError for an empty file, missing ID/target column, ragged rows, an empty or duplicate ID
// (naming both lines), a missing target value.
RepertoireMetadata parse_repertoire_metadata(std::string_view text, const std::string& name,
                                             const RepertoireOptions& options = RepertoireOptions());

struct RepertoireBatch {
  Tensor x;        // (S, Lmax, A) encoded sequences, zero rows after each sequence's end
  Tensor lengths;  // (S,) Int64
  Tensor weights;  // (S,) count weights (all 1 for CountWeighting::None), batch dtype
  Tensor targets;  // (R,) Int64 class indices (empty tensor when built from bare repertoires)
  std::vector<std::size_t> offsets;       // R + 1: repertoire r owns sequences [offsets[r], offsets[r+1])
  std::vector<std::size_t> repertoires;   // R dataset indices (empty when built from bare repertoires)
  std::size_t dropped = 0;                // rows dropped while reading these repertoires
};

struct RepertoireBatchOptions {
  HF_ARG(std::size_t, subsample) = 0;     // > 0: draw this many sequences per repertoire (training); 0 = all
  HF_ARG(std::uint64_t, seed) = 0;        // subsampling seed; combined with epoch and repertoire index
  HF_ARG(std::uint64_t, epoch) = 0;
  HF_ARG(CountWeighting, weighting) = CountWeighting::None;
  HF_ARG(Dtype, dtype) = Dtype::Float32;
};

// Encodes given repertoires (all their sequences) into one batch.
// Keeps a uniform sample of n of rep's sequences (with their counts), drawn without replacement by a
// partial Fisher-Yates shuffle from gen; nothing changes when n == 0 or n >= the number of sequences.
void subsample_repertoire(Repertoire& rep, std::size_t n, Generator& gen);
// Draws from gen exactly what subsample_repertoire would for a repertoire of num_sequences sequences, without
// the repertoire: a data-parallel rank that leaves a repertoire to another keeps its generator in step.
void skip_subsample(std::size_t num_sequences, std::size_t n, Generator& gen);

RepertoireBatch encode_repertoires(const std::vector<const Repertoire*>& reps,
                                   const RepertoireBatchOptions& options = RepertoireBatchOptions());

class RepertoireDataset {
 public:
  // Reads the metadata and locates every repertoire file below `root` (no sequence is read yet).
  // Throws DataError for a missing metadata file, duplicate IDs, IDs without a file (naming the metadata
  // line), or two files with the same name stem for one ID.
  RepertoireDataset(const std::string& root, const RepertoireOptions& options = RepertoireOptions());

  std::size_t size() const { return ids_.size(); }
  const std::string& id(std::size_t i) const { return ids_[i]; }
  const std::string& path(std::size_t i) const { return paths_[i]; }
  std::int64_t label(std::size_t i) const { return labels_[i]; }
  const std::vector<std::int64_t>& labels() const { return labels_; }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& metadata_path() const { return metadata_path_; }
  const std::string& target_column() const { return target_column_; }

  Repertoire read(std::size_t i) const;  // reads repertoire i from disk
  // Reads the listed repertoires and encodes them; with options.subsample > 0 each contributes at most
  // that many sequences, drawn without replacement from (seed, epoch, repertoire index).
  RepertoireBatch batch(const std::vector<std::size_t>& indices,
                        const RepertoireBatchOptions& options = RepertoireBatchOptions()) const;

 private:
  RepertoireOptions options_;
  std::string metadata_path_, target_column_;
  std::vector<std::string> ids_, paths_, classes_;
  std::vector<std::int64_t> labels_;
};

// Reads one repertoire file in chunks of at most `chunk` sequences, holding only the current chunk.
class RepertoireStream {
 public:
  RepertoireStream(const std::string& path, std::size_t chunk, const RepertoireOptions& options = RepertoireOptions());
  bool next(Repertoire& out);  // false once the file is exhausted; out.dropped counts this chunk's drops
  std::size_t dropped() const { return dropped_; }     // total so far
  std::size_t sequences() const { return sequences_; }  // total so far

 private:
  std::string path_;
  std::size_t chunk_;
  std::ifstream in_;
  RepertoireOptions options_;
  std::size_t line_no_ = 0, seq_col_ = 0, count_col_ = 0, ncol_ = 0;
  bool has_count_ = false;
  char sep_ = '\t';
  std::size_t dropped_ = 0, sequences_ = 0;
};

}  // namespace hf
