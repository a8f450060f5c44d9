// Loss functions with torch.nn.functional semantics and the reductions None / Mean / Sum.
//
// Legend: N samples, C classes. Class-index losses take logits / log-probabilities (N, C) and an Int64
// target (N).
// mse_loss is built from primitives. binary_cross_entropy_with_logits, cross_entropy and nll_loss are fused
// kernels with hand-written backward: the stable forms need max/abs/log1p, and cross_entropy shares the
// softmax of its forward with its backward.
// Class weights of cross_entropy / nll_loss are constants (no gradient), as in torch.
// One deliberate difference from torch: a Mean over a batch whose targets are all ignore_index gives 0
// (torch gives NaN), so one fully padded batch cannot poison a training run.
#include <cmath>
#include <limits>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"

namespace hf {

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  HF_FAIL("loss", "unknown reduction");
}

// Checks that `opt` (pos_weight / weight) broadcasts to `shape` without growing it; returns the offsets
// of opt's element for every element of shape (empty when opt is undefined).
std::vector<std::size_t> option_offsets(const Tensor& opt, const Tensor& input, const char* what, const char* op) {
  if (!opt.defined()) return {};
  detail::check_float(opt, op, what);
  HF_CHECK(opt.dtype() == input.dtype(), op,
           "option " << what << " is " << dtype_name(opt.dtype()) << " but input is " << dtype_name(input.dtype()));
  Shape b = detail::broadcast_shapes(opt.shape(), input.shape(), op);
  HF_CHECK(b == input.shape(), op,
           "option " << what << " of shape " << shape_str(opt.shape()) << " does not broadcast to input "
                     << shape_str(input.shape()));
  return detail::broadcast_offsets(opt.shape(), input.shape());
}

// Class-index targets: (N) Int64, each in [0, C) or equal to ignore_index.
void check_targets(const Tensor& input, const Tensor& target, std::int64_t ignore_index, const char* op) {
  detail::check_float(input, op);
  HF_CHECK(input.dim() == 2, op, "input must be (N, C), got " << shape_str(input.shape()));
  HF_CHECK(target.defined() && target.dtype() == Dtype::Int64, op,
           "target must be Int64 class indices, got " << (target.defined() ? dtype_name(target.dtype()) : "undefined"));
  const std::size_t N = input.shape()[0], C = input.shape()[1];
  HF_CHECK(target.shape() == Shape{N}, op,
           "target " << shape_str(target.shape()) << " does not match input " << shape_str(input.shape())
                     << " (expected " << shape_str(Shape{N}) << ")");
  const std::int64_t* t = target.data<std::int64_t>();
  for (std::size_t i = 0; i < N; ++i)
    HF_CHECK(t[i] == ignore_index || (t[i] >= 0 && static_cast<std::size_t>(t[i]) < C), op,
             "target " << t[i] << " at position " << i << " is out of range for " << C << " classes (input "
                       << shape_str(input.shape()) << ")");
}

void check_class_weight(const Tensor& weight, const Tensor& input, const char* op) {
  if (!weight.defined()) return;
  detail::check_float(weight, op, "weight");
  HF_CHECK(weight.dtype() == input.dtype(), op,
           "option weight is " << dtype_name(weight.dtype()) << " but input is " << dtype_name(input.dtype()));
  HF_CHECK(weight.shape() == Shape{input.shape()[1]}, op,
           "option weight " << shape_str(weight.shape()) << " must be (C,) = " << shape_str(Shape{input.shape()[1]}) << " for input "
                            << shape_str(input.shape()));
}

// Output of a per-sample loss `rows` (N, as doubles) under a reduction; `denom` normalises the Mean.
Tensor reduced_output(const std::vector<double>& rows, Reduction reduction, double denom, Dtype dtype) {
  if (reduction == Reduction::None) return from_vector(rows, {rows.size()}, dtype);
  double total = 0.0;
  for (double v : rows) total += v;
  if (reduction == Reduction::Mean) total = denom > 0 ? total / denom : 0.0;
  return full({}, total, dtype);
}

// Upstream gradient factor of sample i: g[i] for None, g for Sum, g / denom for Mean.
double row_factor(const double* g, std::size_t i, Reduction reduction, double denom) {
  if (reduction == Reduction::None) return g[i];
  if (reduction == Reduction::Sum) return g[0];
  return denom > 0 ? g[0] / denom : 0.0;
}

}  // namespace

// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.mse_loss.html
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  detail::check_same_dtype(input, target, "mse_loss");
  HF_CHECK(input.shape() == target.shape(), "mse_loss",
           "input " << shape_str(input.shape()) << " and target " << shape_str(target.shape()) << " differ in shape");
  Tensor d = sub(input, target);
  return reduce(mul(d, d), reduction);
}

