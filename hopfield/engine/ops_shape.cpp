// Shape ops that move data: transpose/permute, expand, slice/narrow, index_select, gather, concat/stack,
// split/chunk, pad. The engine has no strided views, so every output is a contiguous copy.
//
//   x: input (any dtype; gradients only for float32/float64)     out: output     g: gradient of out
//   strides: element strides of x, one per OUTPUT axis (0 on broadcast axes), base: offset of out[0...0]
//
// Most ops are a strided walk: out[i] = x[base + sum_d idx_d(i) * strides[d]]. Their backward is the same
// walk run the other way, adding g into a zero gradient of x's shape. index_select and gather can repeat
// an index, so their backward is a scatter-ADD (a plain store would lose all but one contribution).
#include <algorithm>
#include <cstring>
#include <memory>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

namespace {

using Strides = std::vector<std::size_t>;

// Calls f(T{}) for any dtype (shape ops also move masks and indices).
template <class F>
void dispatch_any(Dtype dtype, F&& f) {
  switch (dtype) {
    case Dtype::Float32: f(float{}); return;
    case Dtype::Float64: f(double{}); return;
    case Dtype::Bool: f(std::uint8_t{}); return;
    case Dtype::Int64: f(std::int64_t{}); return;
  }
}

void check_defined(const Tensor& x, const char* op, const char* what = "input") {
  HF_CHECK(x.defined(), op, what << " is undefined");
}

// Calls f(i, off) for each row-major index i of `shape`, with off = base + sum_d idx[d] * strides[d].
// The last axis runs as a tight inner loop; the others advance an odometer.
template <class F>
void walk(const Shape& shape, const Strides& strides, std::size_t base, F&& f) {
  const std::size_t n = shape_numel(shape);
  if (n == 0) return;
  const std::size_t r = shape.size();
  if (r == 0) {
    f(std::size_t{0}, base);
    return;
  }
  const std::size_t last = shape[r - 1], last_stride = strides[r - 1];
  std::vector<std::size_t> idx(r, 0);
  std::size_t off = base;
  for (std::size_t i = 0; i < n; i += last) {
    for (std::size_t j = 0; j < last; ++j) f(i + j, off + j * last_stride);
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// out (shape) [i] = src[walk offset i].
Tensor strided_copy(const Tensor& src, const Shape& shape, const Strides& strides, std::size_t base) {
  Tensor out = detail::alloc(shape, src.dtype());
  dispatch_any(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = detail::ptr<T>(src);
    T* o = detail::ptr<T>(out);
    walk(shape, strides, base, [&](std::size_t i, std::size_t off) { o[i] = s[off]; });
  });
  return out;
}

// dst[walk offset i] = src[i] over src's shape (positions are distinct: permutations, slices, pads).
void strided_store(const Tensor& src, const Tensor& dst, const Strides& strides, std::size_t base) {
  dispatch_any(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = detail::ptr<T>(src);
    T* d = detail::ptr<T>(dst);
    walk(src.shape(), strides, base, [&](std::size_t i, std::size_t off) { d[off] = s[i]; });
  });
}

// Gradient of a strided copy: zeros of x's shape with g stored at the walked positions.
Tensor strided_grad(const Tensor& g, const Shape& in_shape, const Strides& strides, std::size_t base) {
  Tensor gx = zeros(in_shape, g.dtype());
  strided_store(g, gx, strides, base);
  return gx;
}

// Records out = strided_copy(x, ...) whose walk visits distinct positions of x.
Tensor strided_op(const Tensor& x, const Shape& shape, const Strides& strides, std::size_t base, const char* op) {
  Tensor out = strided_copy(x, shape, strides, base);
  Shape in_shape = x.shape();
  return record(out, op, {x}, [x, in_shape, strides, base](const Tensor& g) {
    accumulate_grad(x, strided_grad(g, in_shape, strides, base));
  });
}

std::string axes_str(const std::vector<int>& axes) {
  std::string s = "(";
  for (std::size_t i = 0; i < axes.size(); ++i) s += (i ? ", " : "") + std::to_string(axes[i]);
  return s + ")";
}

Tensor permute_impl(const Tensor& x, const std::vector<std::size_t>& perm, const char* op) {
  auto in_strides = detail::strides_of(x.shape());
  Shape shape(perm.size());
  Strides strides(perm.size());
  for (std::size_t d = 0; d < perm.size(); ++d) {
    shape[d] = x.shape()[perm[d]];
    strides[d] = in_strides[perm[d]];
  }
  return strided_op(x, shape, strides, 0, op);
}

// Elements start, start + step, ... (< end) along axis; bounds already resolved.
Tensor slice_impl(const Tensor& x, std::size_t axis, std::size_t start, std::size_t length, std::size_t step,
                  const char* op) {
  auto strides = detail::strides_of(x.shape());
  Shape shape = x.shape();
  shape[axis] = length;
  const std::size_t base = start * strides[axis];
  strides[axis] *= step;
  return strided_op(x, shape, strides, base, op);
}

// Reads index as Int64 values and checks each lies in [0, size); names the first bad one.
const std::int64_t* checked_indices(const Tensor& index, std::size_t size, const Tensor& x, std::size_t axis,
                                    const char* op) {
  check_defined(index, op, "index");
  HF_CHECK(index.dtype() == Dtype::Int64, op,
           "index has dtype " << dtype_name(index.dtype()) << " " << shape_str(index.shape()) << " (int64 expected)");
  const std::int64_t* p = detail::ptr<std::int64_t>(index);
  for (std::size_t i = 0, n = index.numel(); i < n; ++i)
    HF_CHECK(p[i] >= 0 && static_cast<std::size_t>(p[i]) < size, op,
             "index " << p[i] << " (at flat position " << i << " of index " << shape_str(index.shape())
                      << ") is out of range for axis " << axis << " of size " << size << " in input "
                      << shape_str(x.shape()));
  return p;
}

}  // namespace

