// DeepRC-layout repertoires: position encoding worked by hand, dropped rows, malformed files, subsampling,
// streaming with a memory bound, implanted-motif generator.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/synthetic.h"
#include "tests/datasets_support.h"

#if defined(__SANITIZE_ADDRESS__)
#define HF_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HF_TEST_ASAN 1
#endif
#endif
#ifdef HF_TEST_ASAN
// From <sanitizer/allocator_interface.h>, which GCC does not install: drains the ASan quarantine.
extern "C" void __sanitizer_purge_allocator();
#endif

using namespace hf;
using hf::test::has;

TEST_CASE("position channels of DeepRC's encoding, against hand-worked values") {
  // v_j = |0.5 - (1 - j/(L-1))| * 2; channel 20 = v on the first ceil(L/2) positions, channel 21 = v on the
  // rest, channel 22 = 1 - v.
  // L = 1: 0/0, defined as v = 1 -> (20, 21, 22) = (1, 0, 0).
  // L = 2: j/(L-1) = 0, 1 -> 1 - x = 1, 0 -> |0.5 - .| * 2 = 1, 1. ceil(2/2) = 1:
  //        ch20 = [1, 0], ch21 = [0, 1], ch22 = [0, 0].
  // L = 5: j/4 = 0, .25, .5, .75, 1 -> 1 - x = 1, .75, .5, .25, 0 -> v = 1, .5, 0, .5, 1. ceil(5/2) = 3:
  //        ch20 = [1, .5, 0, 0, 0], ch21 = [0, 0, 0, .5, 1], ch22 = [0, .5, 1, .5, 0].
  struct Want {
    std::string seq;
    std::vector<double> c20, c21, c22;
  };
  const Want wants[] = {
      {"W", {1}, {0}, {0}},
      {"AC", {1, 0}, {0, 1}, {0, 0}},
      {"ACDEY", {1, 0.5, 0, 0, 0}, {0, 0, 0, 0.5, 1}, {0, 0.5, 1, 0.5, 0}},
  };
  for (const auto& w : wants) {
    CAPTURE(w.seq);
    const std::size_t L = w.seq.size();
    std::vector<double> enc(L * kRepertoireChannels, -1.0);
    encode_sequence(w.seq, enc.data());
    for (std::size_t j = 0; j < L; ++j) {
      CAPTURE(j);
      const double* row = enc.data() + j * kRepertoireChannels;
      CHECK(row[20] == doctest::Approx(w.c20[j]));
      CHECK(row[21] == doctest::Approx(w.c21[j]));
      CHECK(row[22] == doctest::Approx(w.c22[j]));
      // One-hot over ACDEFGHIKLMNPQRSTVWY.
      const std::size_t letter = kAminoAcids.find(w.seq[j]);
      for (std::size_t c = 0; c < 20; ++c) CHECK(row[c] == (c == letter ? 1.0 : 0.0));
    }
  }
  CHECK(position_value(0, 1) == 1.0);
  CHECK_THROWS_AS(position_value(1, 1), Error);
}

TEST_CASE("repertoire files: dropped rows, missing final newline, configurable columns") {
  Repertoire r = parse_repertoire("amino_acid\ttemplates\nCASSF\t3\nCAXSF\t1\n\t2\ncasf\t1\nCW\t7", "r.tsv");
  CHECK(r.sequences == std::vector<std::string>{"CASSF", "CW"});
  CHECK(r.counts == std::vector<double>{3, 7});
  CHECK(r.dropped == 3);  // X, empty, lower case
  Repertoire c = parse_repertoire("id,cdr3,n\n1,CAS,2\n", "c.csv", RepertoireOptions().sequence_column("cdr3").count_column("n"));
  CHECK(c.sequences == std::vector<std::string>{"CAS"});
  Repertoire nocount = parse_repertoire("amino_acid\nCAS\nCW\n", "n.tsv", RepertoireOptions().count_column(""));
  CHECK(nocount.counts == std::vector<double>{1, 1});

  std::vector<const Repertoire*> reps{&r, &c};
  RepertoireBatch b = encode_repertoires(reps, RepertoireBatchOptions().weighting(CountWeighting::Log));
  CHECK(b.x.shape() == Shape{3, 5, kRepertoireChannels});
  CHECK(b.offsets == std::vector<std::size_t>{0, 2, 3});
  CHECK(b.lengths.to_vector() == std::vector<double>{5, 2, 3});
  CHECK(b.weights.flat(0) == doctest::Approx(std::log(4.0)));
  CHECK(b.weights.flat(2) == doctest::Approx(std::log(3.0)));
  CHECK(b.dropped == 3);
  // Rows past a sequence's end are zero.
  for (std::size_t a = 0; a < kRepertoireChannels; ++a) CHECK(b.x.at({1, 2, a}) == 0.0);
  CHECK(b.x.at({1, 1, kAminoAcids.find('W')}) == 1.0);
}

