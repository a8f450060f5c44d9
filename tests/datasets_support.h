// Helpers for the dataset tests: a per-test temporary folder, writing small files, catching DataError, a small
// UCI dataset with a known answer.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "hopfield/datasets/text_reader.h"
#include "hopfield/datasets/uci.h"
#include "hopfield/engine/random.h"

namespace hf::test {

// A fresh folder under the system temp dir, removed again when the object goes away.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() / ("hf_" + tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `text` to <path>/<rel> (creating sub-folders) and returns the full path.
  std::string write(const std::string& rel, const std::string& text) const {
    auto p = path / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

// The message of the DataError thrown by f, or "" if none was thrown (other exceptions propagate).
template <class F>
std::string data_error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

inline bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Two well separated classes in the UCI layout: row i has class i % 2 around (+-3, +-3); split k tests the rows
// with i % 4 == k and validates on those with i % 4 == k + 1 (mod 4).
inline UciDataset separated_uci(std::size_t n) {
  UciDataset ds;
  ds.name = "separated";
  ds.num_samples = n;
  ds.num_features = 2;
  ds.num_classes = 2;
  Generator g(3);
  for (std::size_t i = 0; i < n; ++i) {
    const double centre = i % 2 ? 3.0 : -3.0;
    ds.features.push_back(centre + 0.3 * g.normal());
    ds.features.push_back(centre + 0.3 * g.normal());
    ds.labels.push_back(static_cast<std::int64_t>(i % 2));
    for (std::size_t k = 0; k < UciDataset::num_splits; ++k) {
      ds.test_mask.push_back(i % 4 == k);
      ds.validation_mask.push_back(i % 4 == (k + 1) % 4);
    }
  }
  return ds;
}

}  // namespace hf::test
