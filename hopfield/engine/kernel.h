// Internal helpers shared by the op files: dtype dispatch, axis normalisation, strides and the
// broadcasting index walk. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hopfield/engine/check.h"
#include "hopfield/engine/tensor.h"

namespace hf::detail {

// Calls f(T{}) with T = float or double according to dtype; throws for non-float dtypes.
template <class F>
decltype(auto) dispatch_float(Dtype dtype, const char* op, F&& f) {
  if (dtype == Dtype::Float32) return f(float{});
  if (dtype == Dtype::Float64) return f(double{});
  HF_FAIL(op, "dtype " << dtype_name(dtype) << " is not supported (float32 or float64 expected)");
}

// Checks that t is defined and floating point.
void check_float(const Tensor& t, const char* op, const char* what = "input");
// Checks that both tensors share one floating dtype.
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);

// Normalises a possibly negative axis; throws naming op, axis and rank.
std::size_t norm_axis(int axis, std::size_t rank, const char* op);
// Normalised, sorted, unique axes; empty input = all axes.
std::vector<std::size_t> norm_axes(const std::vector<int>& axes, std::size_t rank, const char* op);

std::vector<std::size_t> strides_of(const Shape& shape);  // row-major element strides

// NumPy broadcast of two shapes; throws naming op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Strides of `in` viewed as broadcast to `out` (0 on broadcast axes); in must broadcast to out.
std::vector<std::size_t> broadcast_strides(const Shape& in, const Shape& out);

// Element offsets into a tensor of shape `in` (broadcast to `out`) for each row-major index of `out`.
// Used for the general broadcasting path; same-shape operands take a flat fast path instead.
std::vector<std::size_t> broadcast_offsets(const Shape& in, const Shape& out);

// Sum g (shape `from`) down to `to` (a shape that broadcasts to `from`): un-broadcasting for backward.
Tensor sum_to(const Tensor& g, const Shape& to);

// Outer/axis/inner split of a shape around one axis: shape = (outer, n, inner).
struct AxisSplit {
  std::size_t outer = 1, n = 1, inner = 1;
  // Offset of element j of the slice (o, i).
  std::size_t at(std::size_t o, std::size_t j, std::size_t i) const { return (o * n + j) * inner + i; }
};
AxisSplit split_at(const Shape& shape, std::size_t axis);
// Output shape of a reduction over axis a: the axis kept as 1 (keepdim) or removed.
Shape reduced_shape(const Shape& shape, std::size_t a, bool keepdim);

// v as a BLAS dimension (int); throws naming op when it does not fit.
int blas_int(std::size_t v, const char* op);

// A mask tensor read as bools broadcast to `shape`: one byte per element of shape.
std::vector<std::uint8_t> mask_as_bytes(const Tensor& mask, const Shape& shape, const char* op);

// Plain-pointer access without dtype checks (the caller dispatched already).
template <class T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.impl()->ptr);
}

// New tensor of shape/dtype with uninitialised storage.
Tensor alloc(const Shape& shape, Dtype dtype);

// out[i] = f(x[i]) for a float tensor; f is a generic lambda called with T-typed values.
template <class F>
Tensor map_unary(const Tensor& x, const char* op, F&& f) {
  check_float(x, op);
  Tensor out = alloc(x.shape(), x.dtype());
  const std::size_t n = x.numel();  // outside the lambda, so the loop can vectorise
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* in = ptr<T>(x);
    T* o = ptr<T>(out);
    for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<T>(f(in[i]));
  });
  return out;
}

// out = f(a, b) with NumPy broadcasting; same-shape and scalar operands take flat paths.
// R is the output element type chooser: out has dtype out_dtype (a's dtype for arithmetic, Bool for
// comparisons).
template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const char* op, Dtype out_dtype, F&& f) {
  check_same_dtype(a, b, op);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = alloc(shape, out_dtype);
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = ptr<T>(a);
    const T* pb = ptr<T>(b);
    auto run = [&](auto otag) {
      using O = decltype(otag);
      O* o = ptr<O>(out);
      const std::size_t n = shape_numel(shape);
      if (a.shape() == shape && b.shape() == shape) {
        for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<O>(f(pa[i], pb[i]));
      } else if (a.shape() == shape && b.numel() == 1) {
        const T vb = pb[0];
        for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<O>(f(pa[i], vb));
      } else if (b.shape() == shape && a.numel() == 1) {
        const T va = pa[0];
        for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<O>(f(va, pb[i]));
      } else {
        auto oa = broadcast_offsets(a.shape(), shape);
        auto ob = broadcast_offsets(b.shape(), shape);
        for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<O>(f(pa[oa[i]], pb[ob[i]]));
      }
    };
    if (out_dtype == Dtype::Bool) run(std::uint8_t{});
    else run(T{});
  });
  return out;
}

}  // namespace hf::detail