// reference: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
// With sp = softplus(-x) = -log sigmoid(x) = max(-x, 0) + log1p(exp(-|x|)) and lw = (pos_weight - 1) t + 1:
//   l = weight * ((1 - t) x + lw sp)    (= max(x, 0) - x t + log1p(exp(-|x|)) without pos_weight)
//   dl/dx = weight * ((1 - t) - lw sigmoid(-x)),   dl/dt = weight * (-x + (pos_weight - 1) sp),
//   dl/dpos_weight = weight * t sp,                dl/dweight = l / weight.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  detail::check_same_dtype(input, target, op);
  HF_CHECK(input.shape() == target.shape(), op,
           "target " << shape_str(target.shape()) << " must have the shape of input " << shape_str(input.shape()));
  const Tensor pw = options.pos_weight(), w = options.weight();
  const auto pw_off = option_offsets(pw, input, "pos_weight", op);
  const auto w_off = option_offsets(w, input, "weight", op);
  Tensor loss = detail::alloc(input.shape(), input.dtype());
  detail::dispatch_float(input.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(input);
    const T* pt = detail::ptr<T>(target);
    const T* ppw = pw.defined() ? detail::ptr<T>(pw) : nullptr;
    const T* pww = w.defined() ? detail::ptr<T>(w) : nullptr;
    T* pl = detail::ptr<T>(loss);
    for (std::size_t i = 0, n = input.numel(); i < n; ++i) {
      const double x = px[i], t = pt[i];
      const double sp = std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x)));
      const double lw = ppw ? (ppw[pw_off[i]] - 1.0) * t + 1.0 : 1.0;
      const double l = (1.0 - t) * x + lw * sp;
      pl[i] = static_cast<T>(pww ? l * pww[w_off[i]] : l);
    }
  });
  Tensor xd = input.detach(), td = target.detach(), pwd = pw.defined() ? pw.detach() : Tensor(),
         wd = w.defined() ? w.detach() : Tensor();
  loss = record(loss, op, {input, target, pw, w}, [input, target, pw, w, xd, td, pwd, wd, op](const Tensor& g) {
    const bool gx = wants_grad(input), gt = wants_grad(target), gpw = wants_grad(pw), gw = wants_grad(w);
    const Shape& shape = xd.shape();
    const auto pw_off = pwd.defined() ? detail::broadcast_offsets(pwd.shape(), shape) : std::vector<std::size_t>{};
    const auto w_off = wd.defined() ? detail::broadcast_offsets(wd.shape(), shape) : std::vector<std::size_t>{};
    // Full-shape gradients; pos_weight's and weight's are summed back to their shapes below.
    Tensor dx = detail::alloc(shape, xd.dtype()), dt = detail::alloc(shape, xd.dtype());
    Tensor dpw = detail::alloc(shape, xd.dtype()), dw = detail::alloc(shape, xd.dtype());
    detail::dispatch_float(xd.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = detail::ptr<T>(xd);
      const T* pt = detail::ptr<T>(td);
      const T* ppw = pwd.defined() ? detail::ptr<T>(pwd) : nullptr;
      const T* pww = wd.defined() ? detail::ptr<T>(wd) : nullptr;
      const T* pg = detail::ptr<T>(g);
      for (std::size_t i = 0, n = xd.numel(); i < n; ++i) {
        const double x = px[i], t = pt[i];
        const double e = std::exp(-std::abs(x));
        const double sp = std::max(-x, 0.0) + std::log1p(e);
        const double sig_neg = x >= 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);  // sigmoid(-x)
        const double pwv = ppw ? static_cast<double>(ppw[pw_off[i]]) : 1.0;
        const double lw = (pwv - 1.0) * t + 1.0;
        const double gi = pg[i], gwi = pww ? gi * pww[w_off[i]] : gi;
        detail::ptr<T>(dx)[i] = static_cast<T>(gwi * ((1.0 - t) - lw * sig_neg));
        detail::ptr<T>(dt)[i] = static_cast<T>(gwi * (-x + (pwv - 1.0) * sp));
        detail::ptr<T>(dpw)[i] = static_cast<T>(gwi * t * sp);
        detail::ptr<T>(dw)[i] = static_cast<T>(gi * ((1.0 - t) * x + lw * sp));
      }
    });
    if (gx) accumulate_grad(input, dx);
    if (gt) accumulate_grad(target, dt);
    if (gpw) accumulate_grad(pw, detail::sum_to(dpw, pw.shape()));
    if (gw) accumulate_grad(w, detail::sum_to(dw, w.shape()));
  });
  return reduce(loss, options.reduction());
}

// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html and
// aten/src/ATen/native/LossNLL.cpp (cross_entropy_loss_label_smoothing). With lp = log_softmax(x_i),
// w_c the class weights (1 if undefined), t = target_i, eps = label_smoothing:
//   l_i = (1 - eps) * (-w_t lp_t) + eps / C * (-sum_c w_c lp_c)      (0 for ignored samples)
//   Mean = sum_i l_i / sum_i w_{t_i} over non-ignored samples (torch divides both terms by that sum).
//   dl_i/dx_c = (1 - eps) w_t (p_c - [c == t]) + eps / C (p_c sum_k w_k - w_c),  p = softmax(x_i).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  check_targets(logits, target, options.ignore_index(), op);
  const Tensor w = options.weight();
  check_class_weight(w, logits, op);
  const double eps = options.label_smoothing();
  HF_CHECK(eps >= 0.0 && eps <= 1.0, op, "option label_smoothing = " << eps << " is out of range [0, 1]");
  const std::size_t N = logits.shape()[0], C = logits.shape()[1];
  const std::int64_t ignore = options.ignore_index();
  const Reduction reduction = options.reduction();
  const std::vector<double> wv = w.defined() ? w.to_vector() : std::vector<double>(C, 1.0);
  double w_all = 0.0;  // sum_k w_k
  for (double v : wv) w_all += v;
  const std::int64_t* pt = target.data<std::int64_t>();
  std::vector<double> rows(N, 0.0);
  double denom = 0.0;  // summed target weights of the non-ignored samples
  Tensor probs = detail::alloc(logits.shape(), logits.dtype());  // (N, C) softmax, for backward
  detail::dispatch_float(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = detail::ptr<T>(logits);
    T* pp = detail::ptr<T>(probs);
    for (std::size_t i = 0; i < N; ++i) {
      const T* xi = px + i * C;
      double m = -std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < C; ++c) m = std::max(m, static_cast<double>(xi[c]));
      double total = 0.0;
      for (std::size_t c = 0; c < C; ++c) total += std::exp(xi[c] - m);
      const double lse = m + std::log(total);
      for (std::size_t c = 0; c < C; ++c) pp[i * C + c] = static_cast<T>(std::exp(xi[c] - lse));
      if (pt[i] == ignore) continue;
      const std::size_t t = static_cast<std::size_t>(pt[i]);
      double smooth = 0.0;  // -sum_c w_c lp_c
      for (std::size_t c = 0; c < C; ++c) smooth -= wv[c] * (xi[c] - lse);
      rows[i] = (1.0 - eps) * (-wv[t] * (xi[t] - lse)) + eps / static_cast<double>(C) * smooth;
      denom += wv[t];
    }
  });
  Tensor out = reduced_output(rows, reduction, denom, logits.dtype());
  Tensor td = target.detach();
  return record(out, op, {logits},
                [logits, td, probs, wv, w_all, eps, ignore, reduction, denom, N, C, op](const Tensor& g) {
                  Tensor dx = zeros(logits.shape(), logits.dtype());
                  const std::vector<double> gv = g.to_vector();
                  const std::int64_t* pt = td.data<std::int64_t>();
                  detail::dispatch_float(logits.dtype(), op, [&](auto tag) {
                    using T = decltype(tag);
                    const T* pp = detail::ptr<T>(probs);
                    T* pd = detail::ptr<T>(dx);
                    const double smooth_scale = eps / static_cast<double>(C);
                    for (std::size_t i = 0; i < N; ++i) {
                      if (pt[i] == ignore) continue;
                      const std::size_t t = static_cast<std::size_t>(pt[i]);
                      const double a = row_factor(gv.data(), i, reduction, denom);
                      const double nll_scale = (1.0 - eps) * wv[t];
                      for (std::size_t c = 0; c < C; ++c) {
                        const double p = pp[i * C + c];
                        double d = nll_scale * (p - (c == t ? 1.0 : 0.0)) + smooth_scale * (p * w_all - wv[c]);
                        pd[i * C + c] = static_cast<T>(a * d);
                      }
                    }
                  });
                  accumulate_grad(logits, dx);
                });
}

// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.nll_loss.html
//   l_i = -w_t lp[i, t] (0 for ignored samples); Mean divides by the summed target weights.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options) {
  const char* op = "nll_loss";
  check_targets(log_probs, target, options.ignore_index(), op);
  const Tensor w = options.weight();
  check_class_weight(w, log_probs, op);
  const std::size_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  const std::int64_t ignore = options.ignore_index();
  const Reduction reduction = options.reduction();
  const std::vector<double> wv = w.defined() ? w.to_vector() : std::vector<double>(C, 1.0);
  const std::int64_t* pt = target.data<std::int64_t>();
  const std::vector<double> lp = log_probs.to_vector();
  std::vector<double> rows(N, 0.0);
  double denom = 0.0;
  for (std::size_t i = 0; i < N; ++i) {
    if (pt[i] == ignore) continue;
    const std::size_t t = static_cast<std::size_t>(pt[i]);
    rows[i] = -wv[t] * lp[i * C + t];
    denom += wv[t];
  }
  Tensor out = reduced_output(rows, reduction, denom, log_probs.dtype());
  Tensor td = target.detach();
  return record(out, op, {log_probs}, [log_probs, td, wv, ignore, reduction, denom, N, C, op](const Tensor& g) {
    Tensor dx = zeros(log_probs.shape(), log_probs.dtype());
    const std::vector<double> gv = g.to_vector();
    const std::int64_t* pt = td.data<std::int64_t>();
    detail::dispatch_float(log_probs.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      T* pd = detail::ptr<T>(dx);
      for (std::size_t i = 0; i < N; ++i) {
        if (pt[i] == ignore) continue;
        const std::size_t t = static_cast<std::size_t>(pt[i]);
        pd[i * C + t] = static_cast<T>(-wv[t] * row_factor(gv.data(), i, reduction, denom));
      }
    });
    accumulate_grad(log_probs, dx);
  });
}

}  // namespace hf