// ----- transpose / permute -----
Tensor transpose(const Tensor& x, int axis0, int axis1) {
  check_defined(x, "transpose");
  const std::size_t a = detail::norm_axis(axis0, x.dim(), "transpose");
  const std::size_t b = detail::norm_axis(axis1, x.dim(), "transpose");
  std::vector<std::size_t> perm(x.dim());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::swap(perm[a], perm[b]);
  return permute_impl(x, perm, "transpose");
}

Tensor permute(const Tensor& x, const std::vector<int>& axes) {
  check_defined(x, "permute");
  HF_CHECK(axes.size() == x.dim(), "permute",
           "axes " << axes_str(axes) << " do not match the rank of " << shape_str(x.shape()));
  std::vector<std::size_t> perm(axes.size());
  std::vector<bool> seen(axes.size(), false);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    perm[i] = detail::norm_axis(axes[i], x.dim(), "permute");
    HF_CHECK(!seen[perm[i]], "permute",
             "axes " << axes_str(axes) << " repeat axis " << perm[i] << " of " << shape_str(x.shape()));
    seen[perm[i]] = true;
  }
  // Backward: the walk of the forward copy stored back is exactly the inverse permutation.
  return permute_impl(x, perm, "permute");
}

// ----- expand -----
Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined(x, "expand");
  HF_CHECK(x.dim() <= shape.size(), "expand",
           "cannot expand " << shape_str(x.shape()) << " to the lower-rank shape " << shape_str(shape));
  const std::size_t off = shape.size() - x.dim();
  for (std::size_t i = 0; i < x.dim(); ++i)
    HF_CHECK(x.shape()[i] == shape[off + i] || x.shape()[i] == 1, "expand",
             "cannot expand " << shape_str(x.shape()) << " to " << shape_str(shape) << " (axis " << i << ": "
                              << x.shape()[i] << " vs " << shape[off + i] << ")");
  Tensor out = strided_copy(x, shape, detail::broadcast_strides(x.shape(), shape), 0);
  Shape in_shape = x.shape();
  return record(out, "expand", {x}, [x, in_shape](const Tensor& g) { accumulate_grad(x, detail::sum_to(g, in_shape)); });
}

