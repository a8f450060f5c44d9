// DeepRC-layout repertoire reading, sequence encoding, subsampling and streaming.
#include "hopfield/datasets/repertoire.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "hopfield/datasets/text_reader.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"

namespace hf {

namespace fs = std::filesystem;

namespace {

// Letter -> channel 0..19, or -1.
const std::array<int, 256>& letter_table() {
  static const std::array<int, 256> t = [] {
    std::array<int, 256> a{};
    a.fill(-1);
    for (std::size_t i = 0; i < kAminoAcids.size(); ++i) a[static_cast<unsigned char>(kAminoAcids[i])] = static_cast<int>(i);
    return a;
  }();
  return t;
}

bool valid_sequence(std::string_view s) {
  if (s.empty()) return false;
  const auto& t = letter_table();
  for (char c : s)
    if (t[static_cast<unsigned char>(c)] < 0) return false;
  return true;
}

template <class T>
void encode_into(std::string_view seq, T* out) {
  const auto& tab = letter_table();
  const std::size_t L = seq.size(), half = (L + 1) / 2;  // ceil(L/2)
  for (std::size_t j = 0; j < L; ++j) {
    T* row = out + j * kRepertoireChannels;
    std::fill(row, row + kRepertoireChannels, T(0));
    int c = tab[static_cast<unsigned char>(seq[j])];
    HF_CHECK(c >= 0, "encode_sequence", "letter " << quote_token(seq.substr(j, 1)) << " is not one of " << kAminoAcids);
    row[c] = T(1);
    const double v = position_value(j, L);
    row[j < half ? 20 : 21] = static_cast<T>(v);
    row[22] = static_cast<T>(1.0 - v);
  }
}

// Column positions of a repertoire file's header.
struct RepertoireHeader {
  char sep = '\t';
  std::size_t ncol = 0, seq = 0, count = 0;
  bool has_count = false;
};

RepertoireHeader read_header(TextReader& rd, const RepertoireOptions& o) {
  RepertoireHeader h;
  h.sep = detect_separator(rd.line(), '\t');
  const auto& f = rd.split(h.sep);
  h.ncol = f.size();
  bool found_seq = false;
  for (std::size_t j = 0; j < f.size(); ++j) {
    if (f[j] == o.sequence_column()) h.seq = j, found_seq = true;
    if (!o.count_column().empty() && f[j] == o.count_column()) h.count = j, h.has_count = true;
  }
  if (!found_seq) rd.fail("missing column: expected a header column '" + o.sequence_column() + "'");
  if (!o.count_column().empty() && !h.has_count)
    rd.fail("missing column: expected a header column '" + o.count_column() + "' (or no count column configured)");
  return h;
}

// Parses the current line of `rd` as a data row; appends to `rep` or counts a drop.
void read_row(TextReader& rd, const RepertoireHeader& h, const RepertoireOptions& o, Repertoire& rep) {
  const auto& f = rd.split(h.sep);
  rd.expect_fields(h.ncol, "fields (one per header column)");
  double count = 1.0;
  if (h.has_count) {
    count = rd.number(h.count, o.count_column());
    if (count < 0) rd.fail_at(h.count, o.count_column(), "expected a count >= 0, got " + quote_token(f[h.count]));
  }
  std::string_view s = f[h.seq];
  if (!valid_sequence(s)) {
    ++rep.dropped;
    return;
  }
  rep.sequences.emplace_back(s);
  rep.counts.push_back(count);
}

std::string stem_of(const std::string& id) { return fs::path(id).stem().string(); }

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

double position_value(std::size_t j, std::size_t L) {
  HF_CHECK(L >= 1 && j < L, "position_value", "position " << j << " outside a sequence of length " << L);
  if (L == 1) return 1.0;
  const double x = static_cast<double>(j) / static_cast<double>(L - 1);
  return std::abs(0.5 - (1.0 - x)) * 2.0;
}

void encode_sequence(std::string_view seq, float* out) { encode_into(seq, out); }
void encode_sequence(std::string_view seq, double* out) { encode_into(seq, out); }

Repertoire parse_repertoire(std::string_view text, const std::string& name, const RepertoireOptions& options) {
  TextReader rd(text, name);
  while (rd.next_line() && rd.line().empty()) {
  }
  if (rd.line().empty())
    throw DataError(name + ": empty file; expected a header with the column '" + options.sequence_column() + "'");
  RepertoireHeader h = read_header(rd, options);
  Repertoire rep;
  while (rd.next_line()) {
    if (rd.line().empty()) continue;
    read_row(rd, h, options, rep);
  }
  return rep;
}

Repertoire load_repertoire(const std::string& path, const RepertoireOptions& options) {
  return parse_repertoire(read_text_file(path), path, options);
}

RepertoireMetadata parse_repertoire_metadata(std::string_view text, const std::string& name,
                                             const RepertoireOptions& options) {
  TextReader rd(text, name);
  while (rd.next_line() && rd.line().empty()) {
  }
  if (rd.line().empty()) throw DataError(name + ": empty file; expected a header with the column '" + options.id_column() + "'");
  const char sep = detect_separator(rd.line(), '\t');
  const auto& head = rd.split(sep);
  const std::size_t ncol = head.size();
  std::size_t id_col = ncol, target_col = ncol;
  for (std::size_t j = 0; j < ncol; ++j) {
    if (head[j] == options.id_column()) id_col = j;
    if (!options.target_column().empty() && head[j] == options.target_column()) target_col = j;
  }
  if (id_col == ncol) rd.fail("missing column: expected an ID column '" + options.id_column() + "'");
  if (options.target_column().empty()) {
    for (std::size_t j = 0; j < ncol && target_col == ncol; ++j)
      if (j != id_col) target_col = j;
    if (target_col == ncol) rd.fail("missing column: expected a target column besides '" + options.id_column() + "'");
  } else if (target_col == ncol) {
    rd.fail("missing column: expected a target column '" + options.target_column() + "'");
  }
  RepertoireMetadata md;
  md.target_column = std::string(head[target_col]);
  std::unordered_map<std::string, std::size_t> seen;  // stem -> line
  while (rd.next_line()) {
    if (rd.line().empty()) continue;
    const auto& f = rd.split(sep);
    rd.expect_fields(ncol, "fields (one per header column)");
    std::string id(f[id_col]);
    if (id.empty()) rd.fail_at(id_col, options.id_column(), "empty ID (expected a repertoire file name)");
    auto [it, inserted] = seen.emplace(stem_of(id), rd.line_no());
    if (!inserted)
      rd.fail_at(id_col, options.id_column(),
                 "duplicate ID " + quote_token(id) + " (already on line " + std::to_string(it->second) + ")");
    if (f[target_col].empty()) rd.fail_at(target_col, md.target_column, "missing target value");
    md.ids.push_back(std::move(id));
    md.targets.emplace_back(f[target_col]);
    md.lines.push_back(rd.line_no());
  }
  if (md.ids.empty()) throw DataError(name + ": no rows after the header (expected one row per repertoire)");
  return md;
}

RepertoireBatch encode_repertoires(const std::vector<const Repertoire*>& reps, const RepertoireBatchOptions& options) {
  HF_CHECK(!reps.empty(), "encode_repertoires", "no repertoires given");
  const Dtype dt = options.dtype();
  HF_CHECK(dt == Dtype::Float32 || dt == Dtype::Float64, "encode_repertoires",
           "dtype must be float32 or float64, got " << dtype_name(dt));
  RepertoireBatch b;
  b.offsets.push_back(0);
  std::size_t lmax = 0;
  for (const Repertoire* r : reps) {
    b.offsets.push_back(b.offsets.back() + r->sequences.size());
    b.dropped += r->dropped;
    for (const auto& s : r->sequences) lmax = std::max(lmax, s.size());
  }
  const std::size_t S = b.offsets.back();
  b.x = zeros({S, lmax, kRepertoireChannels}, dt);
  b.lengths = zeros({S}, Dtype::Int64);
  b.weights = zeros({S}, dt);
  auto* len = b.lengths.data<std::int64_t>();
  std::size_t i = 0;
  for (const Repertoire* r : reps) {
    for (std::size_t k = 0; k < r->sequences.size(); ++k, ++i) {
      const std::string& s = r->sequences[k];
      len[i] = static_cast<std::int64_t>(s.size());
      const double w = options.weighting() == CountWeighting::Log ? std::log1p(r->counts[k]) : 1.0;
      if (dt == Dtype::Float32) {
        encode_into(s, b.x.data<float>() + i * lmax * kRepertoireChannels);
        b.weights.data<float>()[i] = static_cast<float>(w);
      } else {
        encode_into(s, b.x.data<double>() + i * lmax * kRepertoireChannels);
        b.weights.data<double>()[i] = w;
      }
    }
  }
  return b;
}

RepertoireDataset::RepertoireDataset(const std::string& root, const RepertoireOptions& options) : options_(options) {
  if (!fs::is_directory(root)) throw DataError(root + ": not a directory (expected a repertoire dataset folder)");
  fs::path mp(options.metadata());
  if (mp.is_relative()) mp = fs::path(root) / mp;
  metadata_path_ = mp.string();
  RepertoireMetadata md = parse_repertoire_metadata(read_text_file(metadata_path_), metadata_path_, options);
  target_column_ = md.target_column;

  // Every regular file below the root, by stem, for the stems the metadata asks for.
  std::unordered_map<std::string, std::size_t> wanted;  // stem -> metadata row
  for (std::size_t i = 0; i < md.ids.size(); ++i) wanted.emplace(stem_of(md.ids[i]), i);
  std::vector<std::string> found(md.ids.size());
  const fs::path meta_canon = fs::weakly_canonical(mp);
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    if (fs::weakly_canonical(it->path()) == meta_canon) continue;
    auto w = wanted.find(it->path().stem().string());
    if (w == wanted.end()) continue;
    std::string& slot = found[w->second];
    if (!slot.empty())
      throw DataError(data_location(metadata_path_, md.lines[w->second]) + ": ID " + quote_token(md.ids[w->second]) +
                      " matches two files: " + slot + " and " + it->path().string() + " (expected exactly one)");
    slot = it->path().string();
  }
  for (std::size_t i = 0; i < md.ids.size(); ++i)
    if (found[i].empty())
      throw DataError(data_location(metadata_path_, md.lines[i]) + ": missing repertoire file for ID " +
                      quote_token(md.ids[i]) + " (expected a file named " + stem_of(md.ids[i]) + ".* below " + root + ")");

