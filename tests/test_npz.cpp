// .npz archives: roundtrip of every dtype, refusal of truncated / corrupted / missing files, the
// temp-file-then-rename guarantee, and (when python3 with numpy is installed) readability by numpy.load.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/npz.h"
#include "hopfield/engine/random.h"

using namespace hf;
namespace fs = std::filesystem;

namespace {
// A fresh scratch folder per test case, removed at the end.
struct ScratchDir {
  fs::path dir;
  explicit ScratchDir(const std::string& tag) {
    dir = fs::temp_directory_path() / ("hf_npz_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& f) const { return (dir / f).string(); }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void spit(const std::string& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::map<std::string, Tensor> sample_arrays() {
  Generator gen(7);
  return {
      {"layer.0.weight", randn({3, 4}, Dtype::Float64, gen)},
      {"layer.0.bias", randn({4}, Dtype::Float32, gen)},
      {"mask", from_mask({true, false, true, true, false, false}, {2, 3})},
      {"index", from_indices({-5, 0, 7, 1LL << 40}, {4})},
      {"scalar", scalar_tensor(2.5, Dtype::Float64)},
      {"empty", zeros({0, 3}, Dtype::Float32)},
  };
}

std::string error_of(const std::string& path) {
  try {
    load_npz(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("npz: every dtype, dotted names, scalars and empty arrays roundtrip exactly") {
  ScratchDir s("roundtrip");
  auto in = sample_arrays();
  save_npz(s / "a.npz", in);
  auto out = load_npz(s / "a.npz");
  REQUIRE(out.size() == in.size());
  for (const auto& [k, t] : in) {
    INFO(k);
    REQUIRE(out.count(k));
    CHECK(out[k].dtype() == t.dtype());
    CHECK(out[k].shape() == t.shape());
    CHECK(out[k].to_vector() == t.to_vector());
  }
  CHECK_FALSE(fs::exists(s / "a.npz.tmp"));
  // The same state gives the same bytes (fixed timestamps), so checkpoints can be compared by hash.
  save_npz(s / "b.npz", in);
  CHECK(slurp(s / "a.npz") == slurp(s / "b.npz"));
}

TEST_CASE("npz: an empty map is a valid archive") {
  ScratchDir s("emptymap");
  save_npz(s / "e.npz", {});
  CHECK(load_npz(s / "e.npz").empty());
}

TEST_CASE("npz: npy bytes roundtrip and refuse truncation") {
  Tensor t = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, Dtype::Float64);
  std::string b = npy_bytes(t);
  CHECK(b.size() % 64 == 48);  // 64-aligned header + 6 doubles
  CHECK(tensor_from_npy_bytes(b, "mem").to_vector() == t.to_vector());
  CHECK_THROWS_WITH_AS(tensor_from_npy_bytes(b.substr(0, b.size() - 1), "mem"),
                       doctest::Contains("mem: truncated data"), Error);
  CHECK_THROWS_AS(tensor_from_npy_bytes(b.substr(0, 20), "mem"), Error);
  CHECK_THROWS_WITH_AS(tensor_from_npy_bytes("hello world", "mem"), doctest::Contains("bad magic"), Error);
}

TEST_CASE("npz: a missing file is refused naming the path") {
  CHECK_THROWS_WITH_AS(load_npz("/nonexistent/dir/x.npz"),
                       doctest::Contains("load_npz /nonexistent/dir/x.npz: cannot open"), Error);
}

TEST_CASE("npz: truncated archives are refused at every length") {
  ScratchDir s("trunc");
  save_npz(s / "a.npz", sample_arrays());
  const std::string full = slurp(s / "a.npz");
  // Every cut (a crash mid-copy, a partial download) must be detected, never silently loaded.
  for (std::size_t cut = 0; cut < full.size(); cut += 7) {
    spit(s / "t.npz", full.substr(0, cut));
    std::string msg = error_of(s / "t.npz");
    INFO("cut at " << cut << " of " << full.size());
    CHECK(msg.find("load_npz " + (s / "t.npz")) != std::string::npos);
  }
  spit(s / "t.npz", full.substr(0, full.size() - 1));
  CHECK(error_of(s / "t.npz").find("truncated") != std::string::npos);
}

TEST_CASE("npz: a flipped byte in a member's data fails its CRC and names the member") {
  ScratchDir s("crc");
  std::map<std::string, Tensor> in = {{"w.one", full({8}, 1.0, Dtype::Float64)}, {"w.two", full({8}, 2.0, Dtype::Float64)}};
  save_npz(s / "a.npz", in);
  std::string bytes = slurp(s / "a.npz");
  // The last data byte of the second member sits just before the central directory.
  const std::size_t cd = bytes.size() - 22 - 2 * (46 + std::string("w.one.npy").size());
  bytes[cd - 1] = static_cast<char>(bytes[cd - 1] ^ 0x10);
  spit(s / "b.npz", bytes);
  std::string msg = error_of(s / "b.npz");
  CHECK(msg.find("member 'w.two.npy'") != std::string::npos);
  CHECK(msg.find("CRC-32 mismatch") != std::string::npos);
  // Any single flipped byte anywhere is caught by some check (signature, size, offset, name or CRC), or,
  // if it lands in a field nothing reads (version, time), leaves the content intact.
  const std::string orig = slurp(s / "a.npz");
  for (std::size_t i = 0; i < orig.size(); ++i) {
    std::string b = orig;
    b[i] = static_cast<char>(b[i] ^ 0x01);
    spit(s / "f.npz", b);
    INFO("flipped byte " << i);
    try {
      auto out = load_npz(s / "f.npz");
      REQUIRE(out.size() == 2);
      CHECK(out.at("w.one").to_vector() == in.at("w.one").to_vector());
      CHECK(out.at("w.two").to_vector() == in.at("w.two").to_vector());
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("load_npz") != std::string::npos);
    }
  }
}

TEST_CASE("npz: a write that throws leaves the previous file intact and no temp file") {
  ScratchDir s("atomic");
  save_npz(s / "ckpt.npz", sample_arrays());
  const std::string before = slurp(s / "ckpt.npz");
  auto bad = sample_arrays();
  bad["zzz.undefined"] = Tensor();  // sorted last: the earlier members are already written to the temp file
  CHECK_THROWS_WITH_AS(save_npz(s / "ckpt.npz", bad), doctest::Contains("'zzz.undefined' is undefined"), Error);
  CHECK(slurp(s / "ckpt.npz") == before);
  CHECK_FALSE(fs::exists(s / "ckpt.npz.tmp"));
  CHECK(load_npz(s / "ckpt.npz").size() == sample_arrays().size());
  // An unwritable destination throws naming the path.
  CHECK_THROWS_WITH_AS(save_npz("/nonexistent/dir/x.npz", sample_arrays()), doctest::Contains("save_npz /nonexistent"),
                       Error);
}

TEST_CASE("npz: python's zipfile reads our archives and their CRCs (skipped without python3)") {
  if (std::system("python3 -c 'import zipfile' >/dev/null 2>&1") != 0) {
    MESSAGE("SKIPPED: python3 is not available; zip compatibility not checked");
    return;
  }
  ScratchDir s("zipfile");
  save_npz(s / "a.npz", sample_arrays());
  const std::string script = s / "check.py", out = s / "out.txt";
  // testzip() re-reads every member and returns the first with a bad CRC (None when all are good).
  spit(script,
       "import zipfile, sys\n"
       "z = zipfile.ZipFile(sys.argv[1])\n"
       "assert z.testzip() is None\n"
       "with open(sys.argv[2], 'w') as f:\n"
       "    for i in z.infolist():\n"
       "        f.write('%s %d %d %s\\n' % (i.filename, i.compress_type, i.file_size, z.read(i)[:6] == b'\\x93NUMPY'))\n");
  REQUIRE(std::system(("python3 " + script + " " + (s / "a.npz") + " " + out).c_str()) == 0);
  const std::string got = slurp(out);
  INFO(got);
  const std::string w = npy_bytes(sample_arrays().at("layer.0.weight"));
  CHECK(got.find("layer.0.weight.npy 0 " + std::to_string(w.size()) + " True\n") != std::string::npos);
  CHECK(got.find("mask.npy 0 ") != std::string::npos);
  CHECK(got.find("empty.npy 0 ") != std::string::npos);
}

TEST_CASE("npz: numpy.load reads our archives (skipped without python3 + numpy)") {
  if (std::system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MESSAGE("SKIPPED: python3 with numpy is not available; numpy compatibility not checked");
    return;
  }
  ScratchDir s("numpy");
  save_npz(s / "a.npz", sample_arrays());
  const std::string script = s / "check.py", out = s / "out.txt";
  spit(script,
       "import numpy, sys\n"
       "z = numpy.load(sys.argv[1])\n"
       "with open(sys.argv[2], 'w') as f:\n"
       "    for k in sorted(z.files):\n"
       "        a = z[k]\n"
       "        f.write('%s %s %s %s\\n' % (k, a.dtype.str, a.shape, ' '.join(repr(float(v)) for v in a.ravel())))\n");
  REQUIRE(std::system(("python3 " + script + " " + (s / "a.npz") + " " + out).c_str()) == 0);
  const std::string got = slurp(out);
  INFO(got);
  CHECK(got.find("index <i8 (4,) -5.0 0.0 7.0 1099511627776.0\n") != std::string::npos);
  CHECK(got.find("mask |b1 (2, 3) 1.0 0.0 1.0 1.0 0.0 0.0\n") != std::string::npos);
  CHECK(got.find("scalar <f8 () 2.5\n") != std::string::npos);
  CHECK(got.find("empty <f4 (0, 3) \n") != std::string::npos);
  CHECK(got.find("layer.0.weight <f8 (3, 4) ") != std::string::npos);
  CHECK(got.find("layer.0.bias <f4 (4,) ") != std::string::npos);
}
