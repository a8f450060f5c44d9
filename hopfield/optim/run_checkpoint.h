// Resumable runs made of independent units (folds, ensemble members, datasets): a checkpoint directory holds
// what the run is and every finished unit's result, so a run killed part-way continues where it stopped and
// recomputes nothing that had finished.
//
//   DIR/run.json        the run's configuration (everything that changes its results), written first
//   DIR/<unit>.json     one finished unit's result, written atomically (temporary file, fsync, rename) so a
//                       crash leaves either the whole file or none
//
//   RunCheckpoint ckpt(dir, config, resume);              // config: nlohmann::json of the settings
//   if (ckpt.has("fold_3")) result = from_json(ckpt.load("fold_3"));
//   else { result = train(...); ckpt.save("fold_3", to_json(result)); }
//   // the same in one call (ckpt may be null: no checkpointing):
//   result = run_unit(&ckpt, "fold_3", [&] { return train(...); }, to_json, from_json);
//
// Doubles are written with enough digits to read back exactly, so a resumed run's final result equals the
// uninterrupted run's bit for bit. JSON has no NaN (nlohmann writes it as null): store a double that may be NaN
// (an unscored metric) with json_number and read it with number_from_json, which turns null back into NaN. Opening a directory that holds another run (a different run.json), or
// that is damaged (unreadable run.json or unit), throws one hf::Error naming the file.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "hopfield/engine/check.h"

namespace hf {

// v as JSON, NaN as null (what nlohmann::json writes for it anyway, made explicit).
nlohmann::json json_number(double v);
// A double written by json_number: null reads back as NaN, anything else as the number (a string or an object
// throws nlohmann::json::type_error, which run_unit reports as a damaged file).
double number_from_json(const nlohmann::json& j);

// Writes text to path through a temporary file in the same folder, fsync and rename.
void write_file_atomic(const std::string& path, const std::string& text);

class RunCheckpoint {
 public:
  // Without resume the directory must not hold a run yet (it is created if missing); with resume a missing
  // or empty directory starts a new run, an existing run.json must equal `config`.
  RunCheckpoint(std::string dir, const nlohmann::json& config, bool resume);
  bool has(const std::string& unit) const;
  nlohmann::json load(const std::string& unit) const;
  void save(const std::string& unit, const nlohmann::json& result) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string path(const std::string& unit) const;
  std::string dir_;
};

// A unit's result: read back with from_json when `ckpt` holds it (a file from_json cannot read is reported as
// damaged, naming it), else computed and, with a checkpoint, saved. ckpt null: always computed.
template <class Compute, class ToJson, class FromJson>
auto run_unit(const RunCheckpoint* ckpt, const std::string& unit, Compute compute, ToJson to_json, FromJson from_json)
    -> decltype(compute()) {
  if (ckpt && ckpt->has(unit)) {
    try {
      return from_json(ckpt->load(unit));
    } catch (const nlohmann::json::exception&) {
      HF_FAIL("--resume", ckpt->dir() << "/" << unit << ".json is damaged (not a result of this run's units)");
    }
  }
  auto result = compute();
  if (ckpt) ckpt->save(unit, to_json(result));
  return result;
}

}  // namespace hf
