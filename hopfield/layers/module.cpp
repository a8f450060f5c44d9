// Module registry, state dicts, train/eval, dtype conversion and printing.
#include "hopfield/layers/module.h"

#include <algorithm>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/npz.h"
#include "hopfield/engine/tape.h"

namespace hf {

namespace {
void check_name(const std::string& name, const char* what) {
  HF_CHECK(!name.empty() && name.find('.') == std::string::npos, what,
           "name '" << name << "' must be non-empty and contain no '.'");
}
template <class V>
bool has_name(const V& v, const std::string& name) {
  return std::any_of(v.begin(), v.end(), [&](const auto& p) { return p.first == name; });
}
}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "register_parameter");
  HF_CHECK(!has_name(params_, name) && !has_name(buffers_, name), "register_parameter",
           "'" << name << "' is already registered in " << this->name());
  HF_CHECK(t.defined() && is_floating(t.dtype()), "register_parameter", "'" << name << "' must be a float tensor");
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_(requires_grad);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "register_buffer");
  HF_CHECK(!has_name(params_, name) && !has_name(buffers_, name), "register_buffer",
           "'" << name << "' is already registered in " << this->name());
  buffers_.emplace_back(name, t.detach());
  return buffers_.back().second;
}

void Module::replace_parameter(const std::string& name, const Tensor& t) {
  for (auto& [n, p] : params_)
    if (n == name) {
      HF_CHECK(t.shape() == p.shape(), "replace_parameter",
               "'" << name << "': new shape " << shape_str(t.shape()) << " differs from " << shape_str(p.shape()));
      NoGrad ng;
      p.copy_(t);
      return;
    }
  HF_FAIL("replace_parameter", "no parameter '" << name << "' in " << this->name());
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "register_module");
  HF_CHECK(m != nullptr, "register_module", "module '" << name << "' is null");
  HF_CHECK(!has_name(children_, name), "register_module", "'" << name << "' is already registered");
  children_.emplace_back(name, std::move(m));
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out = params_;
  if (recurse)
    for (const auto& [cname, child] : children_)
      for (auto& [n, t] : child->named_parameters(true)) out.emplace_back(cname + "." + n, t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out = buffers_;
  if (recurse)
    for (const auto& [cname, child] : children_)
      for (auto& [n, t] : child->named_buffers(true)) out.emplace_back(cname + "." + n, t);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [n, t] : named_parameters()) out[n] = t;
  for (auto& [n, t] : named_buffers()) out[n] = t;
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  auto mine = state_dict();
  if (strict) {
    for (const auto& [n, t] : state)
      HF_CHECK(mine.count(n), "load_state_dict",
               "unknown key '" << n << "' (shape " << shape_str(t.shape()) << ") for " << name());
    for (const auto& [n, t] : mine)
      HF_CHECK(state.count(n), "load_state_dict",
               "missing key '" << n << "' (expected shape " << shape_str(t.shape()) << ") for " << name());
  }
  // Check every shape before copying anything: a failed load leaves the module unchanged.
  for (const auto& [n, t] : state) {
    auto it = mine.find(n);
    if (it == mine.end()) continue;
    HF_CHECK(it->second.shape() == t.shape(), "load_state_dict",
             "key '" << n << "': the module has shape " << shape_str(it->second.shape()) << ", the state has "
                     << shape_str(t.shape()));
  }
  NoGrad ng;
  for (const auto& [n, t] : state) {
    auto it = mine.find(n);
    if (it != mine.end()) it->second.copy_(t);
  }
}

void Module::save(const std::string& path) const { save_npz(path, state_dict()); }

void Module::load(const std::string& path, bool strict) {
  const auto state = load_npz(path);
  try {
    load_state_dict(state, strict);
  } catch (const Error& e) {
    // The other direction of the same mix-up: a training checkpoint holds the model under "model.".
    const bool checkpoint = state.count("checksum") && state.count("format");
    throw Error(std::string(e.what()) + " (file " + path + ")" +
                (checkpoint ? "; this file is a checkpoint written by save_checkpoint: load it with load_checkpoint" : ""));
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (auto& [n, t] : named_parameters()) t.zero_grad();
}

std::size_t Module::num_parameters(bool trainable_only) const {
  std::size_t n = 0;
  for (auto& [name, t] : named_parameters())
    if (!trainable_only || t.requires_grad()) n += t.numel();
  return n;
}

void Module::to(Dtype dtype) {
  HF_CHECK(is_floating(dtype), "Module::to", "target dtype " << dtype_name(dtype) << " is not a float type");
  auto convert = [dtype](Tensor& t) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
    Tensor c = t.detach().to(dtype);
    // Swap the storage inside the shared impl so every handle (member and registry) sees it.
    auto& impl = *t.impl();
    impl.owner = c.impl()->owner;
    impl.ptr = c.impl()->ptr;
    impl.dtype = dtype;
    impl.grad = Tensor();
  };
  for (auto& [n, t] : params_) convert(t);
  for (auto& [n, t] : buffers_) convert(t);
  for (auto& [n, c] : children_) c->to(dtype);
}

Dtype Module::dtype() const {
  auto ps = named_parameters();
  return ps.empty() ? Dtype::Float32 : ps.front().second.dtype();
}

std::string Module::pretty_print(int indent) const {
  std::ostringstream os;
  os << name() << "(" << extra_repr();
  if (!children_.empty()) {
    os << "\n";
    for (const auto& [n, c] : children_)
      os << std::string(static_cast<std::size_t>(indent + 2), ' ') << "(" << n << "): " << c->pretty_print(indent + 2)
         << "\n";
    os << std::string(static_cast<std::size_t>(indent), ' ');
  }
  os << ")";
  return os.str();
}

}  // namespace hf
