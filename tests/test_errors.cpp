// Bad input throws hf::Error whose message names the op, the shapes and the problem (never an abort,
// never xtensor's release-mode "compile in DEBUG for more info").
#include <vector>

#include <doctest/doctest.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

using namespace hf;

namespace {
Tensor z(const Shape& shape, Dtype dtype = Dtype::Float64) { return zeros(shape, dtype); }
}  // namespace

TEST_CASE("add with shapes that do not broadcast names both shapes and the axis") {
  CHECK_THROWS_WITH_AS(add(z({2, 3}), z({4})),
                       doctest::Contains("add: shapes (2, 3) and (4,) do not broadcast (axis 1: 3 vs 4)"), Error);
  CHECK_THROWS_WITH_AS(mul(z({2, 3, 4}), z({3, 3, 4})), doctest::Contains("mul: shapes (2, 3, 4) and (3, 3, 4)"), Error);
  CHECK_THROWS_WITH_AS(z({2}) - z({3}), doctest::Contains("sub: shapes (2,) and (3,)"), Error);
  CHECK_THROWS_WITH_AS(where(from_mask({true, false, true}, {3}), z({2}), z({2})), doctest::Contains("where: shapes"),
                       Error);
}

TEST_CASE("matmul with mismatched inner dimensions names both shapes") {
  CHECK_THROWS_WITH_AS(matmul(z({2, 3}), z({4, 5})),
                       doctest::Contains("matmul: (2, 3) x (4, 5): inner dimensions differ (3 vs 4)"), Error);
  CHECK_THROWS_WITH_AS(matmul(z({3}), z({4})), doctest::Contains("matmul"), Error);
  CHECK_THROWS_WITH_AS(matmul(z({2, 2, 3}), z({3, 3, 4})), doctest::Contains("matmul: shapes (2,) and (3,) do not broadcast"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul_nt(z({2, 3}), z({4, 5})), doctest::Contains("matmul_nt: (2, 3) x (4, 5)^T"), Error);
  CHECK_THROWS_WITH_AS(matmul(z({}), z({3})), doctest::Contains("matmul: operands must have rank >= 1, got () x (3,)"),
                       Error);
}

TEST_CASE("a bad axis names the op, the axis and the rank") {
  CHECK_THROWS_WITH_AS(sum(z({2, 3}), {3}), doctest::Contains("sum: axis 3 is out of range for a tensor of rank 2"), Error);
  CHECK_THROWS_WITH_AS(transpose(z({2, 3}), -3, 0), doctest::Contains("transpose: axis -3"), Error);
  CHECK_THROWS_WITH_AS(softmax(z({2, 3}), 2), doctest::Contains("softmax: axis 2"), Error);
  CHECK_THROWS_WITH_AS(squeeze(z({2, 3}), 0), doctest::Contains("squeeze: axis 0 of (2, 3) has size 2"), Error);
  CHECK_THROWS_WITH_AS(concat({z({2, 3}), z({2, 3})}, 2), doctest::Contains("concat: axis 2"), Error);
  CHECK_THROWS_WITH_AS(max(z({2, 3}), 5), doctest::Contains("max: axis 5"), Error);
}

TEST_CASE("mixed float32 and float64 inputs are refused with both dtypes and shapes") {
  Tensor a = z({2, 3}), b = z({2, 3}, Dtype::Float32);
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: mixed dtypes float64 (2, 3) and float32 (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(matmul(a, z({3, 4}, Dtype::Float32)),
                       doctest::Contains("matmul: mixed dtypes float64 (2, 3) and float32 (3, 4)"), Error);
  CHECK_THROWS_WITH_AS(where(from_mask({true}, {1}), a, b), doctest::Contains("where: mixed dtypes"), Error);
  CHECK_THROWS_WITH_AS(concat({a, b}, 0), doctest::Contains("concat: input 1 is float32 (2, 3) but input 0 is float64 (2, 3)"),
                       Error);
}

TEST_CASE("backward on a non-scalar without a gradient names the output shape") {
  Tensor x = z({2, 3}).requires_grad_();
  Tensor y = permute(mul(x, 2.0), {1, 0});
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("(3, 2)"), Error);
  CHECK_THROWS_WITH_AS(y.backward(ones({2, 3}, Dtype::Float64)),
                       doctest::Contains("backward: grad_output of shape (2, 3) for an output of shape (3, 2)"), Error);
}

TEST_CASE("an out-of-range index names the index, its position and the input shape") {
  Tensor x = z({3, 5});
  CHECK_THROWS_WITH_AS(index_select(x, 1, from_indices({0, 7, 1}, {3})),
                       doctest::Contains("index_select: index 7 (at flat position 1 of index (3,)) is out of range for "
                                         "axis 1 of size 5 in input (3, 5)"),
                       Error);
  CHECK_THROWS_WITH_AS(index_select(x, 0, from_indices({-1}, {1})), doctest::Contains("index_select: index -1"), Error);
  CHECK_THROWS_WITH_AS(gather(x, 0, from_indices({0, 1, 3, 2}, {2, 2})),
                       doctest::Contains("gather: index 3 (at flat position 2 of index (2, 2)) is out of range for "
                                         "axis 0 of size 3 in input (3, 5)"),
                       Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, from_vector(std::vector<double>{0}, {1, 1}, Dtype::Float64)),
                       doctest::Contains("gather: index has dtype float64 (1, 1) (int64 expected)"), Error);
}

TEST_CASE("undefined tensors are refused, not dereferenced") {
  CHECK_THROWS_WITH_AS(add(Tensor(), z({2})), doctest::Contains("add: first input is undefined"), Error);
  CHECK_THROWS_WITH_AS(mul(z({2}), Tensor()), doctest::Contains("mul: second input is undefined"), Error);
  CHECK_THROWS_WITH_AS(permute(Tensor(), {}), doctest::Contains("permute: input is undefined"), Error);
  CHECK_THROWS_WITH_AS(index_select(z({2}), 0, Tensor()), doctest::Contains("index_select: index is undefined"), Error);
}

TEST_CASE("from_vector takes a braced list of numbers and checks its length against the shape") {
  // The list once converted equally well to std::vector<double> and std::vector<float>: ambiguous.
  const Tensor a = from_vector({1.0, 2.0, 3.5, -4.0}, {2, 2});
  CHECK(a.dtype() == Dtype::Float32);
  CHECK(a.shape() == Shape{2, 2});
  CHECK(a.to_vector() == std::vector<double>{1.0, 2.0, 3.5, -4.0});
  const Tensor b = from_vector({1, 0, 1}, {3}, Dtype::Float64);
  CHECK(b.dtype() == Dtype::Float64);
  CHECK(b.to_vector() == std::vector<double>{1.0, 0.0, 1.0});
  CHECK_THROWS_WITH_AS(from_vector({1.0, 2.0}, {3}), doctest::Contains("from_vector: 2 values for shape (3,)"), Error);
}
