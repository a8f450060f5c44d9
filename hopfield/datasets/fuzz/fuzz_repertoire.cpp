// libFuzzer target: DeepRC repertoire files (parse + encode) and repertoire metadata files.
// Byte 0 picks the parser and the column configuration.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    hf::RepertoireOptions o;
    if (mode & 2) o.count_column("");
    if (mode & 4) o.target_column("label");
    if (mode % 2 == 0) {
      hf::Repertoire r = hf::parse_repertoire(text, "fuzz.tsv", o);
      if (!r.sequences.empty()) {
        std::vector<const hf::Repertoire*> one{&r};
        auto b = hf::encode_repertoires(one, hf::RepertoireBatchOptions().weighting(
                                                 mode & 8 ? hf::CountWeighting::Log : hf::CountWeighting::None));
        (void)b;
      }
    } else {
      hf::RepertoireMetadata md = hf::parse_repertoire_metadata(text, "metadata.tsv", o);
      (void)md;
    }
  } catch (const hf::Error&) {
  }
  return 0;
}
