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
//   // under mpirun, a unit every rank trains together (data-parallel); ckpt only on rank 0:
//   result = run_unit_on_all_ranks(rank == 0 ? &ckpt : nullptr, "fold_3", ...);
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
#include "hopfield/optim/distributed.h"

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

// The same for a unit that all ranks of an MPI job compute together (data parallelism: its steps are
// collectives): rank 0 alone reads and writes ckpt (give null elsewhere) and sends a finished unit's result to
// every rank, so all of them load it or all compute it. One process: run_unit.
template <class Compute, class ToJson, class FromJson>
auto run_unit_on_all_ranks(const RunCheckpoint* ckpt, const std::string& unit, Compute compute, ToJson to_json,
                           FromJson from_json) -> decltype(compute()) {
  if (distributed::get_world_size() <= 1) return run_unit(ckpt, unit, compute, to_json, from_json);
  const bool root = distributed::get_rank() == 0;
  std::string saved;  // empty: not finished
  if (root && ckpt && ckpt->has(unit)) saved = ckpt->load(unit).dump();
  distributed::broadcast(saved);
  if (!saved.empty()) {
    try {
      return from_json(nlohmann::json::parse(saved));
    } catch (const nlohmann::json::exception&) {
      HF_FAIL("--resume", (ckpt ? ckpt->dir() : std::string("the checkpoint directory")) << "/" << unit
                                                                                          << ".json is damaged (not a result of this run's units)");
    }
  }
  auto result = compute();
  if (root && ckpt) ckpt->save(unit, to_json(result));
  return result;
}

}  // namespace hf
