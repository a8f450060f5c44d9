// .npz archives: a zip file of `<name>.npy` members, stored (method 0, no compression), as numpy.savez
// writes them. Layout written here (all integers little endian, PKWARE APPNOTE 4.3):
//
//   [local header 30 B + name][.npy bytes]   ... one per member, in key order
//   [central directory entry 46 B + name]     ... one per member
//   [end of central directory record 22 B]
//
// Timestamps are fixed (1980-01-01 00:00) so the same state gives the same bytes. Reading trusts nothing:
// every signature, offset, size and CRC-32 is checked, and a failure names the file and the member.
// Writing goes to `path.tmp` (POSIX write + fsync) and is renamed over `path`, so a crash or an exception
// mid-write leaves the previous file intact.
#include "hopfield/engine/npz.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "hopfield/engine/check.h"

namespace hf {

namespace {

// ---- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum zip stores per member ----
constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

std::uint32_t crc32(const char* data, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = kCrcTable[(c ^ static_cast<unsigned char>(data[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01

void put16(std::string& s, std::uint32_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
std::uint32_t get16(const std::string& s, std::size_t at) {
  return static_cast<unsigned char>(s[at]) | (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8);
}
std::uint32_t get32(const std::string& s, std::size_t at) { return get16(s, at) | (get16(s, at + 2) << 16); }

// Writes everything or throws (write(2) may write less than asked, or be interrupted).
void write_all(int fd, const std::string& bytes, const std::string& where) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    HF_CHECK(n > 0, where.c_str(), "write failed: " << std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

struct CentralEntry {
  std::string name;
  std::uint32_t crc, size, offset;
};

}  // namespace

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays) {
  const std::string where = "save_npz " + path;
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  HF_CHECK(fd >= 0, where.c_str(), "cannot open " << tmp << " for writing: " << std::strerror(errno));
  try {
    std::vector<CentralEntry> entries;
    std::uint64_t offset = 0;
    for (const auto& [key, t] : arrays) {
      HF_CHECK(!key.empty(), where.c_str(), "empty array name");
      HF_CHECK(t.defined(), where.c_str(), "array '" << key << "' is undefined");
      const std::string name = key + ".npy";
      const std::string data = npy_bytes(t);
      // Without zip64 records, sizes and offsets must fit 32 bits.
      HF_CHECK(data.size() < 0xFFFFFFFFu && offset + kLocalSize + name.size() + data.size() < 0xFFFFFFFFu &&
                   name.size() < 0xFFFF,
               where.c_str(), "array '" << key << "' makes the archive exceed 4 GiB (zip64 is not written)");
      const std::uint32_t crc = crc32(data.data(), data.size());
      std::string h;
      put32(h, kLocalSig);
      put16(h, 20);  // version needed: 2.0
      put16(h, 0);   // flags
      put16(h, 0);   // method: stored
      put16(h, 0);   // time
      put16(h, kDosDate);
      put32(h, crc);
      put32(h, static_cast<std::uint32_t>(data.size()));  // compressed size
      put32(h, static_cast<std::uint32_t>(data.size()));  // uncompressed size
      put16(h, static_cast<std::uint32_t>(name.size()));
      put16(h, 0);  // extra length
      h += name;
      write_all(fd, h, where);
      write_all(fd, data, where);
      entries.push_back({name, crc, static_cast<std::uint32_t>(data.size()), static_cast<std::uint32_t>(offset)});
      offset += h.size() + data.size();
    }
    std::string cd;
    for (const auto& e : entries) {
      put32(cd, kCentralSig);
      put16(cd, 20);  // version made by
      put16(cd, 20);  // version needed
      put16(cd, 0);
      put16(cd, 0);
      put16(cd, 0);
      put16(cd, kDosDate);
      put32(cd, e.crc);
      put32(cd, e.size);
      put32(cd, e.size);
      put16(cd, static_cast<std::uint32_t>(e.name.size()));
      put16(cd, 0);  // extra
      put16(cd, 0);  // comment
      put16(cd, 0);  // disk number
      put16(cd, 0);  // internal attributes
      put32(cd, 0);  // external attributes
      put32(cd, e.offset);
      cd += e.name;
    }
    HF_CHECK(entries.size() < 0xFFFF && offset + cd.size() < 0xFFFFFFFFu, where.c_str(),
             "too many arrays or archive too large for a zip without zip64");
    const auto cd_size = static_cast<std::uint32_t>(cd.size());
    put32(cd, kEndSig);
    put16(cd, 0);  // this disk
    put16(cd, 0);  // disk with the central directory
    put16(cd, static_cast<std::uint32_t>(entries.size()));
    put16(cd, static_cast<std::uint32_t>(entries.size()));
    put32(cd, cd_size);
    put32(cd, static_cast<std::uint32_t>(offset));
    put16(cd, 0);  // comment length
    write_all(fd, cd, where);
    HF_CHECK(::fsync(fd) == 0, where.c_str(), "fsync failed: " << std::strerror(errno));
    const int rc = ::close(fd);
    fd = -1;
    HF_CHECK(rc == 0, where.c_str(), "close failed: " << std::strerror(errno));
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    HF_CHECK(!ec, where.c_str(), "cannot rename " << tmp << " over " << path << ": " << ec.message());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);  // the previous `path` is untouched
    throw;
  }
  // Make the rename itself durable (best effort: some file systems refuse fsync on directories).
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

std::map<std::string, Tensor> load_npz(const std::string& path) {
  const std::string where = "load_npz " + path;
  const char* w = where.c_str();
  std::ifstream in(path, std::ios::binary);
  HF_CHECK(in.good(), w, "cannot open the file");
  const std::string z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HF_CHECK(!in.bad(), w, "read failed");

  // The end record sits in the last 22 + (up to 65535 comment) bytes; search backwards for its signature.
  HF_CHECK(z.size() >= kEndSize, w, "truncated or not a zip archive (" << z.size() << " bytes)");
  std::size_t end = std::string::npos;
  const std::size_t lowest = z.size() >= kEndSize + 0xFFFF ? z.size() - kEndSize - 0xFFFF : 0;
  for (std::size_t p = z.size() - kEndSize + 1; p-- > lowest;) {
    if (get32(z, p) == kEndSig && p + kEndSize + get16(z, p + 20) == z.size()) {
      end = p;
      break;
    }
  }
  HF_CHECK(end != std::string::npos, w, "truncated or not a zip archive (no end-of-central-directory record)");
  const std::uint32_t count = get16(z, end + 10), cd_size = get32(z, end + 12), cd_offset = get32(z, end + 16);
  HF_CHECK(get16(z, end + 4) == 0 && get16(z, end + 6) == 0 && get16(z, end + 8) == count, w,
           "multi-disk archives are not supported");
  HF_CHECK(cd_offset != 0xFFFFFFFFu && count != 0xFFFF, w, "zip64 archives are not supported");
  HF_CHECK(static_cast<std::uint64_t>(cd_offset) + cd_size == end, w,
           "corrupted: central directory (offset " << cd_offset << ", size " << cd_size
                                                   << ") does not end at the end record (" << end << ")");

  std::map<std::string, Tensor> out;
  std::size_t p = cd_offset;
  for (std::uint32_t i = 0; i < count; ++i) {
    HF_CHECK(p + kCentralSize <= end && get32(z, p) == kCentralSig, w,
             "corrupted: bad central directory entry " << i);
    const std::uint32_t flags = get16(z, p + 8), method = get16(z, p + 10), crc = get32(z, p + 16);
    const std::uint32_t csize = get32(z, p + 20), usize = get32(z, p + 24);
    const std::size_t nlen = get16(z, p + 28), xlen = get16(z, p + 30), clen = get16(z, p + 32);
    const std::uint32_t local = get32(z, p + 42);
    HF_CHECK(p + kCentralSize + nlen + xlen + clen <= end, w, "corrupted: central directory entry " << i << " overruns");
    const std::string name = z.substr(p + kCentralSize, nlen);
    const std::string mw = where + ": member '" + name + "'";
    const char* m = mw.c_str();
    p += kCentralSize + nlen + xlen + clen;
    HF_CHECK(!(flags & 1), m, "encrypted members are not supported");
    HF_CHECK(method == 0, m, "compressed members (method " << method << ") are not supported; save with numpy.savez, not savez_compressed");
    HF_CHECK(csize == usize && csize != 0xFFFFFFFFu, m, "corrupted sizes (" << csize << " vs " << usize << ")");
    HF_CHECK(nlen > 4 && name.compare(nlen - 4, 4, ".npy") == 0, m, "not a .npy member");
    // The local header repeats the name; the data follows it and must end before the central directory.
    HF_CHECK(static_cast<std::uint64_t>(local) + kLocalSize <= cd_offset && get32(z, local) == kLocalSig, m,
             "corrupted: bad local header at offset " << local);
    const std::size_t lnlen = get16(z, local + 26), lxlen = get16(z, local + 28);
    HF_CHECK(lnlen == nlen && z.compare(local + kLocalSize, nlen, name) == 0, m,
             "corrupted: local header name differs from the central directory");
    HF_CHECK(get16(z, local + 8) == method, m, "corrupted: local header method differs");
    const std::uint64_t data_at = static_cast<std::uint64_t>(local) + kLocalSize + lnlen + lxlen;
    HF_CHECK(data_at + csize <= cd_offset, m, "truncated: data (" << csize << " bytes at " << data_at
                                                                  << ") runs past the central directory");
    const std::uint32_t actual = crc32(z.data() + data_at, csize);
    HF_CHECK(actual == crc, m, "CRC-32 mismatch (stored " << std::hex << crc << ", computed " << actual
                                                          << "): the file is corrupted");
    const std::string key = name.substr(0, nlen - 4);
    HF_CHECK(!out.count(key), m, "duplicate member");
    out.emplace(key, tensor_from_npy_bytes(z.substr(data_at, csize), mw));
  }
  HF_CHECK(p == end, w, "corrupted: central directory size does not match its entries");
  return out;
}

}  // namespace hf
