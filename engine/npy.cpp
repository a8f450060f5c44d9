// .npy reading and writing (NumPy format 1.0/2.0, C order, little endian). Errors name the file.
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/check.h"
#include "engine/kernel.h"
#include "engine/tensor.h"

namespace hf {

namespace {
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  Shape shape;
};

NpyHeader parse_header(const std::string& h, const std::string& path) {
  auto fail = [&](const std::string& what) { HF_FAIL(("load_npy " + path).c_str(), what << " in header: " << h); };
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
}  // namespace

Tensor load_npy(const std::string& path) {
  const std::string where = "load_npy " + path;
  std::ifstream in(path, std::ios::binary);
  HF_CHECK(in.good(), where.c_str(), "cannot open the file");
  char magic[8];
  in.read(magic, 8);
  HF_CHECK(in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, where.c_str(),
           "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  std::size_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    hlen = b[0] | (b[1] << 8);
  } else {
    HF_CHECK(major == 2 || major == 3, where.c_str(), "unsupported .npy version " << major);
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
  }
  HF_CHECK(in.good() && hlen < (1u << 20), where.c_str(), "truncated or oversized header");
  std::string header(hlen, '\0');
  in.read(header.data(), static_cast<std::streamsize>(hlen));
  HF_CHECK(static_cast<std::size_t>(in.gcount()) == hlen, where.c_str(), "truncated header");
  NpyHeader h = parse_header(header, path);
  HF_CHECK(!h.fortran, where.c_str(), "Fortran-ordered arrays are not supported");
  Dtype dtype;
  std::size_t width;
  if (h.descr == "<f8") dtype = Dtype::Float64, width = 8;
  else if (h.descr == "<f4") dtype = Dtype::Float32, width = 4;
  else if (h.descr == "|u1" || h.descr == "|b1") dtype = Dtype::Bool, width = 1;
  else if (h.descr == "<i8") dtype = Dtype::Int64, width = 8;
  else HF_FAIL(where.c_str(), "unsupported dtype '" << h.descr << "' (<f4, <f8, |u1, |b1, <i8 are read)");
  Tensor t = empty(h.shape, dtype);
  const std::size_t bytes = t.numel() * width;
  in.read(static_cast<char*>(t.impl()->ptr), static_cast<std::streamsize>(bytes));
  HF_CHECK(static_cast<std::size_t>(in.gcount()) == bytes, where.c_str(),
           "truncated data: expected " << bytes << " bytes for shape " << shape_str(h.shape) << ", got "
                                       << in.gcount());
  if (dtype == Dtype::Bool) {
    auto* p = static_cast<std::uint8_t*>(t.impl()->ptr);
    for (std::size_t i = 0; i < t.numel(); ++i) p[i] = p[i] ? 1 : 0;
  }
  return t;
}

void save_npy(const std::string& path, const Tensor& t) {
  const std::string where = "save_npy " + path;
  HF_CHECK(t.defined(), where.c_str(), "the tensor is undefined");
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
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  HF_CHECK(out.good(), where.c_str(), "cannot open the file for writing");
  out.write("\x93NUMPY\x01\x00", 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.impl()->ptr), static_cast<std::streamsize>(t.numel() * width));
  out.flush();
  HF_CHECK(out.good(), where.c_str(), "write failed");
}

}  // namespace hf
