// Checkpoints (layout in optim/checkpoint.h).
#include "hopfield/optim/checkpoint.h"

#include <cstring>

#include "hopfield/engine/check.h"
#include "hopfield/engine/npz.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/optimizer.h"

namespace hf {

namespace {
constexpr std::int64_t kFormat = 1;

// FNV-1a 64 over "name\0<npy bytes>" of every member but the checksum, in map (name) order.
std::int64_t checksum(const std::map<std::string, Tensor>& members) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  for (const auto& [name, t] : members) {
    if (name == "checksum") continue;
    mix(name);
    mix(std::string(1, '\0'));
    mix(npy_bytes(t));
  }
  std::int64_t out;
  std::memcpy(&out, &h, sizeof out);  // stored as the same 64 bits in an Int64 array
  return out;
}

std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& m, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, t] : m) out[prefix + k] = t;
  return out;
}

std::map<std::string, Tensor> strip_prefix(const std::map<std::string, Tensor>& m, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, t] : m)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = t;
  return out;
}

std::int64_t int_member(const std::map<std::string, Tensor>& m, const std::string& key, const std::string& where) {
  auto it = m.find(key);
  HF_CHECK(it != m.end(), where.c_str(), "missing member '" << key << "'");
  HF_CHECK(it->second.dtype() == Dtype::Int64 && it->second.numel() == 1, where.c_str(),
           "member '" << key << "' must be one Int64 value");
  return it->second.data<std::int64_t>()[0];
}
}  // namespace

void save_checkpoint(const std::string& path, const CheckpointParts& parts, std::int64_t epoch) {
  std::map<std::string, Tensor> members;
  if (parts.model) members.merge(with_prefix(parts.model->state_dict(), "model."));
  if (parts.optimizer) members.merge(with_prefix(parts.optimizer->state_dict(), "optimizer."));
  if (parts.scheduler) members.merge(with_prefix(parts.scheduler->state_dict(), "scheduler."));
  if (parts.extra) members.merge(with_prefix(*parts.extra, "extra."));
  if (parts.generator) {
    const std::string s = parts.generator->state();
    std::vector<std::int64_t> bytes(s.begin(), s.end());
    for (auto& b : bytes) b = static_cast<unsigned char>(b);
    members["rng"] = from_indices(bytes, {bytes.size()});
  }
  members["epoch"] = from_indices({epoch}, {});
  members["format"] = from_indices({kFormat}, {});
  members["checksum"] = from_indices({checksum(members)}, {});
  save_npz(path, members);
}

std::map<std::string, Tensor> read_checkpoint(const std::string& path) {
  const std::string where = "load_checkpoint " + path;
  auto members = load_npz(path);  // refuses truncation and CRC-32 damage
  // A model saved on its own (Module::save) is a plain state dict: say so rather than "missing member".
  HF_CHECK(members.count("checksum") || members.count("format"), where.c_str(),
           "missing member 'checksum': not a checkpoint written by save_checkpoint. A file written by Module::save "
           "(parameters only) loads with Module::load (model.load(path))");
  const std::int64_t stored = int_member(members, "checksum", where);
  HF_CHECK(stored == checksum(members), where.c_str(),
           "checksum mismatch: members were changed, added or removed after the checkpoint was written");
  const std::int64_t format = int_member(members, "format", where);
  HF_CHECK(format == kFormat, where.c_str(), "unsupported checkpoint format " << format << " (this build reads " << kFormat << ")");
  return members;
}

std::int64_t load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  const std::string where = "load_checkpoint " + path;
  auto members = read_checkpoint(path);
  const std::int64_t epoch = int_member(members, "epoch", where);
  auto model = strip_prefix(members, "model."), opt = strip_prefix(members, "optimizer."),
       sched = strip_prefix(members, "scheduler.");
  HF_CHECK(!parts.model || !model.empty(), where.c_str(), "the checkpoint holds no model state");
  HF_CHECK(!parts.optimizer || !opt.empty(), where.c_str(), "the checkpoint holds no optimizer state");
  HF_CHECK(!parts.scheduler || !sched.empty(), where.c_str(), "the checkpoint holds no scheduler state");
  HF_CHECK(!parts.generator || members.count("rng"), where.c_str(), "the checkpoint holds no RNG state");
  std::string rng;
  if (parts.generator) {
    const Tensor& r = members.at("rng");
    HF_CHECK(r.dtype() == Dtype::Int64 && r.dim() == 1, where.c_str(), "member 'rng' must be a 1-D Int64 array");
    for (std::size_t i = 0; i < r.numel(); ++i) rng.push_back(static_cast<char>(r.data<std::int64_t>()[i]));
    Generator probe;
    probe.set_state(rng);  // validates the text before anything below is changed
  }
  // Each load checks shapes/keys before copying; the optimizer (most likely to mismatch a changed model)
  // goes first.
  try {
    if (parts.optimizer) parts.optimizer->load_state_dict(opt);
    if (parts.scheduler) parts.scheduler->load_state_dict(sched);
    if (parts.model) parts.model->load_state_dict(model, true);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  if (parts.generator) parts.generator->set_state(rng);
  if (parts.extra) *parts.extra = strip_prefix(members, "extra.");
  return epoch;
}

}  // namespace hf
