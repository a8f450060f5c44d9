// Reductions over any set of axes, with keepdim: sum, mean, var, std, logsumexp; max/min along one axis
// (with argmax/argmin) and over everything.
//   x: input shape; axes: reduced axes (empty = all); kept: x's shape with reduced axes set to 1.
//   For single-axis reductions x is viewed as (outer, n, inner) around the axis.
// The gradient of an out entry has the kept layout whether keepdim is set or not (dropping size-1 axes does
// not move data), so backward kernels index it through the same out_offsets as the forward.
#include <algorithm>
#include <cmath>
#include <limits>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

namespace {
struct ReducePlan {
  Shape kept;   // reduced axes as 1
  Shape out;    // kept, or with reduced axes removed
  std::size_t count = 1;  // elements per output entry
  std::vector<std::size_t> out_offsets;  // for each input element, its output entry
};

// with_offsets = false leaves out_offsets empty (for callers that need only the shapes and the count, or
// reduce over everything).
ReducePlan plan_reduce(const Tensor& x, const std::vector<int>& axes, bool keepdim, const char* op,
                       bool with_offsets = true) {
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
  if (with_offsets) p.out_offsets = detail::broadcast_offsets(p.kept, x.shape());
  return p;
}

// Broadcast a gradient of the kept shape back to the full input shape.
Tensor expand_back(const Tensor& g, const Shape& kept, const Shape& full) {
  Tensor gk = g.detach();
  gk.impl()->shape = kept;
  Tensor out = detail::alloc(full, g.dtype());
  if (shape_numel(kept) == 1) {  // from a reduction over everything: one value everywhere
    detail::dispatch_float(g.dtype(), "reduce backward", [&](auto tag) {
      using T = decltype(tag);
      const T v = detail::ptr<T>(gk)[0];
      T* o = detail::ptr<T>(out);
      std::fill(o, o + out.numel(), v);
    });
    return out;
  }
  auto offs = detail::broadcast_offsets(kept, full);
  detail::dispatch_float(g.dtype(), "reduce backward", [&](auto tag) {
    using T = decltype(tag);
    const T* s = detail::ptr<T>(gk);
    T* o = detail::ptr<T>(out);
    for (std::size_t i = 0; i < offs.size(); ++i) o[i] = s[offs[i]];
  });
  return out;
}

// Which comparison picks the extreme: max keeps the larger value, min the smaller; a NaN always wins
// (propagates, as in torch), and ties keep the first position.
template <class T>
bool better(T candidate, T best, bool is_max) {
  if (std::isnan(best)) return false;
  if (std::isnan(candidate)) return true;
  return is_max ? candidate > best : candidate < best;
}

struct Extreme {
  Tensor values;                    // (out shape), x's dtype
  std::vector<std::size_t> argpos;  // per out entry (outer, inner), the position along the axis
  Shape out_shape;
  detail::AxisSplit sp;
};

// The first extreme of x along axis for each (outer, inner) position.
Extreme find_extreme(const Tensor& x, int axis, bool keepdim, bool is_max, const char* op) {
  detail::check_float(x, op);
  const std::size_t a = detail::norm_axis(axis, x.dim(), op);
  HF_CHECK(x.shape()[a] > 0, op, "reduction over axis " << axis << " of size 0 in " << shape_str(x.shape()));
  Extreme e;
  e.sp = detail::split_at(x.shape(), a);
  e.out_shape = x.shape();
  if (keepdim) e.out_shape[a] = 1;
  else e.out_shape.erase(e.out_shape.begin() + static_cast<long>(a));
  e.values = detail::alloc(e.out_shape, x.dtype());
  e.argpos.assign(e.sp.outer * e.sp.inner, 0);
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* v = detail::ptr<T>(e.values);
    for (std::size_t o = 0; o < e.sp.outer; ++o) {
      const T* row = in + o * e.sp.n * e.sp.inner;
      // Walk the axis for all inner positions at once (rows are contiguous in inner).
      T* best = v + o * e.sp.inner;
      std::size_t* pos = e.argpos.data() + o * e.sp.inner;
      std::copy(row, row + e.sp.inner, best);
      for (std::size_t j = 1; j < e.sp.n; ++j)
        for (std::size_t i = 0; i < e.sp.inner; ++i)
          if (better(row[j * e.sp.inner + i], best[i], is_max)) {
            best[i] = row[j * e.sp.inner + i];
            pos[i] = j;
          }
    }
  });
  return e;
}

