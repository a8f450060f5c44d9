// Pointwise functions (engine/ops_pointwise.cpp): forward values against formulas written here with std::
// functions, float64 gradient checks (inputs fed through permute, kept away from kinks), and float32
// forwards against float64.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"

using namespace hf;

namespace {

using Unary = std::function<Tensor(const Tensor&)>;

// Values with |x| in [lo, hi] and random signs: clear of the kink at 0 by at least lo.
Tensor away_from_zero(const Shape& shape, double lo, double hi, std::uint64_t seed) {
  Generator gen(seed);
  Tensor mag = uniform(shape, lo, hi, Dtype::Float64, gen);
  double* p = mag.data<double>();
  for (std::size_t i = 0; i < mag.numel(); ++i)
    if (gen.uniform() < 0.5) p[i] = -p[i];
  return mag;
}

// Gradient check of f applied to a permuted copy of x (x has shape (4, 2, 3); f sees (3, 4, 2)).
void check_grad(const Unary& f, const Tensor& x) {
  auto r = gradcheck([f](const std::vector<Tensor>& in) { return f(permute(in[0], {2, 0, 1})); },
                     {x.detach().requires_grad_()});
  INFO(r.report);
  CHECK(r.ok);
}

// f(x) elementwise against ref(x) computed here in double.
void check_values(const Unary& f, const std::function<double(double)>& ref, const Tensor& x) {
  auto in = x.to_vector(), out = f(x).to_vector();
  REQUIRE(in.size() == out.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO("x = " << in[i]);
    CHECK(out[i] == doctest::Approx(ref(in[i])).epsilon(1e-13));
  }
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;  // torch.nn.SELU
constexpr double kSeluScale = 1.0507009873554804934193349852946;

}  // namespace

TEST_CASE("exp, log, sqrt: values and gradients") {
  Tensor x = away_from_zero({4, 2, 3}, 0.1, 2.0, 1);
  Generator gen(2);
  Tensor pos = uniform({4, 2, 3}, 0.2, 3.0, Dtype::Float64, gen);
  check_values([](const Tensor& t) { return exp(t); }, [](double v) { return std::exp(v); }, x);
  check_values([](const Tensor& t) { return log(t); }, [](double v) { return std::log(v); }, pos);
  check_values([](const Tensor& t) { return sqrt(t); }, [](double v) { return std::sqrt(v); }, pos);
  check_grad([](const Tensor& t) { return exp(t); }, x);
  check_grad([](const Tensor& t) { return log(t); }, pos);
  check_grad([](const Tensor& t) { return sqrt(t); }, pos);
}

TEST_CASE("abs and relu away from 0") {
  Tensor x = away_from_zero({4, 2, 3}, 0.1, 2.0, 3);
  check_values([](const Tensor& t) { return abs(t); }, [](double v) { return std::fabs(v); }, x);
  check_values([](const Tensor& t) { return relu(t); }, [](double v) { return v > 0 ? v : 0.0; }, x);
  check_grad([](const Tensor& t) { return abs(t); }, x);
  check_grad([](const Tensor& t) { return relu(t); }, x);
}

TEST_CASE("clamp with both, one or no bound") {
  // |x| in [0.1, 0.4] or [0.6, 2]: clear of the bounds +-0.5 and of 0.
  Tensor x = away_from_zero({4, 2, 3}, 0.1, 2.0, 4);
  double* p = x.data<double>();
  for (std::size_t i = 0; i < x.numel(); ++i)
    if (std::fabs(std::fabs(p[i]) - 0.5) < 0.1) p[i] *= 1.5;
  check_values([](const Tensor& t) { return clamp(t, -0.5, 0.5); }, [](double v) { return std::clamp(v, -0.5, 0.5); }, x);
  check_values([](const Tensor& t) { return clamp(t, std::nullopt, 0.5); }, [](double v) { return std::min(v, 0.5); }, x);
  check_values([](const Tensor& t) { return clamp(t, -0.5, std::nullopt); }, [](double v) { return std::max(v, -0.5); }, x);
  check_grad([](const Tensor& t) { return clamp(t, -0.5, 0.5); }, x);
  check_grad([](const Tensor& t) { return clamp(t, std::nullopt, 0.5); }, x);
  check_grad([](const Tensor& t) { return clamp(t, -0.5, std::nullopt); }, x);
  CHECK_THROWS_WITH_AS(clamp(x, 1.0, -1.0), doctest::Contains("clamp: min 1 is larger than max -1"), Error);
}

TEST_CASE("tanh and sigmoid, including large |x| for sigmoid") {
  Tensor x = away_from_zero({4, 2, 3}, 0.0, 3.0, 5);
  check_values([](const Tensor& t) { return tanh(t); }, [](double v) { return std::tanh(v); }, x);
  check_values([](const Tensor& t) { return sigmoid(t); }, [](double v) { return 1 / (1 + std::exp(-v)); }, x);
  check_grad([](const Tensor& t) { return tanh(t); }, x);
  check_grad([](const Tensor& t) { return sigmoid(t); }, x);
  Tensor big = from_vector(std::vector<double>{-800, 800}, {2}, Dtype::Float64);
  auto s = sigmoid(big).to_vector();
  CHECK(s[0] == 0.0);
  CHECK(s[1] == 1.0);
}

TEST_CASE("leaky_relu, elu, selu away from 0") {
  Tensor x = away_from_zero({4, 2, 3}, 0.1, 2.0, 6);
  check_values([](const Tensor& t) { return leaky_relu(t, 0.2); }, [](double v) { return v > 0 ? v : 0.2 * v; }, x);
  check_values([](const Tensor& t) { return elu(t, 1.3); }, [](double v) { return v > 0 ? v : 1.3 * (std::exp(v) - 1); },
               x);
  check_values([](const Tensor& t) { return selu(t); },
               [](double v) { return kSeluScale * (v > 0 ? v : kSeluAlpha * (std::exp(v) - 1)); }, x);
  check_grad([](const Tensor& t) { return leaky_relu(t); }, x);
  check_grad([](const Tensor& t) { return leaky_relu(t, 0.3); }, x);
  check_grad([](const Tensor& t) { return elu(t, 1.3); }, x);
  check_grad([](const Tensor& t) { return selu(t); }, x);
}

TEST_CASE("gelu is x * Phi(x) with Phi from std::erf") {
  Tensor x = away_from_zero({4, 2, 3}, 0.0, 4.0, 7);
  check_values([](const Tensor& t) { return gelu(t); },
               [](double v) { return v * 0.5 * (1 + std::erf(v / std::sqrt(2.0))); }, x);
  // Known values: gelu(1) = Phi(1) = 0.841344746..., gelu(-1) = -(1 - Phi(1)).
  Tensor k = from_vector(std::vector<double>{1.0, -1.0}, {2}, Dtype::Float64);
  auto g = gelu(k).to_vector();
  CHECK(g[0] == doctest::Approx(0.8413447460685429).epsilon(1e-14));
  CHECK(g[1] == doctest::Approx(-0.15865525393145707).epsilon(1e-13));
  check_grad([](const Tensor& t) { return gelu(t); }, x);
}

TEST_CASE("softplus with beta and its linear regime above the threshold") {
  Tensor x = away_from_zero({4, 2, 3}, 0.0, 3.0, 8);
  check_values([](const Tensor& t) { return softplus(t); }, [](double v) { return std::log1p(std::exp(v)); }, x);
  check_values([](const Tensor& t) { return softplus(t, 2.0); }, [](double v) { return std::log1p(std::exp(2 * v)) / 2; },
               x);
  check_grad([](const Tensor& t) { return softplus(t); }, x);
  check_grad([](const Tensor& t) { return softplus(t, 2.5, 5.0); }, x);  // some inputs past beta*x = 5
  Tensor big = from_vector(std::vector<double>{30.0}, {1}, Dtype::Float64);
  CHECK(softplus(big).item() == 30.0);  // torch returns x itself past the threshold
}

TEST_CASE("float32 forwards match float64 to 1e-6 relative") {
  // Inputs exactly representable in float32, so both paths start from the same numbers. gelu stays on
  // x >= -1: below that 1 + erf(x / sqrt 2) cancels and loses float32 digits relative to the tiny result.
  Tensor x64 = away_from_zero({200}, 0.05, 3.0, 9).to(Dtype::Float32).to(Dtype::Float64);
  Tensor pos64 = abs(x64);
  Tensor gx64 = clamp(x64, -1.0, std::nullopt);
  struct Case {
    const char* name;
    Unary f;
    Tensor in;
  };
  std::vector<Case> cases = {
      {"exp", [](const Tensor& t) { return exp(t); }, x64},
      {"log", [](const Tensor& t) { return log(t); }, pos64},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }, pos64},
      {"abs", [](const Tensor& t) { return abs(t); }, x64},
      {"clamp", [](const Tensor& t) { return clamp(t, -0.5, 0.5); }, x64},
      {"tanh", [](const Tensor& t) { return tanh(t); }, x64},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }, x64},
      {"relu", [](const Tensor& t) { return relu(t); }, x64},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t, 0.25); }, x64},
      {"elu", [](const Tensor& t) { return elu(t); }, x64},
      {"selu", [](const Tensor& t) { return selu(t); }, x64},
      {"gelu", [](const Tensor& t) { return gelu(t); }, gx64},
      {"softplus", [](const Tensor& t) { return softplus(t); }, x64},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Tensor y32 = c.f(c.in.to(Dtype::Float32));
    CHECK(y32.dtype() == Dtype::Float32);
    auto a = y32.to_vector(), b = c.f(c.in).to_vector();
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(std::fabs(b[i]), 1e-30));
    CHECK(worst <= 1e-6);
  }
}

TEST_CASE("pointwise ops reject integer inputs and bad options") {
  Tensor i = from_indices({1, 2}, {2});
  CHECK_THROWS_WITH_AS(exp(i), doctest::Contains("exp: input has dtype int64"), Error);
  CHECK_THROWS_WITH_AS(softplus(ones({2}, Dtype::Float64), 0.0), doctest::Contains("softplus: beta 0"), Error);
  CHECK_THROWS_WITH_AS(leaky_relu(ones({2}, Dtype::Float64), NAN), doctest::Contains("leaky_relu: negative_slope"), Error);
}