  // Target values -> class indices.
  if (!options.classes().empty()) {
    classes_ = options.classes();
  } else {
    std::set<std::string> lv(md.targets.begin(), md.targets.end());
    classes_.assign(lv.begin(), lv.end());
  }
  std::map<std::string, std::int64_t> class_of;
  for (std::size_t c = 0; c < classes_.size(); ++c) class_of[classes_[c]] = static_cast<std::int64_t>(c);
  for (std::size_t i = 0; i < md.ids.size(); ++i) {
    auto c = class_of.find(md.targets[i]);
    if (c == class_of.end())
      throw DataError(data_location(metadata_path_, md.lines[i]) + ": unknown label " + quote_token(md.targets[i]) +
                      " in column '" + target_column_ + "' (expected one of the configured classes)");
    labels_.push_back(c->second);
  }
  ids_ = std::move(md.ids);
  paths_ = std::move(found);
}

Repertoire RepertoireDataset::read(std::size_t i) const {
  HF_CHECK(i < size(), "RepertoireDataset::read", "repertoire " << i << " out of range for " << size());
  return load_repertoire(paths_[i], options_);
}

void subsample_repertoire(Repertoire& r, std::size_t n, Generator& g) {
  if (n == 0 || r.sequences.size() <= n) return;
  // Partial Fisher-Yates: the first n slots become a uniform sample without replacement.
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t j = k + static_cast<std::size_t>(g.below(r.sequences.size() - k));
    std::swap(r.sequences[k], r.sequences[j]);
    std::swap(r.counts[k], r.counts[j]);
  }
  r.sequences.resize(n);
  r.counts.resize(n);
}

