// Helpers for the dataset tests: a per-test temporary folder, writing small files, catching DataError.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "hopfield/datasets/text_reader.h"

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

}  // namespace hf::test
