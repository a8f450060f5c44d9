// Arithmetic with NumPy broadcasting, scalar variants, comparisons, masked_fill and where.
// Backward of a broadcasting op sums the gradient back to each input's shape (detail::sum_to).
// Derived ops (sub, scalar forms, operators) reuse the primitives so their gradients come for free.
#include <algorithm>
#include <cmath>
#include <utility>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

using detail::map_binary;
using detail::map_unary;
using detail::sum_to;

namespace {

// True when `small` (after leading ones) is a trailing block of `big`, of `inner` elements: then
// broadcasting repeats `small` once per row of `big` (a bias added to a batch of rows).
bool row_broadcast(const Shape& big, const Shape& small, std::size_t& inner) {
  if (small.size() > big.size()) return false;
  std::size_t lead = 0;
  while (lead < small.size() && small[lead] == 1) ++lead;
  const std::size_t m = small.size() - lead;
  inner = shape_numel(small);
  return inner > 1 && std::equal(small.begin() + static_cast<long>(lead), small.end(), big.end() - static_cast<long>(m));
}

// map_binary with a direct row loop for a row-broadcast operand (no per-element offset tables).
template <class F>
Tensor binary(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  // map_binary's own check, run first: a.dtype() below would otherwise throw with "Tensor::dtype" as the op.
  detail::check_same_dtype(a, b, op);
  std::size_t inner = 0;
  if (a.shape() != b.shape()) {
    const bool b_row = row_broadcast(a.shape(), b.shape(), inner);
    const bool a_row = !b_row && row_broadcast(b.shape(), a.shape(), inner);
    if (a_row || b_row) {
      const Tensor& big = b_row ? a : b;
      Tensor out = detail::alloc(big.shape(), a.dtype());
      detail::dispatch_float(a.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const T* pa = detail::ptr<T>(a);
        const T* pb = detail::ptr<T>(b);
        T* o = detail::ptr<T>(out);
        const std::size_t nrows = big.numel() / inner;
        for (std::size_t r = 0; r < nrows; ++r) {
          T* orow = o + r * inner;
          if (b_row) {
            const T* ar = pa + r * inner;
            for (std::size_t j = 0; j < inner; ++j) orow[j] = static_cast<T>(f(ar[j], pb[j]));
          } else {
            const T* br = pb + r * inner;
            for (std::size_t j = 0; j < inner; ++j) orow[j] = static_cast<T>(f(pa[j], br[j]));
          }
        }
      });
      return out;
    }
  }
  return map_binary(a, b, op, a.dtype(), std::forward<F>(f));
}

}  // namespace