// max/min along an axis: the gradient goes to the first extreme of each row.
Tensor extreme_op(const Tensor& x, int axis, bool keepdim, bool is_max, const char* op) {
  Extreme e = find_extreme(x, axis, keepdim, is_max, op);
  Shape in_shape = x.shape();
  auto argpos = std::make_shared<const std::vector<std::size_t>>(std::move(e.argpos));
  const detail::AxisSplit sp = e.sp;
  return record(e.values, op, {x}, [x, in_shape, argpos, sp](const Tensor& g) {
    Tensor gx = zeros(in_shape, g.dtype());
    detail::dispatch_float(g.dtype(), "max/min backward", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = detail::ptr<T>(g);
      T* px = detail::ptr<T>(gx);
      for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i) {
          const std::size_t k = o * sp.inner + i;
          px[(o * sp.n + (*argpos)[k]) * sp.inner + i] += pg[k];
        }
    });
    accumulate_grad(x, gx);
  });
}

Tensor arg_extreme(const Tensor& x, int axis, bool keepdim, bool is_max, const char* op) {
  Extreme e = find_extreme(x, axis, keepdim, is_max, op);
  Tensor out = detail::alloc(e.out_shape, Dtype::Int64);
  std::int64_t* o = detail::ptr<std::int64_t>(out);
  for (std::size_t k = 0; k < e.argpos.size(); ++k) o[k] = static_cast<std::int64_t>(e.argpos[k]);
  return out;
}

// Over everything: the flattened tensor along its single axis.
Tensor extreme_all(const Tensor& x, bool is_max, const char* op) {
  detail::check_float(x, op);
  HF_CHECK(x.numel() > 0, op, "reduction of the empty tensor " << shape_str(x.shape()));
  return extreme_op(reshape(x, {-1}), 0, false, is_max, op);
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ReducePlan p = plan_reduce(x, axes, keepdim, "sum", false);
  const bool all = shape_numel(p.kept) == 1;  // everything into one entry: no offset table needed
  if (!all) p.out_offsets = detail::broadcast_offsets(p.kept, x.shape());
  Tensor out = zeros(p.out, x.dtype());
  detail::dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* o = detail::ptr<T>(out);
    if (all) {
      T total = o[0];  // the same order of additions as the general loop
      for (std::size_t i = 0, n = x.numel(); i < n; ++i) total += in[i];
      o[0] = total;
    } else {
      for (std::size_t i = 0; i < p.out_offsets.size(); ++i) o[p.out_offsets[i]] += in[i];
    }
  });
  Shape kept = p.kept, full = x.shape();
  return record(out, "sum", {x}, [x, kept, full](const Tensor& g) { accumulate_grad(x, expand_back(g, kept, full)); });
}

Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ReducePlan p = plan_reduce(x, axes, keepdim, "mean", false);
  HF_CHECK(p.count > 0, "mean", "mean over an empty axis of " << shape_str(x.shape()));
  return mul(sum(x, axes, keepdim), 1.0 / static_cast<double>(p.count));
}