namespace {
// A small DeepRC-style dataset: metadata + files in nested folders.
std::string small_dataset(const hf::test::TempDir& dir, const std::string& metadata) {
  dir.write("data/metadata.tsv", metadata);
  dir.write("data/repertoires/a/r1.tsv", "amino_acid\ttemplates\nCASS\t1\nCAT\t2\n");
  dir.write("data/repertoires/b/r2.tsv", "amino_acid\ttemplates\nCW\t1");
  dir.write("data/repertoires/r3.tsv", "amino_acid\ttemplates\nCAS\t1\nCXS\t1\n");
  return (dir.path / "data").string();
}
}  // namespace

TEST_CASE("repertoire dataset: IDs matched on file stems anywhere below the root, labels by class") {
  hf::test::TempDir dir("rep_good");
  std::string root = small_dataset(dir, "ID\tstatus\nr1.tsv\t+\nr2\t-\nr3.tsv\t+");
  RepertoireDataset ds(root, RepertoireOptions().classes({"-", "+"}));
  CHECK(ds.size() == 3);
  CHECK(ds.labels() == std::vector<std::int64_t>{1, 0, 1});
  CHECK(has(ds.path(1), "b/r2.tsv"));
  RepertoireBatch b = ds.batch({2, 0});
  CHECK(b.offsets == std::vector<std::size_t>{0, 1, 3});
  CHECK(b.dropped == 1);
  CHECK(b.targets.to_vector() == std::vector<double>{1, 1});
  // Comma- and semicolon-separated metadata work too.
  hf::test::TempDir dir2("rep_good2");
  RepertoireDataset semi(small_dataset(dir2, "ID;y\nr1;0\nr2;1\nr3;1\n"));
  CHECK(semi.classes() == std::vector<std::string>{"0", "1"});
}

