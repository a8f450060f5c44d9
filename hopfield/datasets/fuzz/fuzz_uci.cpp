// libFuzzer target: the general CSV/TSV table parser + encoder, and the four-file UCI parser.
// Byte 0 picks the parser; for UCI the rest is split at '|' into features, labels, folds, validation folds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hopfield/datasets/table.h"
#include "hopfield/datasets/uci.h"
#include "hopfield/engine/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (mode % 2 == 0) {
      hf::TableOptions o;
      if (mode & 2) o.target(std::string(text.substr(0, text.find_first_of(",;\t\n"))));  // the first header name
      hf::Table t = hf::parse_table(text, "fuzz.csv", o);
      std::vector<std::size_t> train;
      for (std::size_t i = 0; i < t.num_rows; i += 2) train.push_back(i);
      hf::TableDataset ds = hf::encode_table(t, train, o);
      (void)ds;
    } else {
      std::string_view parts[4];
      for (int k = 0; k < 4; ++k) {
        std::size_t p = k < 3 ? text.find('|') : std::string_view::npos;
        parts[k] = text.substr(0, p);
        text = p == std::string_view::npos ? std::string_view() : text.substr(p + 1);
      }
      hf::UciDataset ds = hf::parse_uci(hf::UciFiles{parts[0], parts[1], parts[2], parts[3]}, "fuzz");
      for (std::size_t k = 0; k < hf::UciDataset::num_splits; ++k) {
        auto s = ds.split(k);
        if (!s.train.empty()) (void)ds.fit_standardizer(k);
      }
    }
  } catch (const hf::Error&) {
  }
  return 0;
}