// ----- slice / narrow -----
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t end, std::int64_t step) {
  check_defined(x, "slice");
  const std::size_t a = detail::norm_axis(axis, x.dim(), "slice");
  HF_CHECK(step >= 1, "slice", "step " << step << " must be positive (slicing axis " << axis << " of "
                                        << shape_str(x.shape()) << ")");
  // Python rules: negative bounds count from the end, then both are clamped to [0, n].
  const std::int64_t n = static_cast<std::int64_t>(x.shape()[a]);
  auto resolve = [n](std::int64_t v) { return std::clamp(v < 0 ? v + n : v, std::int64_t{0}, n); };
  const std::int64_t s = resolve(start), e = resolve(end);
  const std::int64_t length = e > s ? (e - s + step - 1) / step : 0;
  return slice_impl(x, a, static_cast<std::size_t>(s), static_cast<std::size_t>(length),
                    static_cast<std::size_t>(step), "slice");
}

Tensor narrow(const Tensor& x, int axis, std::size_t start, std::size_t length) {
  check_defined(x, "narrow");
  const std::size_t a = detail::norm_axis(axis, x.dim(), "narrow");
  HF_CHECK(start <= x.shape()[a] && length <= x.shape()[a] - start, "narrow",
           "start " << start << " + length " << length << " exceeds size " << x.shape()[a] << " of axis " << axis
                    << " in " << shape_str(x.shape()));
  return slice_impl(x, a, start, length, 1, "narrow");
}

// ----- index_select -----
// out (outer, len(index), inner) [o, j, i] = x (outer, n, inner) [o, index[j], i].
Tensor index_select(const Tensor& x, int axis, const Tensor& index) {
  check_defined(x, "index_select");
  const std::size_t a = detail::norm_axis(axis, x.dim(), "index_select");
  check_defined(index, "index_select", "index");
  HF_CHECK(index.dim() == 1, "index_select",
           "index must be 1-D, got " << shape_str(index.shape()) << " for input " << shape_str(x.shape()));
  const std::int64_t* idx = checked_indices(index, x.shape()[a], x, a, "index_select");
  const auto sp = detail::split_at(x.shape(), a);
  const std::size_t m = index.numel();
  Shape shape = x.shape();
  shape[a] = m;
  Tensor out = detail::alloc(shape, x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* o = detail::ptr<T>(out);
    for (std::size_t outer = 0; outer < sp.outer; ++outer)
      for (std::size_t j = 0; j < m; ++j) {
        const T* src = in + (outer * sp.n + static_cast<std::size_t>(idx[j])) * sp.inner;
        std::copy(src, src + sp.inner, o + (outer * m + j) * sp.inner);
      }
  });
  Shape in_shape = x.shape();
  return record(out, "index_select", {x}, [x, in_shape, index, sp, m](const Tensor& g) {
    // Scatter-add: a repeated index receives the sum of its rows' gradients.
    Tensor gx = zeros(in_shape, g.dtype());
    const std::int64_t* id = detail::ptr<std::int64_t>(index);
    detail::dispatch_float(g.dtype(), "index_select", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = detail::ptr<T>(g);
      T* px = detail::ptr<T>(gx);
      for (std::size_t outer = 0; outer < sp.outer; ++outer)
        for (std::size_t j = 0; j < m; ++j) {
          const T* src = pg + (outer * m + j) * sp.inner;
          T* dst = px + (outer * sp.n + static_cast<std::size_t>(id[j])) * sp.inner;
          for (std::size_t i = 0; i < sp.inner; ++i) dst[i] += src[i];
        }
    });
    accumulate_grad(x, gx);
  });
}