TEST_CASE("repertoire dataset: malformed metadata and repertoire files name the file and line") {
  struct Case {
    const char* what;
    const char* metadata;
    const char* file;  // which file the message must name: "metadata.tsv" or a repertoire path part
    const char* line;
    const char* extra;
  };
  const Case cases[] = {
      {"empty metadata", "", "metadata.tsv", "", "empty file"},
      {"missing ID column", "name\ty\nr1\t1\n", "metadata.tsv", "line 1", "ID column"},
      {"missing target column", "ID\nr1\n", "metadata.tsv", "line 1", "target column"},
      {"ragged metadata row", "ID\ty\nr1\t1\nr2\nr3\t1\n", "metadata.tsv", "line 3", "expected 2 fields"},
      {"duplicate ID", "ID\ty\nr1\t1\nr2\t0\nr1.tsv\t1\n", "metadata.tsv", "line 4, column 1 (ID)", "already on line 2"},
      {"missing repertoire file", "ID\ty\nr1\t1\nr9\t0\n", "metadata.tsv", "line 3", "missing repertoire file"},
      {"unknown label", "ID\ty\nr1\t1\nr2\t7\n", "metadata.tsv", "line 3", "unknown label"},
      {"empty target", "ID\ty\nr1\t1\nr2\t\n", "metadata.tsv", "line 3, column 2 (y)", "missing target"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    hf::test::TempDir dir("rep_bad");
    std::string root = small_dataset(dir, c.metadata);
    std::string msg = hf::test::data_error_of([&] { RepertoireDataset ds(root, RepertoireOptions().classes({"0", "1"})); });
    CAPTURE(msg);
    REQUIRE(!msg.empty());
    CHECK(has(msg, (dir.path / "data" / c.file).string()));
    if (*c.line) CHECK(has(msg, c.line));
    CHECK(has(msg, c.extra));
  }
  const Case files[] = {
      {"empty repertoire", "", "r.tsv", "", "empty file"},
      {"missing sequence column", "cdr3\ttemplates\nCAS\t1\n", "r.tsv", "line 1", "amino_acid"},
      {"missing count column", "amino_acid\tcount\nCAS\t1\n", "r.tsv", "line 1", "templates"},
      {"ragged row", "amino_acid\ttemplates\nCAS\t1\nCAT\n", "r.tsv", "line 3", "expected 2 fields"},
      {"non-number count", "amino_acid\ttemplates\nCAS\tmany\n", "r.tsv", "line 2, column 2 (templates)", "number"},
      {"NaN count", "amino_acid\ttemplates\nCAS\t1\nCAT\tNaN\n", "r.tsv", "line 3, column 2 (templates)", "finite"},
      {"negative count", "amino_acid\ttemplates\nCAS\t-2\n", "r.tsv", "line 2, column 2 (templates)", ">= 0"},
  };
  for (const auto& c : files) {
    CAPTURE(c.what);
    hf::test::TempDir dir("rep_file_bad");
    std::string path = dir.write(c.file, c.metadata);
    for (int streamed = 0; streamed < 2; ++streamed) {
      std::string msg = hf::test::data_error_of([&] {
        if (streamed) {
          RepertoireStream s(path, 1);
          Repertoire chunk;
          while (s.next(chunk)) {
          }
        } else {
          load_repertoire(path);
        }
      });
      CAPTURE(streamed);
      CAPTURE(msg);
      REQUIRE(!msg.empty());
      CHECK(has(msg, path));
      if (*c.line) CHECK(has(msg, c.line));
      CHECK(has(msg, c.extra));
    }
  }
  hf::test::TempDir dir("rep_no_meta");
  dir.write("x/repertoires/r1.tsv", "amino_acid\ttemplates\nCAS\t1\n");
  CHECK(has(hf::test::data_error_of([&] { RepertoireDataset ds((dir.path / "x").string()); }), "metadata.tsv: cannot open"));
}

TEST_CASE("subsampling: n sequences per repertoire, seeded, different per epoch - evaluation takes all") {
  hf::test::TempDir dir("rep_sub");
  Repertoire big;
  for (int i = 0; i < 200; ++i) {
    std::string s = "CA";
    for (int k = 0; k < 5; ++k) s += kAminoAcids[static_cast<std::size_t>((i * 7 + k * 3) % 20)];
    s += kAminoAcids[static_cast<std::size_t>(i % 20)];
    s += kAminoAcids[static_cast<std::size_t>((i / 20) % 20)];
    big.sequences.push_back(s);
    big.counts.push_back(1);
  }
  dir.write("d/metadata.tsv", "ID\tlabel\nbig\t1\n");
  std::filesystem::create_directories(dir.path / "d" / "reps");
  write_repertoire_file((dir.path / "d" / "reps" / "big.tsv").string(), big);
  RepertoireDataset ds((dir.path / "d").string());
  auto sample_of = [&](std::uint64_t seed, std::uint64_t epoch) {
    RepertoireBatch b = ds.batch({0}, RepertoireBatchOptions().subsample(16).seed(seed).epoch(epoch));
    CHECK(b.offsets.back() == 16);
    // Recover the sequences from the one-hot rows.
    std::set<std::string> out;
    for (std::size_t i = 0; i < 16; ++i) {
      std::string s;
      for (std::size_t j = 0; j < static_cast<std::size_t>(b.lengths.flat(i)); ++j)
        for (std::size_t c = 0; c < 20; ++c)
          if (b.x.at({i, j, c}) == 1.0) s += kAminoAcids[c];
      out.insert(s);
    }
    return out;
  };
  auto a = sample_of(1, 0), again = sample_of(1, 0), other_epoch = sample_of(1, 1);
  CHECK(a.size() == 16);  // without replacement (all 200 sequences are distinct)
  CHECK(a == again);
  CHECK(a != other_epoch);
  std::set<std::string> all(big.sequences.begin(), big.sequences.end());
  for (const auto& s : a) CHECK(all.count(s) == 1);
  CHECK(ds.batch({0}).offsets.back() == 200);
}

namespace {
std::size_t status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stoul(line.substr(std::string(key).size()));
  return 0;
}
// Resets VmHWM to the current RSS (Linux >= 4.0), so the peak we read is this test's own.
bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}
void release_freed() {
#ifdef HF_TEST_ASAN
  __sanitizer_purge_allocator();  // ASan keeps freed blocks in quarantine; drop them so RSS reflects live data
#endif
}
}  // namespace

