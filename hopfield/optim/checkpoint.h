// Crash-safe training checkpoints: one NumPy-readable .npz holding everything needed to resume a run
// bit-identically.
//
//   members                       content
//   model.<dotted name>           every parameter and buffer (Module::state_dict)
//   optimizer.<key>               Optimizer::state_dict (moments, step counts, group lrs)
//   scheduler.<key>               Scheduler::state_dict (epoch counters, base lrs, plateau state)
//   epoch                         Int64 0-d: the epoch (or step) the caller reached
//   rng                           hf::Generator::state() text as its byte values (Int64, 1-D; the npz
//                                 reader has no uint8 dtype: |u1 is read as Bool). In numpy:
//                                 bytes(z["rng"].astype("u1")).decode()
//   extra.<key>                   CheckpointParts::extra, whatever else the caller saved
//   format                        Int64 0-d: this layout's version (1)
//   checksum                      Int64 0-d: FNV-1a 64 over the names and .npy bytes of all other members
//                                 in name order, so a member dropped or swapped by hand is also caught
//                                 (the zip's per-member CRC-32 catches byte damage)
//
// Writing goes through save_npz (temp file, fsync, rename): a crash mid-write keeps the previous checkpoint.
// Loading refuses a truncated or corrupted file with an hf::Error naming it, before touching the model.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "hopfield/engine/random.h"
#include "hopfield/engine/tensor.h"

namespace hf {

class Module;
class Optimizer;
class Scheduler;

// Any pointer may be null (that part is neither saved nor loaded).
struct CheckpointParts {
  Module* model = nullptr;
  Optimizer* optimizer = nullptr;
  Scheduler* scheduler = nullptr;
  Generator* generator = nullptr;
  // Anything else a resumed run needs (a trainer's counters, history, early-stopping state), stored as
  // members "extra.<key>"; loading replaces the map's content with the checkpoint's.
  std::map<std::string, Tensor>* extra = nullptr;
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts, std::int64_t epoch);
// Restores every non-null part and returns the saved epoch. All members are read and verified (checksum,
// presence of each requested part) before anything is changed; the model's load is strict.
std::int64_t load_checkpoint(const std::string& path, const CheckpointParts& parts);

// The members of a checkpoint file after checksum verification (for inspection tools).
std::map<std::string, Tensor> read_checkpoint(const std::string& path);

}  // namespace hf
