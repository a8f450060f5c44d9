// Sequential container: registration under index names and the forward chain.
#include "hopfield/layers/sequential.h"

#include "hopfield/engine/check.h"

namespace hf {

Sequential::Sequential(const std::vector<std::shared_ptr<UnaryModule>>& modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<UnaryModule> m) { push_back(std::to_string(modules_.size()), std::move(m)); }

void Sequential::push_back(const std::string& name, std::shared_ptr<UnaryModule> m) {
  HF_CHECK(m != nullptr, "Sequential::push_back", "module '" << name << "' is null");
  register_module(name, m);
  modules_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : modules_) y = m->forward(y);
  return y;
}

const std::shared_ptr<UnaryModule>& Sequential::operator[](std::size_t i) const {
  HF_CHECK(i < modules_.size(), "Sequential", "index " << i << " out of range for " << modules_.size() << " modules");
  return modules_[i];
}

void Sequential::throw_wrong_type(std::size_t i) const {
  HF_FAIL("Sequential::at", "module " << i << " is a " << modules_[i]->name() << ", not the requested type");
}

}  // namespace hf
