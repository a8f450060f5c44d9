// Shared op helpers: axis checks, strides, broadcasting and un-broadcasting (sum_to).
#include "hopfield/engine/kernel.h"

#include <algorithm>
#include <climits>

#include "hopfield/engine/tape.h"

namespace hf::detail {

void check_float(const Tensor& t, const char* op, const char* what) {
  HF_CHECK(t.defined(), op, what << " is undefined");
  HF_CHECK(is_floating(t.dtype()), op,
           what << " has dtype " << dtype_name(t.dtype()) << " (float32 or float64 expected)");
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  check_float(a, op, "first input");
  check_float(b, op, "second input");
  HF_CHECK(a.dtype() == b.dtype(), op,
           "mixed dtypes " << dtype_name(a.dtype()) << " " << shape_str(a.shape()) << " and "
                           << dtype_name(b.dtype()) << " " << shape_str(b.shape()) << "; convert with .to()");
}

std::size_t norm_axis(int axis, std::size_t rank, const char* op) {
  const long r = static_cast<long>(rank);
  long a = axis < 0 ? axis + r : axis;
  HF_CHECK(a >= 0 && a < r, op, "axis " << axis << " is out of range for a tensor of rank " << rank);
  return static_cast<std::size_t>(a);
}

std::vector<std::size_t> norm_axes(const std::vector<int>& axes, std::size_t rank, const char* op) {
  std::vector<std::size_t> out;
  if (axes.empty()) {
    for (std::size_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int a : axes) out.push_back(norm_axis(a, rank, op));
  std::sort(out.begin(), out.end());
  HF_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, "an axis is repeated");
  return out;
}

std::vector<std::size_t> strides_of(const Shape& shape) {
  std::vector<std::size_t> s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    std::size_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    std::size_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    HF_CHECK(da == db || da == 1 || db == 1, op,
             "shapes " << shape_str(a) << " and " << shape_str(b) << " do not broadcast (axis " << i << ": "
                       << da << " vs " << db << ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<std::size_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::size_t> s(out.size(), 0);
  auto is = strides_of(in);
  const std::size_t off = out.size() - in.size();
  for (std::size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : is[i];
  return s;
}

std::vector<std::size_t> broadcast_offsets(const Shape& in, const Shape& out) {
  const std::size_t n = shape_numel(out);
  std::vector<std::size_t> offs(n);
  if (n == 0 || out.empty()) return offs;
  auto bs = broadcast_strides(in, out);
  const std::size_t r = out.size(), last = out[r - 1], last_stride = bs[r - 1];
  std::vector<std::size_t> idx(r, 0);
  std::size_t off = 0;
  for (std::size_t i = 0; i < n; i += last) {
    // The innermost axis as a plain loop, then an odometer increment over the outer axes.
    for (std::size_t j = 0; j < last; ++j) offs[i + j] = off + j * last_stride;
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < out[d]) {
        off += bs[d];
        break;
      }
      off -= bs[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
  return offs;
}

Tensor sum_to(const Tensor& g, const Shape& to) {
  if (g.shape() == to) return g;
  Tensor out = zeros(to, g.dtype());
  // Common case (a bias gradient): `to` is, after leading ones, a trailing block of g's shape, so the
  // sum runs over whole rows of that block. Same summation order as the general walk below.
  const Shape& from = g.shape();
  std::size_t lead = 0;
  while (lead < to.size() && to[lead] == 1) ++lead;
  const std::size_t m = to.size() - lead;
  if (m <= from.size() && std::equal(to.begin() + static_cast<long>(lead), to.end(), from.end() - static_cast<long>(m))) {
    const std::size_t inner = shape_numel(to), nrows = inner == 0 ? 0 : g.numel() / inner;
    dispatch_float(g.dtype(), "sum_to", [&](auto tag) {
      using T = decltype(tag);
      const T* src = ptr<T>(g);
      T* dst = ptr<T>(out);
      for (std::size_t r = 0; r < nrows; ++r)
        for (std::size_t j = 0; j < inner; ++j) dst[j] += src[r * inner + j];
    });
    return out;
  }
  auto offs = broadcast_offsets(to, g.shape());
  dispatch_float(g.dtype(), "sum_to", [&](auto tag) {
    using T = decltype(tag);
    const T* src = ptr<T>(g);
    T* dst = ptr<T>(out);
    for (std::size_t i = 0; i < offs.size(); ++i) dst[offs[i]] += src[i];
  });
  return out;
}

AxisSplit split_at(const Shape& shape, std::size_t axis) {
  AxisSplit s;
  for (std::size_t i = 0; i < axis; ++i) s.outer *= shape[i];
  s.n = shape[axis];
  for (std::size_t i = axis + 1; i < shape.size(); ++i) s.inner *= shape[i];
  return s;
}

Shape reduced_shape(const Shape& shape, std::size_t a, bool keepdim) {
  Shape out = shape;
  if (keepdim) out[a] = 1;
  else out.erase(out.begin() + static_cast<long>(a));
  return out;
}

int blas_int(std::size_t v, const char* op) {
  HF_CHECK(v <= static_cast<std::size_t>(INT_MAX), op, "dimension " << v << " exceeds the BLAS int range");
  return static_cast<int>(v);
}

std::vector<std::uint8_t> mask_as_bytes(const Tensor& mask, const Shape& shape, const char* op) {
  HF_CHECK(mask.defined(), op, "mask is undefined");
  Shape b = broadcast_shapes(mask.shape(), shape, op);
  HF_CHECK(b == shape, op, "mask of shape " << shape_str(mask.shape()) << " does not broadcast to "
                                            << shape_str(shape));
  auto offs = broadcast_offsets(mask.shape(), shape);
  std::vector<double> m = mask.to_vector();
  std::vector<std::uint8_t> out(offs.size());
  for (std::size_t i = 0; i < offs.size(); ++i) {
    double v = m[offs[i]];
    HF_CHECK(v == v, op, "mask contains NaN");
    out[i] = v != 0.0 ? 1 : 0;
  }
  return out;
}

}  // namespace hf::detail
