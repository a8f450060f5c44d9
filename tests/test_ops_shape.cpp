// Shape ops (engine/ops_shape.cpp): values against index arithmetic written here, float64 gradient checks
// with a random upstream gradient (inputs also fed through permute, so they come from a reordered copy),
// and argument validation.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"
#include "tests/support.h"

using namespace hf;
using hf::test::rnd;
using hf::test::expect_gradcheck;

namespace {

// Row-major flat offset of a multi-index in shape.
std::size_t offset_of(const Shape& shape, const std::vector<std::size_t>& idx) {
  std::size_t off = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) off = off * shape[d] + idx[d];
  return off;
}

// Multi-index of flat offset i in shape.
std::vector<std::size_t> index_of(const Shape& shape, std::size_t i) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

}  // namespace

TEST_CASE("transpose swaps two axes: out[i][j][k] = x[k][j][i]") {
  Tensor x = rnd({2, 3, 4}, 1, false);
  Tensor y = transpose(x, 0, -1);
  REQUIRE(y.shape() == Shape{4, 3, 2});
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 2; ++k) CHECK(y.at({i, j, k}) == x.at({k, j, i}));
  expect_gradcheck([](const std::vector<Tensor>& in) { return transpose(in[0], 1, 2); }, {rnd({2, 3, 4}, 2)});
}

TEST_CASE("permute reorders axes and its gradient is the inverse permutation") {
  Tensor x = rnd({2, 3, 4, 5}, 3, false);
  Tensor y = permute(x, {2, 0, 3, 1});
  REQUIRE(y.shape() == Shape{4, 2, 5, 3});
  for (std::size_t i = 0; i < y.numel(); ++i) {
    auto o = index_of(y.shape(), i);  // o = (x2, x0, x3, x1)
    CHECK(y.flat(i) == x.at({o[1], o[3], o[0], o[2]}));
  }
  expect_gradcheck([](const std::vector<Tensor>& in) { return permute(in[0], {2, 0, 3, 1}); }, {rnd({2, 3, 4, 5}, 4)});
  // Permuting twice (a permuted input into a permute) still gets the right gradient.
  expect_gradcheck([](const std::vector<Tensor>& in) { return permute(permute(in[0], {1, 2, 0}), {0, 2, 1}); },
                   {rnd({2, 3, 4}, 5)});
}

TEST_CASE("expand broadcasts and its gradient sums over the broadcast axes") {
  Tensor x = rnd({3, 1}, 6, false);
  Tensor y = expand(x, {2, 3, 4});
  REQUIRE(y.shape() == Shape{2, 3, 4});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) CHECK(y.at({i, j, k}) == x.at({j, 0}));
  expect_gradcheck([](const std::vector<Tensor>& in) { return expand(permute(in[0], {1, 0}), {2, 3, 4}); },
                   {rnd({1, 3}, 7)});
}

TEST_CASE("slice follows Python rules: negative bounds, clamping, step") {
  Tensor x = arange(0, 10, 1, Dtype::Float64);
  CHECK(slice(x, 0, 2, 8, 3).to_vector() == std::vector<double>{2, 5});
  CHECK(slice(x, 0, -3, 100).to_vector() == std::vector<double>{7, 8, 9});
  CHECK(slice(x, 0, 6, 2).numel() == 0);
  CHECK(slice(x, 0, 1, 10, 4).to_vector() == std::vector<double>{1, 5, 9});
  Tensor m = rnd({4, 6}, 8, false);
  Tensor s = slice(m, 1, 1, 6, 2);  // columns 1, 3, 5
  REQUIRE(s.shape() == Shape{4, 3});
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) CHECK(s.at({i, j}) == m.at({i, 1 + 2 * j}));
}

TEST_CASE("slice gradient scatters into zeros (step and permuted input)") {
  expect_gradcheck([](const std::vector<Tensor>& in) { return slice(permute(in[0], {1, 0, 2}), 1, 1, 7, 2); },
                   {rnd({7, 3, 2}, 9)});
  // Entries not taken by the slice get exactly zero gradient.
  Tensor x = rnd({5}, 10);
  slice(x, 0, 0, 5, 2).backward(ones({3}, Dtype::Float64));
  CHECK(x.grad().to_vector() == std::vector<double>{1, 0, 1, 0, 1});
}

TEST_CASE("narrow takes length entries from start") {
  Tensor x = rnd({3, 5}, 11, false);
  Tensor y = narrow(x, -1, 1, 3);
  REQUIRE(y.shape() == Shape{3, 3});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) CHECK(y.at({i, j}) == x.at({i, j + 1}));
  expect_gradcheck([](const std::vector<Tensor>& in) { return narrow(transpose(in[0], 0, 1), 0, 2, 2); },
                   {rnd({3, 5}, 12)});
}

