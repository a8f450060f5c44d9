// .npz archives (what numpy.savez writes: a zip of .npy members, stored uncompressed) for state dicts
// and checkpoints. Writing goes to `path.tmp`, is flushed and renamed over `path`, so a crash mid-write
// leaves the previous file intact. Reading checks every member's CRC-32 and refuses a truncated or
// corrupted archive with a message naming the file and the member.
#pragma once

#include <map>
#include <string>

#include "hopfield/engine/tensor.h"

namespace hf {

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays);
std::map<std::string, Tensor> load_npz(const std::string& path);

// The .npy bytes of one tensor / a tensor from .npy bytes (`where` names the source in errors).
std::string npy_bytes(const Tensor& t);
Tensor tensor_from_npy_bytes(const std::string& bytes, const std::string& where);

}  // namespace hf
