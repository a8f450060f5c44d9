// PGM (Netpbm grayscale) writer and reader; see image.h. Format: magic "P5" (binary) or "P2" (text),
// whitespace, width, height, maxval, then H*W samples (one byte each when maxval < 256, two big-endian
// bytes otherwise). "#" starts a comment up to the end of the line in the header.
#include "hopfield/report/image.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "hopfield/engine/check.h"

namespace hf {

void save_pgm(const std::string& path, const Tensor& image, double lo, double hi) {
  HF_CHECK(image.defined() && image.dim() == 2 && is_floating(image.dtype()), "save_pgm",
           path << ": expects a 2-D float tensor (H, W), got "
                << (image.defined() ? shape_str(image.shape()) : "undefined"));
  HF_CHECK(hi > lo, "save_pgm", path << ": hi (" << hi << ") must exceed lo (" << lo << ")");
  const std::size_t h = image.size(0), w = image.size(1);
  HF_CHECK(h > 0 && w > 0, "save_pgm", path << ": empty image " << shape_str(image.shape()));
  std::vector<double> v = image.to_vector();
  std::string bytes = "P5\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  for (double x : v) {
    double t = std::isfinite(x) ? std::clamp((x - lo) / (hi - lo), 0.0, 1.0) : 0.0;
    bytes += static_cast<char>(static_cast<unsigned char>(std::lround(t * 255)));
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream f(path, std::ios::binary);
  HF_CHECK(f.good(), "save_pgm", "cannot open " << path << " for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  HF_CHECK(f.good(), "save_pgm", "writing " << path << " failed");
}

namespace {
// Reads header tokens, skipping whitespace and comments; tracks the position for messages.
struct HeaderReader {
  const std::string& path;
  const std::string& data;
  std::size_t pos = 0;

  void skip() {
    while (pos < data.size()) {
      unsigned char c = static_cast<unsigned char>(data[pos]);
      if (c == '#') {
        while (pos < data.size() && data[pos] != '\n') ++pos;
      } else if (std::isspace(c)) {
        ++pos;
      } else {
        break;
      }
    }
  }
  long number(const char* what) {
    skip();
    HF_CHECK(pos < data.size() && std::isdigit(static_cast<unsigned char>(data[pos])), "load_pgm",
             path << ": expected " << what << " at byte " << pos);
    long v = 0;
    while (pos < data.size() && std::isdigit(static_cast<unsigned char>(data[pos]))) {
      v = v * 10 + (data[pos++] - '0');
      HF_CHECK(v <= 1000000, "load_pgm", path << ": " << what << " too large at byte " << pos);
    }
    return v;
  }
};
}  // namespace

Tensor load_pgm(const std::string& path, Dtype dtype) {
  HF_CHECK(is_floating(dtype), "load_pgm", path << ": dtype " << dtype_name(dtype) << " is not a float type");
  std::ifstream f(path, std::ios::binary);
  HF_CHECK(f.good(), "load_pgm", "cannot open " << path);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  HF_CHECK(data.size() >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '2'), "load_pgm",
           path << ": not a PGM file (magic P5 or P2 expected)");
  const bool binary = data[1] == '5';
  HeaderReader r{path, data, 2};
  long w = r.number("width"), h = r.number("height"), maxval = r.number("maxval");
  HF_CHECK(w > 0 && h > 0, "load_pgm", path << ": bad size " << w << "x" << h);
  HF_CHECK(maxval >= 1 && maxval <= 65535, "load_pgm", path << ": maxval " << maxval << " outside 1..65535");
  const std::size_t n = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  std::vector<double> v(n);
  if (binary) {
    HF_CHECK(r.pos < data.size() && std::isspace(static_cast<unsigned char>(data[r.pos])), "load_pgm",
             path << ": missing whitespace after maxval");
    std::size_t pos = r.pos + 1;
    const std::size_t bps = maxval < 256 ? 1 : 2;
    HF_CHECK(data.size() - pos >= n * bps, "load_pgm",
             path << ": truncated: " << w << "x" << h << " needs " << n * bps << " bytes, file has " << data.size() - pos);
    for (std::size_t i = 0; i < n; ++i) {
      unsigned s = static_cast<unsigned char>(data[pos + i * bps]);
      if (bps == 2) s = s * 256 + static_cast<unsigned char>(data[pos + i * bps + 1]);
      v[i] = static_cast<double>(s) / static_cast<double>(maxval);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      long s = r.number("a sample");
      HF_CHECK(s <= maxval, "load_pgm", path << ": sample " << s << " exceeds maxval " << maxval);
      v[i] = static_cast<double>(s) / static_cast<double>(maxval);
    }
  }
  return from_vector(v, {static_cast<std::size_t>(h), static_cast<std::size_t>(w)}, dtype);
}

}  // namespace hf
