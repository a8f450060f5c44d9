// libFuzzer target: the unified MIL CSV parser, then batching and standardisation of what it accepted.
// Only hf::Error (DataError is one) may escape the library; anything else, or a sanitizer report, is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/engine/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    hf::MilDataset ds = hf::parse_mil_csv(text, "fuzz.csv");
    std::vector<std::size_t> bags;
    for (std::size_t b = 0; b < ds.num_bags() && b < 8; ++b) bags.push_back(b);
    hf::Standardizer s = hf::fit_standardizer(ds, bags);
    hf::BagBatch batch = hf::make_bag_batch(ds, bags, &s);
    (void)batch;
  } catch (const hf::Error&) {
  }
  return 0;
}
