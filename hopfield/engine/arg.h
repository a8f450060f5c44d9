// HF_ARG: chainable option setters in the spirit of libtorch's TORCH_ARG.
//   struct LinearOptions { LinearOptions(size_t in, size_t out); HF_ARG(bool, bias) = true; };
//   LinearOptions(5, 2).bias(false)
#pragma once

#include <utility>

#define HF_ARG(T, name)                                        \
 public:                                                       \
  auto name(const T& new_##name)->decltype(*this) {            \
    this->name##_ = new_##name;                                \
    return *this;                                              \
  }                                                            \
  const T& name() const noexcept { return this->name##_; }     \
  T& name() noexcept { return this->name##_; }                 \
                                                               \
 private:                                                      \
  T name##_
