// Pointwise functions with their derivatives.
//   y = f(x) elementwise; backward: dx += dy * f'(x), with f' written from x or from the saved y.
// References: torch.nn.functional docs for elu/selu/gelu/softplus (same constants and thresholds).
#include <cmath>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

using detail::map_unary;

namespace {
// Records y = f(x) whose derivative is d(x, y) elementwise.
template <class D>
Tensor pointwise(const Tensor& x, Tensor y, const char* op, D deriv) {
  Tensor xd = x.detach(), yd = y.detach();
  return record(y, op, {x}, [x, xd, yd, deriv, op](const Tensor& g) {
    Tensor d = detail::alloc(xd.shape(), xd.dtype());
    const std::size_t n = xd.numel();  // outside the lambda, so the loop vectorises
    detail::dispatch_float(xd.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = detail::ptr<T>(xd);
      const T* py = detail::ptr<T>(yd);
      const T* pg = detail::ptr<T>(g);
      T* o = detail::ptr<T>(d);
      for (std::size_t i = 0; i < n; ++i) o[i] = pg[i] * static_cast<T>(deriv(px[i], py[i]));
    });
    accumulate_grad(x, d);
  });
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
}  // namespace

Tensor exp(const Tensor& x) {
  return pointwise(x, map_unary(x, "exp", [](auto v) { return std::exp(v); }), "exp",
                   [](auto, auto y) { return y; });
}

Tensor log(const Tensor& x) {
  return pointwise(x, map_unary(x, "log", [](auto v) { return std::log(v); }), "log",
                   [](auto v, auto) { return 1 / v; });
}

Tensor sqrt(const Tensor& x) {
  return pointwise(x, map_unary(x, "sqrt", [](auto v) { return std::sqrt(v); }), "sqrt",
                   [](auto, auto y) { return 1 / (2 * y); });
}

Tensor abs(const Tensor& x) {
  // d|x|/dx = sign(x), 0 at 0 (as torch).
  return pointwise(x, map_unary(x, "abs", [](auto v) { return std::abs(v); }), "abs",
                   [](auto v, auto) { return static_cast<decltype(v)>((v > 0) - (v < 0)); });
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  HF_CHECK(!min || !max || *min <= *max, "clamp", "min " << *min << " is larger than max " << *max);
  HF_CHECK((!min || !std::isnan(*min)) && (!max || !std::isnan(*max)), "clamp", "min/max is NaN");
  const double lo = min.value_or(-INFINITY), hi = max.value_or(INFINITY);
  Tensor y = map_unary(x, "clamp", [lo, hi](auto v) {
    using T = decltype(v);
    return v < static_cast<T>(lo) ? static_cast<T>(lo) : (v > static_cast<T>(hi) ? static_cast<T>(hi) : v);
  });
  // Gradient passes where lo <= x <= hi (torch's convention at the boundary).
  return pointwise(x, y, "clamp", [lo, hi](auto v, auto) {
    return static_cast<decltype(v)>(v >= lo && v <= hi ? 1 : 0);
  });
}

Tensor tanh(const Tensor& x) {
  return pointwise(x, map_unary(x, "tanh", [](auto v) { return std::tanh(v); }), "tanh",
                   [](auto, auto y) { return 1 - y * y; });
}

Tensor sigmoid(const Tensor& x) {
  // Two branches keep exp from overflowing for large |x|.
  Tensor y = map_unary(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
  });
  return pointwise(x, y, "sigmoid", [](auto, auto s) { return s * (1 - s); });
}

Tensor relu(const Tensor& x) {
  return pointwise(x, map_unary(x, "relu", [](auto v) { return v > 0 ? v : decltype(v)(0); }), "relu",
                   [](auto v, auto) { return static_cast<decltype(v)>(v > 0 ? 1 : 0); });
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  HF_CHECK(std::isfinite(negative_slope), "leaky_relu", "negative_slope " << negative_slope << " is not finite");
  Tensor y = map_unary(x, "leaky_relu", [negative_slope](auto v) {
    return v > 0 ? v : static_cast<decltype(v)>(negative_slope) * v;
  });
  return pointwise(x, y, "leaky_relu", [negative_slope](auto v, auto) {
    return static_cast<decltype(v)>(v > 0 ? 1.0 : negative_slope);
  });
}

Tensor elu(const Tensor& x, double alpha) {
  HF_CHECK(std::isfinite(alpha), "elu", "alpha " << alpha << " is not finite");
  Tensor y = map_unary(x, "elu", [alpha](auto v) {
    using T = decltype(v);
    return v > 0 ? v : static_cast<T>(alpha) * std::expm1(v);
  });
  return pointwise(x, y, "elu", [alpha](auto v, auto yv) {
    using T = decltype(v);
    return v > 0 ? T(1) : yv + static_cast<T>(alpha);
  });
}

Tensor selu(const Tensor& x) {
  Tensor y = map_unary(x, "selu", [](auto v) {
    using T = decltype(v);
    return static_cast<T>(kSeluScale) * (v > 0 ? v : static_cast<T>(kSeluAlpha) * std::expm1(v));
  });
  return pointwise(x, y, "selu", [](auto v, auto yv) {
    using T = decltype(v);
    return v > 0 ? static_cast<T>(kSeluScale) : yv + static_cast<T>(kSeluScale * kSeluAlpha);
  });
}

Tensor gelu(const Tensor& x) {
  // gelu(x) = x * Phi(x), Phi the standard normal CDF; gelu'(x) = Phi(x) + x * phi(x).
  Tensor y = map_unary(x, "gelu", [](auto v) {
    using T = decltype(v);
    // 0.5 * erfc(-x/sqrt2) == Phi(x) without the cancellation of 1 + erf(x/sqrt2) for x << 0.
    return v * T(0.5) * std::erfc(-v * static_cast<T>(M_SQRT1_2));
  });
  return pointwise(x, y, "gelu", [](auto v, auto) {
    using T = decltype(v);
    T cdf = T(0.5) * std::erfc(-v * static_cast<T>(M_SQRT1_2));
    T pdf = std::exp(T(-0.5) * v * v) * static_cast<T>(0.5 * M_2_SQRTPI * M_SQRT1_2);
    return cdf + v * pdf;
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  HF_CHECK(std::isfinite(beta) && beta > 0, "softplus", "beta " << beta << " must be positive and finite");
  // softplus(x) = log(1 + exp(beta x)) / beta, linear where beta x > threshold (torch).
  Tensor y = map_unary(x, "softplus", [beta, threshold](auto v) {
    using T = decltype(v);
    T bx = static_cast<T>(beta) * v;
    return bx > static_cast<T>(threshold) ? v : std::log1p(std::exp(bx)) / static_cast<T>(beta);
  });
  return pointwise(x, y, "softplus", [beta, threshold](auto v, auto) {
    using T = decltype(v);
    T bx = static_cast<T>(beta) * v;
    if (bx > static_cast<T>(threshold)) return T(1);
    return T(1) / (T(1) + std::exp(-bx));
  });
}

}  // namespace hf
