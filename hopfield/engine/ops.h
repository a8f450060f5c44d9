// Every differentiable op of the engine, declared without xtensor so that users' code compiles fast.
// Each op checks its arguments (throwing hf::Error naming the op, the shapes and the problem), computes
// the forward in float32 or float64, and records its backward on the tape (engine/tape.h).
// Definitions live in ops_<family>.cpp, each op's backward right below its forward.
//
// Axes may be negative (counted from the end). Binary ops broadcast like NumPy; their backward sums the
// gradient back to each input's shape. Masks are Bool tensors (true = masked) or any tensor whose nonzero
// entries count as true. Index tensors are Int64.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/random.h"
#include "hopfield/engine/tape.h"
#include "hopfield/engine/tensor.h"

namespace hf {

// ----- arithmetic (ops_elementwise.cpp) -----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor sub(double a, const Tensor& b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor div(double a, const Tensor& b);
Tensor neg(const Tensor& a);
Tensor pow(const Tensor& a, double exponent);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

// Comparisons give Bool masks and carry no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor logical_not(const Tensor& mask);

// out = mask ? value : x (mask broadcasts to x's shape).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// out = cond ? a : b, all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ----- pointwise (ops_pointwise.cpp) -----
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor selu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact: x * Phi(x)
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);

// ----- matmul (ops_linalg.cpp) -----
// 1-D x 1-D is a dot product, 2-D x 2-D a matrix product, N-D batched with broadcast batch dims.
// Forward and backward run as gemm calls; transposes are gemm flags, never copies.
Tensor matmul(const Tensor& a, const Tensor& b);
// a @ b^T over the last two axes (used by linear layers and attention: no transpose copy).
Tensor matmul_nt(const Tensor& a, const Tensor& b);

// ----- shape (ops_shape.cpp) -----
// reshape accepts one -1.
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape);
Tensor flatten(const Tensor& x, int start_axis = 0, int end_axis = -1);
Tensor transpose(const Tensor& x, int axis0, int axis1);
Tensor permute(const Tensor& x, const std::vector<int>& axes);
Tensor squeeze(const Tensor& x, int axis);
Tensor unsqueeze(const Tensor& x, int axis);
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast to shape (NumPy rules)
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor narrow(const Tensor& x, int axis, std::size_t start, std::size_t length);
Tensor index_select(const Tensor& x, int axis, const Tensor& index);  // index: 1-D Int64
// out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (torch.gather); index Int64 with x's rank.
Tensor gather(const Tensor& x, int axis, const Tensor& index);
Tensor concat(const std::vector<Tensor>& xs, int axis);
Tensor stack(const std::vector<Tensor>& xs, int axis);
std::vector<Tensor> split(const Tensor& x, std::size_t split_size, int axis);
std::vector<Tensor> chunk(const Tensor& x, std::size_t chunks, int axis);
// pads[i] = (before, after) for axis i, starting at axis 0; axes past the list are not padded.
Tensor pad(const Tensor& x, const std::vector<std::pair<std::size_t, std::size_t>>& pads, double value = 0.0);

// ----- reductions (ops_reduce.cpp) -----
// Empty axes = all axes.
Tensor sum(const Tensor& x, const std::vector<int>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int>& axes = {}, bool keepdim = false);
// correction = 1 gives the unbiased estimate (torch's default), 0 the biased one.
Tensor var(const Tensor& x, const std::vector<int>& axes = {}, int correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int>& axes = {}, int correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
Tensor max(const Tensor& x, int axis, bool keepdim = false);  // gradient to the first maximum
Tensor min(const Tensor& x, int axis, bool keepdim = false);
Tensor max(const Tensor& x);  // over everything
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, int axis, bool keepdim = false);  // Int64
Tensor argmin(const Tensor& x, int axis, bool keepdim = false);

// ----- neural-network ops (ops_softmax.cpp, ops_nn.cpp, ops_conv.cpp, ops_masked.cpp) -----
// Softmax over axis, max-subtracted. With a mask (broadcast to x, true = excluded) masked entries get
// probability 0; a row that is entirely masked gives zeros (not NaN) and passes zero gradient.
Tensor softmax(const Tensor& x, int axis);
Tensor softmax(const Tensor& x, int axis, const Tensor& mask);
Tensor log_softmax(const Tensor& x, int axis);
// Normalises over the last normalized_dims axes; weight/bias (shape of those axes) may be undefined.
Tensor layer_norm(const Tensor& x, std::size_t normalized_dims, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());
// weight (num_embeddings, dim), indices Int64 of any shape -> indices.shape + (dim).
Tensor embedding(const Tensor& weight, const Tensor& indices);

struct Conv1dFuncOptions {
  HF_ARG(std::size_t, stride) = 1;
  HF_ARG(std::size_t, padding) = 0;
  HF_ARG(std::size_t, dilation) = 1;
};
// x (N, C_in, L), weight (C_out, C_in, K), bias (C_out) or undefined -> (N, C_out, L_out).
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv1dFuncOptions& options = Conv1dFuncOptions());
// x (N, C, L) -> (N, C, L_out); padding counts as -inf.
Tensor max_pool1d(const Tensor& x, std::size_t kernel_size, std::size_t stride = 0, std::size_t padding = 0);
// Mean / max over axis of the entries whose mask is false (mask broadcasts to x; true = padding).
// An all-masked slice gives 0 and zero gradient.
Tensor masked_mean(const Tensor& x, const Tensor& mask, int axis, bool keepdim = false);
Tensor masked_max(const Tensor& x, const Tensor& mask, int axis, bool keepdim = false);

// ----- losses (ops_loss.cpp) -----
enum class Reduction { None, Mean, Sum };

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

struct BCEWithLogitsOptions {
  HF_ARG(Tensor, pos_weight);  // broadcast over the last axis; undefined = 1
  HF_ARG(Tensor, weight);      // per-element weight, broadcast to input; undefined = 1
  HF_ARG(Reduction, reduction) = Reduction::Mean;
};
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options = BCEWithLogitsOptions());

struct CrossEntropyOptions {
  HF_ARG(Tensor, weight);  // (C) class weights; undefined = 1
  HF_ARG(double, label_smoothing) = 0.0;
  HF_ARG(Reduction, reduction) = Reduction::Mean;
  HF_ARG(std::int64_t, ignore_index) = -100;
};
// logits (N, C), target Int64 (N) of class indices; torch.nn.functional.cross_entropy semantics
// (weighted mean divides by the summed weights of the targets).
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = CrossEntropyOptions());

struct NLLLossOptions {
  HF_ARG(Tensor, weight);
  HF_ARG(Reduction, reduction) = Reduction::Mean;
  HF_ARG(std::int64_t, ignore_index) = -100;
};
// log_probs (N, C), target Int64 (N).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options = NLLLossOptions());

}  // namespace hf