// ----- gather -----
// For axis a: out[p] = x[p with coordinate a replaced by index[p]], p over index's shape (torch.gather).
Tensor gather(const Tensor& x, int axis, const Tensor& index) {
  check_defined(x, "gather");
  const std::size_t a = detail::norm_axis(axis, x.dim(), "gather");
  check_defined(index, "gather", "index");
  HF_CHECK(index.dim() == x.dim(), "gather",
           "index " << shape_str(index.shape()) << " must have the rank of input " << shape_str(x.shape()));
  for (std::size_t d = 0; d < x.dim(); ++d)
    HF_CHECK(d == a || index.shape()[d] <= x.shape()[d], "gather",
             "index " << shape_str(index.shape()) << " is larger than input " << shape_str(x.shape()) << " on axis "
                      << d << " (only axis " << a << " may differ)");
  const std::int64_t* idx = checked_indices(index, x.shape()[a], x, a, "gather");
  // Source offset of every output element: x's strides with the gathered axis's contribution replaced.
  auto xs = detail::strides_of(x.shape());
  Strides walk_strides = xs;
  walk_strides[a] = 0;
  auto src = std::make_shared<std::vector<std::size_t>>(index.numel());
  walk(index.shape(), walk_strides, 0, [&](std::size_t i, std::size_t off) {
    (*src)[i] = off + static_cast<std::size_t>(idx[i]) * xs[a];
  });
  Tensor out = detail::alloc(index.shape(), x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* o = detail::ptr<T>(out);
    for (std::size_t i = 0; i < src->size(); ++i) o[i] = in[(*src)[i]];
  });
  Shape in_shape = x.shape();
  return record(out, "gather", {x}, [x, in_shape, src](const Tensor& g) {
    Tensor gx = zeros(in_shape, g.dtype());
    detail::dispatch_float(g.dtype(), "gather", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = detail::ptr<T>(g);
      T* px = detail::ptr<T>(gx);
      for (std::size_t i = 0; i < src->size(); ++i) px[(*src)[i]] += pg[i];  // indices may repeat
    });
    accumulate_grad(x, gx);
  });
}

// ----- concat / stack -----
// out (outer, sum_k n_k, inner): input k fills columns [begin_k, begin_k + n_k) of the middle axis.
Tensor concat(const std::vector<Tensor>& xs, int axis) {
  HF_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  for (std::size_t k = 0; k < xs.size(); ++k)
    HF_CHECK(xs[k].defined(), "concat", "input " << k << " is undefined");
  const Tensor& x0 = xs[0];
  HF_CHECK(x0.dim() >= 1, "concat", "cannot concatenate 0-d tensors (input 0 is " << shape_str(x0.shape()) << ")");
  const std::size_t a = detail::norm_axis(axis, x0.dim(), "concat");
  std::vector<std::size_t> begin(xs.size());
  Shape shape = x0.shape();
  shape[a] = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    HF_CHECK(x.dtype() == x0.dtype(), "concat",
             "input " << k << " is " << dtype_name(x.dtype()) << " " << shape_str(x.shape()) << " but input 0 is "
                      << dtype_name(x0.dtype()) << " " << shape_str(x0.shape()));
    bool match = x.dim() == x0.dim();
    for (std::size_t d = 0; match && d < x.dim(); ++d) match = d == a || x.shape()[d] == x0.shape()[d];
    HF_CHECK(match, "concat",
             "input " << k << " has shape " << shape_str(x.shape()) << " but input 0 has " << shape_str(x0.shape())
                      << "; all axes except axis " << a << " must match");
    begin[k] = shape[a];
    shape[a] += x.shape()[a];
  }
  const auto sp = detail::split_at(shape, a);
  Tensor out = detail::alloc(shape, x0.dtype());
  dispatch_any(x0.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = detail::ptr<T>(out);
    for (std::size_t k = 0; k < xs.size(); ++k) {
      const T* in = detail::ptr<T>(xs[k]);
      const std::size_t block = xs[k].shape()[a] * sp.inner;  // contiguous run per outer index
      for (std::size_t outer = 0; outer < sp.outer; ++outer)
        std::copy(in + outer * block, in + (outer + 1) * block, o + (outer * sp.n + begin[k]) * sp.inner);
    }
  });
  return record(out, "concat", xs, [xs, begin, a](const Tensor& g) {
    // Each input's gradient is its slice of g.
    auto gs = detail::strides_of(g.shape());
    for (std::size_t k = 0; k < xs.size(); ++k)
      if (wants_grad(xs[k])) accumulate_grad(xs[k], strided_copy(g, xs[k].shape(), gs, begin[k] * gs[a]));
  });
}

