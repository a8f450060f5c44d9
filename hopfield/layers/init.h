// Parameter initialisers with torch.nn.init semantics, drawing from a seeded Generator.
//
//   fan_in  = size(1) * receptive field,  fan_out = size(0) * receptive field
//   (receptive field = product of the axes after the first two; a Linear weight (out, in) has fan_in = in,
//    a Conv1d weight (C_out, C_in, K) has fan_in = C_in * K).
//
// All of them overwrite the tensor's storage in place, outside autograd (like torch's `with no_grad()`),
// so the handles a Module holds keep seeing the new values. Float32 and float64 tensors are accepted;
// values are drawn in double and rounded once.
#pragma once

#include <cstddef>
#include <utility>

#include "hopfield/engine/random.h"
#include "hopfield/engine/tensor.h"

namespace hf::init {

// Layer constructors take the Generator their parameters are drawn from (default_generator() when none is
// given), so a program seeds a layer by constructing it, once: `Linear(LinearOptions(4, 2), gen)`.
// `init::deferred` instead of a Generator allocates the parameters as zeros and draws nothing: for a
// composite layer that initialises its children itself, in hflayers' order (Hopfield's out_proj is drawn
// N(0, 0.02^2), not Linear's kaiming), so that no parameter is drawn twice.
struct Deferred {};
inline constexpr Deferred deferred{};

// torch.nn.init._calculate_fan_in_and_fan_out: throws for tensors of rank < 2.
std::pair<std::size_t, std::size_t> fan_in_and_fan_out(const Tensor& t);

// torch.nn.init.calculate_gain for leaky_relu with negative slope a: sqrt(2 / (1 + a^2)).
double leaky_relu_gain(double a);

void uniform_(Tensor& t, double low, double high, Generator& gen = default_generator());
void normal_(Tensor& t, double mean, double std, Generator& gen = default_generator());
void constant_(Tensor& t, double value);
void zeros_(Tensor& t);
void ones_(Tensor& t);

// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// U(-b, b) with b = leaky_relu_gain(a) * sqrt(3 / fan_in) (torch's mode='fan_in', 'leaky_relu').
void kaiming_uniform_(Tensor& t, double a = 0.0, Generator& gen = default_generator());
// N(0, s^2) with s = leaky_relu_gain(a) / sqrt(fan_in).
void kaiming_normal_(Tensor& t, double a = 0.0, Generator& gen = default_generator());

}  // namespace hf::init