// ----- binary primitives -----
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, "add", [](auto x, auto y) { return x + y; });
  return record(out, "add", {a, b}, [a, b](const Tensor& g) {
    if (wants_grad(a)) accumulate_grad(a, sum_to(g, a.shape()));
    if (wants_grad(b)) accumulate_grad(b, sum_to(g, b.shape()));
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, "sub", [](auto x, auto y) { return x - y; });
  return record(out, "sub", {a, b}, [a, b](const Tensor& g) {
    if (wants_grad(a)) accumulate_grad(a, sum_to(g, a.shape()));
    if (wants_grad(b)) accumulate_grad(b, sum_to(neg(g), b.shape()));
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, "mul", [](auto x, auto y) { return x * y; });
  Tensor ad = a.detach(), bd = b.detach();
  return record(out, "mul", {a, b}, [a, b, ad, bd](const Tensor& g) {
    if (wants_grad(a)) accumulate_grad(a, sum_to(mul(g, bd), a.shape()));
    if (wants_grad(b)) accumulate_grad(b, sum_to(mul(g, ad), b.shape()));
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, "div", [](auto x, auto y) { return x / y; });
  Tensor bd = b.detach(), od = out.detach();
  return record(out, "div", {a, b}, [a, b, bd, od](const Tensor& g) {
    Tensor ga = div(g, bd);  // d(a/b)/da = 1/b
    if (wants_grad(a)) accumulate_grad(a, sum_to(ga, a.shape()));
    if (wants_grad(b)) accumulate_grad(b, sum_to(neg(mul(ga, od)), b.shape()));  // -a/b^2 = -(a/b)/b
  });
}

// ----- unary primitives -----
Tensor neg(const Tensor& a) {
  Tensor out = map_unary(a, "neg", [](auto x) { return -x; });
  return record(out, "neg", {a}, [a](const Tensor& g) { accumulate_grad(a, neg(g)); });
}

Tensor pow(const Tensor& a, double exponent) {
  HF_CHECK(std::isfinite(exponent), "pow", "exponent " << exponent << " is not finite");
  Tensor out = map_unary(a, "pow", [exponent](auto x) { return std::pow(x, static_cast<decltype(x)>(exponent)); });
  Tensor ad = a.detach();
  return record(out, "pow", {a}, [a, ad, exponent](const Tensor& g) {
    // d x^e / dx = e x^(e-1)
    Tensor d = map_unary(ad, "pow", [exponent](auto x) {
      using T = decltype(x);
      return static_cast<T>(exponent) * std::pow(x, static_cast<T>(exponent - 1.0));
    });
    accumulate_grad(a, mul(g, d));
  });
}

// Scalar forms: computed directly (no scalar tensor materialised), with their trivial backward.
Tensor add(const Tensor& a, double b) {
  Tensor out = map_unary(a, "add", [b](auto x) { return x + static_cast<decltype(x)>(b); });
  return record(out, "add_scalar", {a}, [a](const Tensor& g) { accumulate_grad(a, g); });
}
Tensor mul(const Tensor& a, double b) {
  Tensor out = map_unary(a, "mul", [b](auto x) { return x * static_cast<decltype(x)>(b); });
  return record(out, "mul_scalar", {a}, [a, b](const Tensor& g) { accumulate_grad(a, mul(g, b)); });
}
Tensor sub(const Tensor& a, double b) { return add(a, -b); }
Tensor sub(double a, const Tensor& b) { return add(neg(b), a); }
Tensor div(const Tensor& a, double b) {
  HF_CHECK(b != 0.0, "div", "division by the scalar 0");
  return mul(a, 1.0 / b);
}
Tensor div(double a, const Tensor& b) { return mul(pow(b, -1.0), a); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator-(double a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator/(double a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }

// ----- comparisons (masks, no gradient) -----
#define HF_COMPARISON(name, expr)                                                                  \
  Tensor name(const Tensor& a, const Tensor& b) {                                                  \
    return map_binary(a, b, #name, Dtype::Bool, [](auto x, auto y) { return (expr) ? 1 : 0; });  \
  }                                                                                                \
  static_assert(true, "")
HF_COMPARISON(eq, x == y);
HF_COMPARISON(ne, x != y);
HF_COMPARISON(lt, x < y);
HF_COMPARISON(le, x <= y);
HF_COMPARISON(gt, x > y);
HF_COMPARISON(ge, x >= y);
#undef HF_COMPARISON

Tensor eq(const Tensor& a, double b) { return eq(a, full({}, b, a.dtype())); }
Tensor lt(const Tensor& a, double b) { return lt(a, full({}, b, a.dtype())); }
Tensor le(const Tensor& a, double b) { return le(a, full({}, b, a.dtype())); }
Tensor gt(const Tensor& a, double b) { return gt(a, full({}, b, a.dtype())); }
Tensor ge(const Tensor& a, double b) { return ge(a, full({}, b, a.dtype())); }

Tensor logical_not(const Tensor& mask) {
  HF_CHECK(mask.defined(), "logical_not", "mask is undefined");
  auto bytes = detail::mask_as_bytes(mask, mask.shape(), "logical_not");
  Tensor out = detail::alloc(mask.shape(), Dtype::Bool);
  auto* o = detail::ptr<std::uint8_t>(out);
  for (std::size_t i = 0; i < bytes.size(); ++i) o[i] = bytes[i] ? 0 : 1;
  return out;
}

// ----- selection -----
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  detail::check_float(x, "masked_fill");
  auto m = detail::mask_as_bytes(mask, x.shape(), "masked_fill");
  Tensor out = detail::alloc(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), "masked_fill", [&](auto tag) {
    using T = decltype(tag);
    const T* in = detail::ptr<T>(x);
    T* o = detail::ptr<T>(out);
    for (std::size_t i = 0; i < m.size(); ++i) o[i] = m[i] ? static_cast<T>(value) : in[i];
  });
  return record(out, "masked_fill", {x}, [x, mask](const Tensor& g) { accumulate_grad(x, masked_fill(g, mask, 0.0)); });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "where");
  HF_CHECK(cond.defined(), "where", "condition is undefined");
  Shape shape = detail::broadcast_shapes(detail::broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  auto c = detail::mask_as_bytes(cond, shape, "where");
  auto oa = detail::broadcast_offsets(a.shape(), shape);
  auto ob = detail::broadcast_offsets(b.shape(), shape);
  Tensor out = detail::alloc(shape, a.dtype());
  detail::dispatch_float(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = detail::ptr<T>(a);
    const T* pb = detail::ptr<T>(b);
    T* o = detail::ptr<T>(out);
    for (std::size_t i = 0; i < c.size(); ++i) o[i] = c[i] ? pa[oa[i]] : pb[ob[i]];
  });
  return record(out, "where", {a, b}, [cond, a, b](const Tensor& g) {
    if (wants_grad(a)) accumulate_grad(a, sum_to(masked_fill(g, logical_not(cond), 0.0), a.shape()));
    if (wants_grad(b)) accumulate_grad(b, sum_to(masked_fill(g, cond, 0.0), b.shape()));
  });
}

}  // namespace hf
