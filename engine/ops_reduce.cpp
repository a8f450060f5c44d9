// Reductions over any set of axes, with keepdim.
//   x: input shape; axes: reduced axes (empty = all); kept: x's shape with reduced axes set to 1.
// The backward broadcasts the (kept-shape) gradient back over the reduced axes.
#include <cmath>

#include "engine/kernel.h"
#include "engine/ops.h"

namespace hf {

namespace {
struct ReducePlan {
  Shape kept;   // reduced axes as 1
  Shape out;    // kept, or with reduced axes removed
  std::size_t count = 1;  // elements per output entry
  std::vector<std::size_t> out_offsets;  // for each input element, its output entry
};

ReducePlan plan_reduce(const Tensor& x, const std::vector<int>& axes, bool keepdim, const char* op) {
  detail::check_float(x, op);
  ReducePlan p;
  auto ax = detail::norm_axes(axes, x.dim(), op);
  p.kept = x.shape();
  for (auto a : ax) {
    p.count *= p.kept[a];
    p.kept[a] = 1;
  }
  for (std::size_t i = 0; i < x.dim(); ++i)
    if (keepdim || std::find(ax.begin(), ax.end(), i) == ax.end()) p.out.push_back(p.kept[i]);
  p.out_offsets = detail::broadcast_offsets(p.kept, x.shape());
  return p;
}

// Broadcast a gradient of the kept shape back to the full input shape.
Tensor expand_back(const Tensor& g, const Shape& kept, const Shape& full) {
  Tensor gk = g.detach();
  gk.impl()->shape = kept;
  Tensor out = detail::alloc(full, g.dtype());
  auto offs = detail::broadcast_offsets(kept, full);
  detail::dispatch_float(g.dtype(), "reduce backward", [&](auto tag) {
    using T = decltype(tag);
    const T* s = detail::ptr<T>(gk);
    T* o = detail::ptr<T>(out);
    for (std::size_t i = 0; i < offs.size(); ++i) o[i] = s[offs[i]];
  });
  return out;
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ReducePlan p = plan_reduce(x, axes, keepdim, "sum");
  Tensor out = zeros(p.out, x.dtype());
  detail::dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* o = detail::ptr<T>(out);
    for (std::size_t i = 0; i < p.out_offsets.size(); ++i) o[p.out_offsets[i]] += in[i];
  });
  Shape kept = p.kept, full = x.shape();
  return record(out, "sum", {x}, [x, kept, full](const Tensor& g) { accumulate_grad(x, expand_back(g, kept, full)); });
}

Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ReducePlan p = plan_reduce(x, axes, keepdim, "mean");
  HF_CHECK(p.count > 0, "mean", "mean over an empty axis of " << shape_str(x.shape()));
  return mul(sum(x, axes, keepdim), 1.0 / static_cast<double>(p.count));
}

}  // namespace hf
