// Conversions between hf::Tensor and xtensor containers (copies). Include only where xtensor is wanted:
// it pulls in the xtensor headers.
#pragma once

#include <algorithm>
#include <type_traits>

#include <xtensor/xarray.hpp>

#include "hopfield/engine/tensor.h"

namespace hf {

template <class T>
Tensor from_xarray(const xt::xarray<T>& a) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double arrays");
  Shape shape(a.shape().begin(), a.shape().end());
  Tensor t = empty(shape, std::is_same_v<T, float> ? Dtype::Float32 : Dtype::Float64);
  xt::xarray<T> c = a;  // row-major contiguous copy
  std::copy(c.begin(), c.end(), t.data<T>());
  return t;
}

template <class T>
xt::xarray<T> to_xarray(const Tensor& t) {
  Tensor c = t.to(std::is_same_v<T, float> ? Dtype::Float32 : Dtype::Float64);
  xt::xarray<T> a = xt::xarray<T>::from_shape(t.shape());
  std::copy(c.data<T>(), c.data<T>() + c.numel(), a.data());
  return a;
}

}  // namespace hf