void skip_subsample(std::size_t num_sequences, std::size_t n, Generator& g) {
  if (n == 0 || num_sequences <= n) return;
  for (std::size_t k = 0; k < n; ++k) g.below(num_sequences - k);  // the draws of subsample_repertoire
}

RepertoireBatch RepertoireDataset::batch(const std::vector<std::size_t>& indices,
                                         const RepertoireBatchOptions& options) const {
  HF_CHECK(!indices.empty(), "RepertoireDataset::batch", "no repertoires given");
  std::vector<Repertoire> reps;
  reps.reserve(indices.size());
  for (std::size_t i : indices) {
    reps.push_back(read(i));
    Repertoire& r = reps.back();
    Generator g(mix(mix(options.seed()) ^ mix(options.epoch() * 0x100000001b3ull + i)));
    subsample_repertoire(r, options.subsample(), g);
  }
  std::vector<const Repertoire*> ptrs;
  for (const auto& r : reps) ptrs.push_back(&r);
  RepertoireBatch b = encode_repertoires(ptrs, options);
  b.repertoires = indices;
  std::vector<std::int64_t> t;
  for (std::size_t i : indices) t.push_back(labels_[i]);
  b.targets = from_indices(t, {t.size()});
  return b;
}

RepertoireStream::RepertoireStream(const std::string& path, std::size_t chunk, const RepertoireOptions& options)
    : path_(path), chunk_(chunk), in_(path, std::ios::binary) {
  HF_CHECK(chunk > 0, "RepertoireStream", "chunk size must be positive");
  if (!in_) throw DataError(path + ": cannot open file for reading");
  std::string line;
  while (std::getline(in_, line)) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    TextReader rd(line, path_, line_no_);
    rd.next_line();
    RepertoireHeader h = read_header(rd, options);
    sep_ = h.sep, ncol_ = h.ncol, seq_col_ = h.seq, count_col_ = h.count, has_count_ = h.has_count;
    options_ = options;
    return;
  }
  throw DataError(path + ": empty file; expected a header with the column '" + options.sequence_column() + "'");
}

bool RepertoireStream::next(Repertoire& out) {
  out = Repertoire();
  RepertoireHeader h{sep_, ncol_, seq_col_, count_col_, has_count_};
  std::string line;
  while (out.sequences.size() < chunk_ && std::getline(in_, line)) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    TextReader rd(line, path_, line_no_);
    rd.next_line();
    read_row(rd, h, options_, out);
  }
  dropped_ += out.dropped;
  sequences_ += out.sequences.size();
  return !out.sequences.empty() || out.dropped > 0;
}

}  // namespace hf