TEST_CASE("index_select picks rows along an axis - repeated indices accumulate gradient") {
  Tensor x = rnd({2, 4, 3}, 13, false);
  Tensor idx = from_indices({3, 0, 3, 1}, {4});
  Tensor y = index_select(x, 1, idx);
  REQUIRE(y.shape() == Shape{2, 4, 3});
  const std::size_t pick[] = {3, 0, 3, 1};
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t j = 0; j < 4; ++j)
      for (std::size_t c = 0; c < 3; ++c) CHECK(y.at({a, j, c}) == x.at({a, pick[j], c}));
  expect_gradcheck([idx](const std::vector<Tensor>& in) { return index_select(permute(in[0], {1, 0, 2}), 1, idx); },
                   {rnd({4, 2, 3}, 14)});
  // Row 3 is selected twice: its gradient is 2, row 2 (never selected) gets 0.
  Tensor v = rnd({4}, 15);
  index_select(v, 0, idx).backward(ones({4}, Dtype::Float64));
  CHECK(v.grad().to_vector() == std::vector<double>{1, 1, 0, 2});
}

TEST_CASE("index_select moves integer and bool tensors too") {
  Tensor ids = from_indices({10, 20, 30}, {3});
  CHECK(index_select(ids, 0, from_indices({2, 2, 0}, {3})).to_vector() == std::vector<double>{30, 30, 10});
  Tensor m = from_mask({true, false, true}, {3});
  Tensor sel = index_select(m, 0, from_indices({1, 0}, {2}));
  CHECK(sel.dtype() == Dtype::Bool);
  CHECK(sel.to_vector() == std::vector<double>{0, 1});
}

TEST_CASE("gather follows torch.gather on every axis") {
  Tensor x = rnd({3, 4, 2}, 16, false);
  Generator gen(17);
  for (int axis = 0; axis < 3; ++axis) {
    Shape ishape = {2, 3, 2};
    ishape[static_cast<std::size_t>(axis)] = 5;  // the gathered axis may be longer than x's
    std::vector<std::int64_t> vals(shape_numel(ishape));
    for (auto& v : vals) v = static_cast<std::int64_t>(gen.below(x.shape()[static_cast<std::size_t>(axis)]));
    Tensor idx = from_indices(vals, ishape);
    Tensor y = gather(x, axis, idx);
    REQUIRE(y.shape() == ishape);
    for (std::size_t i = 0; i < y.numel(); ++i) {
      auto p = index_of(ishape, i);
      p[static_cast<std::size_t>(axis)] = static_cast<std::size_t>(vals[i]);
      CHECK(y.flat(i) == x.flat(offset_of(x.shape(), p)));
    }
    expect_gradcheck([axis, idx](const std::vector<Tensor>& in) { return gather(permute(in[0], {2, 0, 1}), axis, idx); },
                     {rnd({4, 2, 3}, 18 + static_cast<std::uint64_t>(axis))});
  }
}

TEST_CASE("gather gradient scatter-adds repeated indices") {
  Tensor x = rnd({2, 3}, 21);
  Tensor idx = from_indices({2, 2, 2, 0, 1, 1}, {2, 3});
  gather(x, 1, idx).backward(ones({2, 3}, Dtype::Float64));
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 3, 1, 2, 0});
}

TEST_CASE("concat joins along an axis and hands each input its slice of the gradient") {
  Tensor a = rnd({2, 1, 3}, 22, false), b = rnd({2, 4, 3}, 23, false);
  Tensor y = concat({a, b}, 1);
  REQUIRE(y.shape() == Shape{2, 5, 3});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 5; ++j)
      for (std::size_t k = 0; k < 3; ++k) CHECK(y.at({i, j, k}) == (j < 1 ? a.at({i, j, k}) : b.at({i, j - 1, k})));
  expect_gradcheck(
      [](const std::vector<Tensor>& in) { return concat({in[0], permute(in[1], {1, 0, 2}), in[2]}, -2); },
      {rnd({2, 1, 3}, 24), rnd({4, 2, 3}, 25), rnd({2, 2, 3}, 26)});
  // An input that does not require grad is skipped; the others still get theirs.
  expect_gradcheck([](const std::vector<Tensor>& in) { return concat({in[0], in[1]}, 0); },
                   {rnd({1, 3}, 27), rnd({2, 3}, 28, false)});
}

TEST_CASE("stack adds a new axis") {
  Tensor a = rnd({2, 3}, 29, false), b = rnd({2, 3}, 30, false);
  Tensor y = stack({a, b}, 1);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(y.at({i, 0, k}) == a.at({i, k}));
      CHECK(y.at({i, 1, k}) == b.at({i, k}));
    }
  CHECK(stack({a, b}, -1).shape() == Shape{2, 3, 2});
  expect_gradcheck([](const std::vector<Tensor>& in) { return stack({in[0], transpose(in[1], 0, 1)}, 0); },
                   {rnd({2, 3}, 31), rnd({3, 2}, 32)});
}