TEST_CASE("streaming 300,000 sequences: peak memory bounded by the batch, not the dataset") {
  hf::test::TempDir dir("rep_stream");
  const std::size_t per_file = 30000, files = 10, total = per_file * files;
  {
    // Written line by line so that generating does not itself hold the dataset.
    std::ofstream md(dir.path / "metadata.tsv");
    md << "ID\tlabel\n";
    std::filesystem::create_directories(dir.path / "repertoires");
    std::uint64_t x = 12345;
    for (std::size_t f = 0; f < files; ++f) {
      char id[32];
      std::snprintf(id, sizeof id, "rep_%02zu", f);
      md << id << '\t' << (f % 2) << '\n';
      std::ofstream out(dir.path / "repertoires" / (std::string(id) + ".tsv"));
      out << "amino_acid\ttemplates\n";
      for (std::size_t i = 0; i < per_file; ++i) {
        std::string s = "CA";
        const std::size_t L = 12 + (i % 7);
        while (s.size() + 1 < L) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          s += kAminoAcids[(x >> 33) % 20];
        }
        out << s << "F\t" << 1 + i % 9 << '\n';
      }
    }
  }
  RepertoireDataset ds(dir.path.string());
  // The whole dataset encoded as float32 at Lmax = 18: S * Lmax * 23 * 4 bytes.
  const double whole_mib = double(total) * 18 * kRepertoireChannels * 4 / (1024.0 * 1024.0);  // ~474 MiB
  const double batch_mib = whole_mib / double(files);                                          // one repertoire
  release_freed();
  const bool reset = reset_peak();
  const std::size_t base_rss = status_kib("VmRSS:"), base_hwm = status_kib("VmHWM:");
  std::size_t max_rss = base_rss, seen = 0;
  double checksum = 0;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    RepertoireBatch b = ds.batch({i});
    seen += b.offsets.back();
    checksum += b.x.at({0, 0, kAminoAcids.find('C')});
    max_rss = std::max(max_rss, status_kib("VmRSS:"));
    b = RepertoireBatch();
    release_freed();
  }
  // One big repertoire file read in chunks of 10,000 sequences.
  std::string big = (dir.path / "big.tsv").string();
  {
    std::ofstream out(big);
    out << "amino_acid\ttemplates\n";
    for (std::size_t f = 0; f < files; ++f) {
      std::ifstream in(ds.path(f));
      std::string line;
      std::getline(in, line);
      while (std::getline(in, line)) out << line << '\n';
    }
  }
  RepertoireStream stream(big, 10000);
  Repertoire chunk;
  std::size_t streamed = 0;
  while (stream.next(chunk)) {
    std::vector<const Repertoire*> one{&chunk};
    RepertoireBatch b = encode_repertoires(one);
    streamed += b.offsets.back();
    max_rss = std::max(max_rss, status_kib("VmRSS:"));
    b = RepertoireBatch();
    release_freed();
  }
  const std::size_t peak_kib = std::max(max_rss, reset ? status_kib("VmHWM:") : 0);
  const double rise_mib = (double(peak_kib) - double(std::max(base_rss, reset ? base_hwm : base_rss))) / 1024.0;
  MESSAGE("streamed " << seen << " + " << streamed << " sequences; peak RSS rise " << rise_mib << " MiB; one batch "
                      << batch_mib << " MiB; whole dataset encoded " << whole_mib << " MiB; VmHWM reset "
                      << std::string(reset ? "yes" : "no"));
  CHECK(seen == total);
  CHECK(streamed == total);
  CHECK(stream.sequences() == total);
  CHECK(checksum == double(files));  // every sequence starts with C
  // Bounded by a few batches (encoding + parsed strings of one repertoire), far below the whole dataset.
  CHECK(rise_mib < 4 * batch_mib);
  CHECK(rise_mib < whole_mib / 4);
}