// var = sum((x - mean)^2) / (N - correction), built from primitives so its gradient,
// 2 (x - mean) / (N - correction), comes from theirs.
Tensor var(const Tensor& x, const std::vector<int>& axes, int correction, bool keepdim) {
  ReducePlan p = plan_reduce(x, axes, keepdim, "var", false);
  HF_CHECK(correction >= 0, "var", "correction " << correction << " must be >= 0");
  HF_CHECK(p.count > static_cast<std::size_t>(correction), "var",
           "correction " << correction << " leaves no degrees of freedom: " << p.count
                         << " element(s) per output of " << shape_str(x.shape()));
  Tensor d = sub(x, mean(x, axes, true));
  return mul(sum(mul(d, d), axes, keepdim), 1.0 / static_cast<double>(p.count - static_cast<std::size_t>(correction)));
}

Tensor std(const Tensor& x, const std::vector<int>& axes, int correction, bool keepdim) {
  HF_CHECK(x.defined(), "std", "input is undefined");
  return sqrt(var(x, axes, correction, keepdim));
}

// logsumexp = m + log(sum exp(x - m)) with m the max over the reduced axes (no overflow);
// d/dx = exp(x - logsumexp) = softmax over the reduced axes.
Tensor logsumexp(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  ReducePlan p = plan_reduce(x, axes, keepdim, "logsumexp");
  Tensor out = detail::alloc(p.out, x.dtype());
  const std::size_t nout = out.numel();
  detail::dispatch_float(x.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* o = detail::ptr<T>(out);
    std::vector<T> m(nout, -std::numeric_limits<T>::infinity()), s(nout, T(0));
    for (std::size_t i = 0; i < p.out_offsets.size(); ++i) m[p.out_offsets[i]] = std::max(m[p.out_offsets[i]], in[i]);
    // An all -inf (or empty) group has no finite max: shift by 0 so the result is -inf, not NaN.
    for (auto& v : m)
      if (!std::isfinite(v)) v = T(0);
    for (std::size_t i = 0; i < p.out_offsets.size(); ++i) s[p.out_offsets[i]] += std::exp(in[i] - m[p.out_offsets[i]]);
    for (std::size_t k = 0; k < nout; ++k) o[k] = m[k] + std::log(s[k]);
  });
  Tensor xd = x.detach(), od = out.detach();
  auto offs = std::make_shared<const std::vector<std::size_t>>(std::move(p.out_offsets));
  return record(out, "logsumexp", {x}, [x, xd, od, offs](const Tensor& g) {
    Tensor gx = detail::alloc(xd.shape(), xd.dtype());
    detail::dispatch_float(xd.dtype(), "logsumexp", [&](auto tag) {
      using T = decltype(tag);
      const T* in = detail::ptr<T>(xd);
      const T* lse = detail::ptr<T>(od);
      const T* pg = detail::ptr<T>(g);
      T* px = detail::ptr<T>(gx);
      for (std::size_t i = 0; i < offs->size(); ++i) {
        const std::size_t k = (*offs)[i];
        // A -inf group has zero weight everywhere (exp(-inf - -inf) would be NaN).
        px[i] = std::isinf(lse[k]) && lse[k] < 0 ? T(0) : pg[k] * std::exp(in[i] - lse[k]);
      }
    });
    accumulate_grad(x, gx);
  });
}

Tensor max(const Tensor& x, int axis, bool keepdim) { return extreme_op(x, axis, keepdim, true, "max"); }
Tensor min(const Tensor& x, int axis, bool keepdim) { return extreme_op(x, axis, keepdim, false, "min"); }
// torch splits the gradient evenly between tied maxima here; we keep the axis form's rule (first one).
Tensor max(const Tensor& x) { return extreme_all(x, true, "max"); }
Tensor min(const Tensor& x) { return extreme_all(x, false, "min"); }
Tensor argmax(const Tensor& x, int axis, bool keepdim) { return arg_extreme(x, axis, keepdim, true, "argmax"); }
Tensor argmin(const Tensor& x, int axis, bool keepdim) { return arg_extreme(x, axis, keepdim, false, "argmin"); }

}  // namespace hf
