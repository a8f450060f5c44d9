// Gradient clipping, torch.nn.utils semantics.
//   clip_grad_norm: total = || (||g_1||_p, ..., ||g_n||_p) ||_p over every parameter with a gradient
//   (p = inf: the largest |g|); every gradient is scaled by min(1, max_norm / (total + 1e-6)).
//   Returns total, the norm BEFORE clipping (what a training log wants to show).
//   clip_grad_value: every gradient element clamped to [-clip_value, clip_value].
// reference: https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html
#pragma once

#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

// error_if_nonfinite: a NaN/Inf total norm throws instead of scaling everything into NaN.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                      bool error_if_nonfinite = false);
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

}  // namespace hf