TEST_CASE("implanted repertoires: motifs only in positives, at the witness rate - files round-trip") {
  auto reps = implanted_repertoires(ImplantedRepertoireOptions(12).min_sequences(300).max_sequences(400).witness_rate(0.02).seed(9));
  std::size_t positives = 0;
  for (const auto& r : reps) {
    std::size_t with_motif = 0;
    for (const auto& s : r.repertoire.sequences) {
      CHECK(s.front() == 'C');
      with_motif += contains_motif(s, "GSA") || contains_motif(s, "K?YV");
    }
    positives += r.label == 1;
    CHECK(with_motif == r.witnesses);
    if (r.label == 1) {
      const double rate = double(r.witnesses) / double(r.repertoire.sequences.size());
      CHECK(rate == doctest::Approx(0.02).epsilon(0.2));
    } else {
      CHECK(r.witnesses == 0);
    }
  }
  CHECK(positives == 6);
  hf::test::TempDir dir("rep_implanted");
  write_implanted_dataset(dir.path.string(), reps);
  RepertoireDataset ds(dir.path.string(), RepertoireOptions().target_column("label"));
  CHECK(ds.size() == 12);
  for (std::size_t i = 0; i < ds.size(); ++i) {
    CHECK(ds.label(i) == reps[i].label);
    CHECK(ds.read(i).sequences == reps[i].repertoire.sequences);
  }
  CHECK(contains_motif("CAKAYVF", "K?YV"));
  CHECK_FALSE(contains_motif("CAKAYWF", "K?YV"));
}

TEST_CASE("random_motif_cohort: 1-3 motifs of length 3-6 with 0-2 inner gaps, witness rate 0.1%-1%") {
  std::set<std::size_t> lengths, gap_counts, counts;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const ImplantedRepertoireOptions o = random_motif_cohort(seed);
    CHECK(o.num_repertoires() == 160);
    CHECK(o.min_sequences() == 1600);
    CHECK(o.max_sequences() == 2400);
    CHECK(o.seed() == seed);
    CHECK(o.witness_rate() >= 0.001);
    CHECK(o.witness_rate() <= 0.01);
    CHECK(o.letter_weights().size() == kAminoAcids.size());
    counts.insert(o.motifs().size());
    CHECK(std::set<std::string>(o.motifs().begin(), o.motifs().end()).size() == o.motifs().size());
    for (const std::string& m : o.motifs()) {
      const auto gaps = static_cast<std::size_t>(std::count(m.begin(), m.end(), '?'));
      lengths.insert(m.size());
      gap_counts.insert(gaps);
      CHECK(m.size() - gaps >= 3);
      CHECK(m.front() != '?');
      CHECK(m.back() != '?');
    }
    CHECK(random_motif_cohort(seed).motifs() == o.motifs());  // a seed names one cohort
  }
  CHECK(counts == std::set<std::size_t>{1, 2, 3});
  CHECK(lengths == std::set<std::size_t>{3, 4, 5, 6});
  CHECK(gap_counts == std::set<std::size_t>{0, 1, 2});
  // The drawn cohort: the motifs only in positives, every positive holds one.
  ImplantedRepertoireOptions small = random_motif_cohort(3, 8);
  small.min_sequences(300).max_sequences(300);
  for (const ImplantedRepertoire& r : implanted_repertoires(small)) {
    std::size_t with = 0;
    for (const std::string& s : r.repertoire.sequences)
      with += std::any_of(small.motifs().begin(), small.motifs().end(),
                          [&](const std::string& m) { return contains_motif(s, m); }) ? 1 : 0;
    CHECK(with == r.witnesses);
    CHECK((r.label == 1) == (with > 0));
  }
  CHECK_THROWS_WITH_AS(implanted_repertoires(ImplantedRepertoireOptions(4).letter_weights({1, 2})),
                       doctest::Contains("letter_weights"), Error);
}

TEST_CASE("skip_subsample draws what subsample_repertoire draws, without the repertoire") {
  for (std::size_t size : {3, 10, 50, 400}) {
    hf::Repertoire rep;
    for (std::size_t i = 0; i < size; ++i) {
      rep.sequences.push_back("CASS" + std::to_string(i));
      rep.counts.push_back(1);
    }
    hf::Generator a(11), b(11);
    hf::subsample_repertoire(rep, 10, a);
    hf::skip_subsample(size, 10, b);
    CHECK(rep.sequences.size() == std::min<std::size_t>(size, 10));
    CHECK(a.next_u64() == b.next_u64());  // both generators are at the same place of their stream
  }
}