TEST_CASE("split and chunk cut an axis into pieces (last one shorter)") {
  Tensor x = arange(0, 14, 1, Dtype::Float64);
  auto parts = split(reshape(x, {2, 7}), 3, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].shape() == Shape{2, 3});
  CHECK(parts[2].shape() == Shape{2, 1});
  CHECK(parts[2].to_vector() == std::vector<double>{6, 13});
  auto chunks = chunk(x, 4, 0);  // torch: pieces of ceil(14 / 4) = 4 -> 4, 4, 4, 2
  REQUIRE(chunks.size() == 4);
  CHECK(chunks[3].to_vector() == std::vector<double>{12, 13});
  CHECK(chunk(arange(0, 6, 1, Dtype::Float64), 4, 0).size() == 3);  // ceil(6 / 4) = 2 -> 3 pieces
  // Gradient through a weighted recombination of the pieces.
  expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        auto p = split(permute(in[0], {1, 0}), 2, 0);
        auto c = chunk(in[0], 2, 1);
        return add(mul(p[0], 2.0), sub(transpose(c[1], 0, 1), transpose(c[0], 0, 1)));
      },
      {rnd({3, 4}, 33)});
}

TEST_CASE("pad surrounds the input with a value on the listed axes") {
  Tensor x = rnd({2, 3}, 34, false);
  Tensor y = pad(x, {{1, 0}, {2, 1}}, -5.0);
  REQUIRE(y.shape() == Shape{3, 6});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 6; ++j) {
      const bool inside = i >= 1 && j >= 2 && j < 5;
      CHECK(y.at({i, j}) == (inside ? x.at({i - 1, j - 2}) : -5.0));
    }
  CHECK(pad(x, {{0, 2}}).shape() == Shape{4, 3});  // axes past the list are not padded
  expect_gradcheck([](const std::vector<Tensor>& in) { return pad(permute(in[0], {2, 1, 0}), {{1, 1}, {0, 2}, {3, 0}}); },
                   {rnd({2, 3, 2}, 35)});
}

TEST_CASE("shape ops reject bad arguments naming the op and the shapes") {
  Tensor x = rnd({2, 3}, 36, false);
  CHECK_THROWS_WITH_AS(transpose(x, 0, 2), doctest::Contains("transpose: axis 2"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 0}), doctest::Contains("repeat axis 0 of (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0}), doctest::Contains("permute: axes (0) do not match the rank of (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(expand(x, {2, 4}), doctest::Contains("expand: cannot expand (2, 3) to (2, 4)"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 1, 0, 2, 0), doctest::Contains("slice: step 0"), Error);
  CHECK_THROWS_WITH_AS(narrow(x, 1, 2, 2), doctest::Contains("exceeds size 3 of axis 1 in (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(index_select(x, 0, from_indices({0}, {1, 1})), doctest::Contains("index must be 1-D"), Error);
  CHECK_THROWS_WITH_AS(index_select(x, 0, from_vector(std::vector<double>{0}, {1}, Dtype::Float64)),
                       doctest::Contains("int64 expected"), Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, from_indices({0, 1}, {2})), doctest::Contains("must have the rank of input (2, 3)"),
                       Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, from_indices({0, 0, 0, 0, 0, 0, 0, 0, 0}, {3, 3})),
                       doctest::Contains("larger than input (2, 3) on axis 0"), Error);
  CHECK_THROWS_WITH_AS(concat({x, rnd({3, 3}, 37, false)}, 1),
                       doctest::Contains("concat: input 1 has shape (3, 3) but input 0 has (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(concat({x, x.to(Dtype::Float32)}, 0), doctest::Contains("input 1 is float32"), Error);
  CHECK_THROWS_WITH_AS(concat({}, 0), doctest::Contains("concat: needs at least one tensor"), Error);
  CHECK_THROWS_WITH_AS(stack({x, rnd({3, 2}, 38, false)}, 0), doctest::Contains("stack: input 1 has shape (3, 2)"),
                       Error);
  CHECK_THROWS_WITH_AS(split(x, 0, 1), doctest::Contains("split: split_size must be positive"), Error);
  CHECK_THROWS_WITH_AS(chunk(x, 0, 1), doctest::Contains("chunk: chunks must be positive"), Error);
  CHECK_THROWS_WITH_AS(pad(x, {{0, 0}, {0, 0}, {1, 1}}), doctest::Contains("pad: 3 (before, after) pairs for input (2, 3)"),
                       Error);
}

TEST_CASE("float32 shape ops give the float64 values") {
  Tensor x = rnd({3, 4}, 39, false);
  Tensor x32 = x.to(Dtype::Float32);
  auto same = [](const Tensor& a32, const Tensor& a64) {
    auto va = a32.to_vector(), vb = a64.to_vector();
    REQUIRE(va.size() == vb.size());
    for (std::size_t i = 0; i < va.size(); ++i) CHECK(va[i] == static_cast<double>(static_cast<float>(vb[i])));
  };
  same(permute(x32, {1, 0}), permute(x, {1, 0}));
  same(pad(x32, {{1, 1}}), pad(x, {{1, 1}}));
  same(gather(x32, 0, from_indices({2, 0, 1, 1}, {1, 4})), gather(x, 0, from_indices({2, 0, 1, 1}, {1, 4})));
  same(concat({x32, x32}, 1), concat({x, x}, 1));
}
