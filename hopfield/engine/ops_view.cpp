// Shape ops that never move data: reshape, flatten, squeeze, unsqueeze. The output shares the input's
// storage (data is always contiguous row-major); the backward reshapes the gradient back.
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

namespace {
// A view of x with another shape of the same element count, recorded as `op`.
Tensor view_as(const Tensor& x, const Shape& shape, const char* op) {
  Tensor out = x.detach();
  out.impl()->shape = shape;
  Shape in_shape = x.shape();
  return record(out, op, {x}, [x, in_shape](const Tensor& g) {
    Tensor gv = g.detach();
    gv.impl()->shape = in_shape;
    accumulate_grad(x, gv);
  });
}
}  // namespace

Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape) {
  HF_CHECK(x.defined(), "reshape", "input is undefined");
  Shape out;
  std::size_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      HF_CHECK(infer < 0, "reshape", "only one -1 is allowed, target has several");
      infer = static_cast<int>(i);
      out.push_back(0);
    } else {
      HF_CHECK(shape[i] >= 0, "reshape", "negative dimension " << shape[i] << " in the target shape");
      out.push_back(static_cast<std::size_t>(shape[i]));
      known *= static_cast<std::size_t>(shape[i]);
    }
  }
  auto target_str = [&] {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
  };
  if (infer >= 0) {
    HF_CHECK(known != 0 && x.numel() % known == 0, "reshape",
             "cannot reshape " << shape_str(x.shape()) << " into " << target_str());
    out[static_cast<std::size_t>(infer)] = x.numel() / known;
  }
  HF_CHECK(shape_numel(out) == x.numel(), "reshape",
           "cannot reshape " << shape_str(x.shape()) << " (" << x.numel() << " elements) into " << target_str());
  return view_as(x, out, "reshape");
}

Tensor flatten(const Tensor& x, int start_axis, int end_axis) {
  HF_CHECK(x.defined(), "flatten", "input is undefined");
  if (x.dim() == 0) return view_as(x, {1}, "flatten");
  std::size_t s = detail::norm_axis(start_axis, x.dim(), "flatten");
  std::size_t e = detail::norm_axis(end_axis, x.dim(), "flatten");
  HF_CHECK(s <= e, "flatten", "start axis " << start_axis << " comes after end axis " << end_axis);
  Shape out(x.shape().begin(), x.shape().begin() + static_cast<long>(s));
  std::size_t merged = 1;
  for (std::size_t i = s; i <= e; ++i) merged *= x.shape()[i];
  out.push_back(merged);
  out.insert(out.end(), x.shape().begin() + static_cast<long>(e) + 1, x.shape().end());
  return view_as(x, out, "flatten");
}

Tensor squeeze(const Tensor& x, int axis) {
  HF_CHECK(x.defined(), "squeeze", "input is undefined");
  std::size_t a = detail::norm_axis(axis, x.dim(), "squeeze");
  HF_CHECK(x.shape()[a] == 1, "squeeze",
           "axis " << axis << " of " << shape_str(x.shape()) << " has size " << x.shape()[a] << ", not 1");
  Shape out = x.shape();
  out.erase(out.begin() + static_cast<long>(a));
  return view_as(x, out, "squeeze");
}

Tensor unsqueeze(const Tensor& x, int axis) {
  HF_CHECK(x.defined(), "unsqueeze", "input is undefined");
  std::size_t a = detail::norm_axis(axis, x.dim() + 1, "unsqueeze");
  Shape out = x.shape();
  out.insert(out.begin() + static_cast<long>(a), 1);
  return view_as(x, out, "unsqueeze");
}

}  // namespace hf
