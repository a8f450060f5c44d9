// The autograd tape: accumulation, NoGrad, detach, release, errors.
#include <doctest/doctest.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"

using namespace hf;

TEST_CASE("fan-out accumulates: y = x * x + x gives dy/dx = 2x + 1") {
  Tensor x = from_vector(std::vector<double>{1.5, -2.0, 0.25}, {3}, Dtype::Float64).requires_grad_();
  Tensor y = add(mul(x, x), x);
  y.backward(ones({3}, Dtype::Float64));
  std::vector<double> g = x.grad().to_vector();
  CHECK(g[0] == doctest::Approx(4.0));
  CHECK(g[1] == doctest::Approx(-3.0));
  CHECK(g[2] == doctest::Approx(1.5));
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  Tensor x = from_vector(std::vector<double>{2.0}, {1}, Dtype::Float64).requires_grad_();
  mul(x, 3.0).backward(ones({1}, Dtype::Float64));
  mul(x, 3.0).backward(ones({1}, Dtype::Float64));
  CHECK(x.grad().item() == doctest::Approx(6.0));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("NoGrad records nothing, detach cuts history") {
  Tensor x = randn({2, 2}, Dtype::Float64).requires_grad_();
  {
    NoGrad ng;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
  }
  Tensor d = mul(x, 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(mul(x, 2.0).requires_grad());
}

TEST_CASE("the graph is released after backward - a second backward says so") {
  Tensor x = randn({3}, Dtype::Float64).requires_grad_();
  Tensor y = sum(mul(x, x));
  y.backward();
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("already released"), Error);
}

TEST_CASE("backward on a non-scalar without a gradient names the shape") {
  Tensor x = randn({2, 3}, Dtype::Float64).requires_grad_();
  Tensor y = mul(x, 2.0);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("(2, 3)"), Error);
  CHECK_THROWS_WITH_AS(y.backward(ones({3}, Dtype::Float64)), doctest::Contains("grad_output"), Error);
}

TEST_CASE("backward on a tensor without history fails clearly") {
  Tensor x = randn({1}, Dtype::Float64);
  CHECK_THROWS_WITH_AS(x.backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("a deep chain does not overflow the stack") {
  Tensor x = from_vector(std::vector<double>{1.0}, {1}, Dtype::Float64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add(y, 1e-6);
  y.backward();
  CHECK(x.grad().item() == doctest::Approx(1.0));
}

TEST_CASE("gradcheck catches a wrong backward") {
  // Deliberately broken op: forward 2x, backward claims 3x.
  auto broken = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    Tensor out = mul(x.detach(), 2.0);
    return record(out, "broken", {x}, [x](const Tensor& g) { accumulate_grad(x, mul(g, 3.0)); });
  };
  auto r = gradcheck(broken, {randn({4}, Dtype::Float64).requires_grad_()});
  CHECK_FALSE(r.ok);
  CHECK(r.max_error > 0.1);
}

TEST_CASE("anomaly mode names the op that produced NaN") {
  set_anomaly_detection(true);
  Tensor x = from_vector(std::vector<double>{-1.0}, {1}, Dtype::Float64).requires_grad_();
  CHECK_THROWS_WITH_AS(log(x), doctest::Contains("log"), Error);
  set_anomaly_detection(false);
}