Tensor stack(const std::vector<Tensor>& xs, int axis) {
  HF_CHECK(!xs.empty(), "stack", "needs at least one tensor");
  for (std::size_t k = 0; k < xs.size(); ++k) {
    HF_CHECK(xs[k].defined(), "stack", "input " << k << " is undefined");
    HF_CHECK(xs[k].shape() == xs[0].shape(), "stack",
             "input " << k << " has shape " << shape_str(xs[k].shape()) << " but input 0 has "
                      << shape_str(xs[0].shape()) << "; stacked tensors must have equal shapes");
  }
  const std::size_t a = detail::norm_axis(axis, xs[0].dim() + 1, "stack");
  // A new axis of size 1 on each, then concat: the gradient comes from concat's slices.
  std::vector<Tensor> us;
  us.reserve(xs.size());
  for (const Tensor& x : xs) us.push_back(unsqueeze(x, static_cast<int>(a)));
  return concat(us, static_cast<int>(a));
}

// ----- split / chunk -----
std::vector<Tensor> split(const Tensor& x, std::size_t split_size, int axis) {
  check_defined(x, "split");
  const std::size_t a = detail::norm_axis(axis, x.dim(), "split");
  HF_CHECK(split_size > 0, "split", "split_size must be positive (splitting axis " << axis << " of "
                                                                                    << shape_str(x.shape()) << ")");
  const std::size_t n = x.shape()[a];
  std::vector<Tensor> parts;
  if (n == 0) parts.push_back(slice_impl(x, a, 0, 0, 1, "split"));
  for (std::size_t s = 0; s < n; s += split_size)
    parts.push_back(slice_impl(x, a, s, std::min(split_size, n - s), 1, "split"));
  return parts;
}

std::vector<Tensor> chunk(const Tensor& x, std::size_t chunks, int axis) {
  check_defined(x, "chunk");
  const std::size_t a = detail::norm_axis(axis, x.dim(), "chunk");
  HF_CHECK(chunks > 0, "chunk", "chunks must be positive (chunking axis " << axis << " of " << shape_str(x.shape())
                                                                           << ")");
  // torch.chunk: pieces of ceil(n / chunks), so fewer than `chunks` pieces can come back.
  const std::size_t n = x.shape()[a];
  return split(x, std::max<std::size_t>(1, (n + chunks - 1) / chunks), static_cast<int>(a));
}

// ----- pad -----
// out axis d has size before_d + n_d + after_d; x sits at offset (before_0, before_1, ...), the rest is value.
Tensor pad(const Tensor& x, const std::vector<std::pair<std::size_t, std::size_t>>& pads, double value) {
  check_defined(x, "pad");
  HF_CHECK(pads.size() <= x.dim(), "pad",
           pads.size() << " (before, after) pairs for input " << shape_str(x.shape()) << " of rank " << x.dim());
  Shape shape = x.shape();
  for (std::size_t d = 0; d < pads.size(); ++d) shape[d] += pads[d].first + pads[d].second;
  auto out_strides = detail::strides_of(shape);
  std::size_t base = 0;
  for (std::size_t d = 0; d < pads.size(); ++d) base += pads[d].first * out_strides[d];
  Tensor out = full(shape, value, x.dtype());
  strided_store(x, out, out_strides, base);
  Shape in_shape = x.shape();
  return record(out, "pad", {x}, [x, in_shape, out_strides, base](const Tensor& g) {
    accumulate_grad(x, strided_copy(g, in_shape, out_strides, base));  // the interior of g
  });
}

}  // namespace hf
