// .npy reading and writing (NumPy format 1.0/2.0/3.0 read, 1.0 written; C order, little endian).
// The byte-level pair npy_bytes / tensor_from_npy_bytes is shared with the .npz archives (engine/npz.cpp);
// load_npy / save_npy are thin file wrappers around it. Errors name the file (or archive member).
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/npz.h"
#include "hopfield/engine/tensor.h"

namespace hf {

namespace {
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  Shape shape;
};

NpyHeader parse_header(const std::string& h, const std::string& where) {
  auto fail = [&](const std::string& what) { HF_FAIL(where.c_str(), what << " in header: " << h); };
  NpyHeader out;
  auto find_value = [&](const std::string& key) -> std::size_t {
    auto k = h.find("'" + key + "'");
    if (k == std::string::npos) fail("missing '" + key + "'");
    auto c = h.find(':', k);
    if (c == std::string::npos) fail("malformed '" + key + "'");
    return c + 1;
  };
  std::size_t p = find_value("descr");
  auto q1 = h.find('\'', p);
  auto q2 = q1 == std::string::npos ? q1 : h.find('\'', q1 + 1);
  if (q2 == std::string::npos) fail("malformed descr");
  out.descr = h.substr(q1 + 1, q2 - q1 - 1);
  p = find_value("fortran_order");
  while (p < h.size() && h[p] == ' ') ++p;
  out.fortran = h.compare(p, 4, "True") == 0;
  p = find_value("shape");
  auto l = h.find('(', p), r = h.find(')', p);
  if (l == std::string::npos || r == std::string::npos || r < l) fail("malformed shape");
  std::string dims = h.substr(l + 1, r - l - 1);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    try {
      std::size_t used = 0;
      long long v = std::stoll(item.substr(b), &used);
      if (v < 0) fail("negative dimension");
      out.shape.push_back(static_cast<std::size_t>(v));
    } catch (const std::logic_error&) {
      fail("non-numeric dimension '" + item + "'");
    }
  }
  return out;
}

std::uint32_t read_le(const std::string& s, std::size_t at, int n) {
  std::uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}
}  // namespace

Tensor tensor_from_npy_bytes(const std::string& bytes, const std::string& where) {
  const char* w = where.c_str();
  HF_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0, w, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = read_le(bytes, 8, 2);
    hstart = 10;
  } else {
    HF_CHECK(major == 2 || major == 3, w, "unsupported .npy version " << major);
    HF_CHECK(bytes.size() >= 12, w, "truncated header");
    hlen = read_le(bytes, 8, 4);
    hstart = 12;
  }
  HF_CHECK(hlen < (1u << 20), w, "oversized header (" << hlen << " bytes)");
  HF_CHECK(bytes.size() >= hstart + hlen, w, "truncated header");
  NpyHeader h = parse_header(bytes.substr(hstart, hlen), where);
  HF_CHECK(!h.fortran, w, "Fortran-ordered arrays are not supported");
  Dtype dtype;
  std::size_t width;
  if (h.descr == "<f8") dtype = Dtype::Float64, width = 8;
  else if (h.descr == "<f4") dtype = Dtype::Float32, width = 4;
  else if (h.descr == "|u1" || h.descr == "|b1") dtype = Dtype::Bool, width = 1;
  else if (h.descr == "<i8") dtype = Dtype::Int64, width = 8;
  else HF_FAIL(w, "unsupported dtype '" << h.descr << "' (<f4, <f8, |u1, |b1, <i8 are read)");
  // Size check before allocating, with overflow guard, so a corrupted shape cannot ask for terabytes.
  const std::size_t avail = bytes.size() - hstart - hlen;
  std::size_t expect = width;
  for (std::size_t d : h.shape) {
    HF_CHECK(d == 0 || expect <= std::numeric_limits<std::size_t>::max() / d, w,
             "shape " << shape_str(h.shape) << " overflows");
    expect *= d;
  }
  HF_CHECK(avail == expect, w,
           (avail < expect ? "truncated data" : "trailing bytes after data") << ": expected " << expect
               << " bytes for shape " << shape_str(h.shape) << " " << h.descr << ", got " << avail);
  Tensor t = empty(h.shape, dtype);
  if (expect) std::memcpy(t.impl()->ptr, bytes.data() + hstart + hlen, expect);
  if (dtype == Dtype::Bool) {
    auto* p = static_cast<std::uint8_t*>(t.impl()->ptr);
    for (std::size_t i = 0; i < t.numel(); ++i) p[i] = p[i] ? 1 : 0;
  }
  return t;
}

std::string npy_bytes(const Tensor& t) {
  HF_CHECK(t.defined(), "npy_bytes", "the tensor is undefined");
  const char* descr = "<f8";
  std::size_t width = 8;
  switch (t.dtype()) {
    case Dtype::Float32: descr = "<f4", width = 4; break;
    case Dtype::Float64: descr = "<f8", width = 8; break;
    case Dtype::Bool: descr = "|b1", width = 1; break;
    case Dtype::Int64: descr = "<i8", width = 8; break;
  }
  std::ostringstream hs;
  hs << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < t.dim(); ++i) hs << t.shape()[i] << ", ";
  hs << "), }";
  std::string header = hs.str();
  // Pad so that magic + version + length + header is a multiple of 64, ending in '\n'.
  std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  HF_CHECK(header.size() < 65536, "npy_bytes", "header too long for format 1.0 (shape " << shape_str(t.shape()) << ")");
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(static_cast<const char*>(t.impl()->ptr), t.numel() * width);
  return out;
}

Tensor load_npy(const std::string& path) {
  const std::string where = "load_npy " + path;
  std::ifstream in(path, std::ios::binary);
  HF_CHECK(in.good(), where.c_str(), "cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HF_CHECK(!in.bad(), where.c_str(), "read failed");
  return tensor_from_npy_bytes(bytes, where);
}

void save_npy(const std::string& path, const Tensor& t) {
  const std::string where = "save_npy " + path;
  HF_CHECK(t.defined(), where.c_str(), "the tensor is undefined");
  const std::string bytes = npy_bytes(t);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  HF_CHECK(out.good(), where.c_str(), "cannot open the file for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  HF_CHECK(out.good(), where.c_str(), "write failed");
}

}  // namespace hf
