// Adam / AdamW steps (formulas in optim/adam.h). One loop serves both: `decoupled` selects AdamW's
// parameter decay over Adam's L2 term. Operation order follows torch so float64 results agree to rounding.
#include "hopfield/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "hopfield/engine/kernel.h"
#include "hopfield/engine/parallel.h"

namespace hf {

namespace {
template <class O>
void validate_adam(const O& o, const char* where) {
  HF_CHECK(o.lr() >= 0, where, "invalid learning rate " << o.lr() << " (must be >= 0)");
  HF_CHECK(o.eps() >= 0, where, "invalid eps " << o.eps() << " (must be >= 0)");
  HF_CHECK(o.betas().first >= 0 && o.betas().first < 1, where,
           "invalid beta1 " << o.betas().first << " (must be in [0, 1))");
  HF_CHECK(o.betas().second >= 0 && o.betas().second < 1, where,
           "invalid beta2 " << o.betas().second << " (must be in [0, 1))");
  HF_CHECK(o.weight_decay() >= 0, where, "invalid weight_decay " << o.weight_decay() << " (must be >= 0)");
}

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled;
};

// The flags are template parameters so the element loop has no branches and vectorises (with
// -fno-math-errno on this file, see CMakeLists: std::sqrt may then compile to a vector square root, which
// rounds exactly as the scalar one). `maximize` is a multiplication by -1, which is exact.
template <class T, bool Decoupled, bool L2, bool Amsgrad>
void adam_update(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v,
                 T* __restrict vmax, std::size_t n, const AdamHyper& h, std::int64_t step) {
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2), wd = static_cast<T>(h.weight_decay);
  const T decay = static_cast<T>(1 - h.lr * h.weight_decay);
  const T sign = h.maximize ? T(-1) : T(1);
  // torch evaluates the bias corrections in Python floats (double) and step_size = lr / bc1.
  const double bc1 = 1 - std::pow(h.beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(h.beta2, static_cast<double>(step));
  const T step_size = static_cast<T>(h.lr / bc1);
  const T bc2_sqrt = static_cast<T>(std::sqrt(bc2));
  const T eps = static_cast<T>(h.eps);
  for (std::size_t i = 0; i < n; ++i) {
    T g = sign * grad[i];
    T pi = p[i];
    if constexpr (Decoupled) pi = pi * decay;
    if constexpr (L2) g = g + wd * pi;
    const T mi = m[i] * b1 + (1 - b1) * g;
    const T vi = v[i] * b2 + (1 - b2) * (g * g);
    m[i] = mi;
    v[i] = vi;
    T second = vi;
    if constexpr (Amsgrad) second = vmax[i] = std::max(vmax[i], vi);
    const T denom = std::sqrt(second) / bc2_sqrt + eps;
    p[i] = pi + (-step_size) * (mi / denom);
  }
}

template <class T>
void adam_update(T* p, const T* grad, T* m, T* v, T* vmax, std::size_t n, const AdamHyper& h, std::int64_t step) {
  const bool l2 = !h.decoupled && h.weight_decay != 0;
  if (h.decoupled) {
    if (vmax) adam_update<T, true, false, true>(p, grad, m, v, vmax, n, h, step);
    else adam_update<T, true, false, false>(p, grad, m, v, vmax, n, h, step);
  } else if (l2) {
    if (vmax) adam_update<T, false, true, true>(p, grad, m, v, vmax, n, h, step);
    else adam_update<T, false, true, false>(p, grad, m, v, vmax, n, h, step);
  } else {
    if (vmax) adam_update<T, false, false, true>(p, grad, m, v, vmax, n, h, step);
    else adam_update<T, false, false, false>(p, grad, m, v, vmax, n, h, step);
  }
}

void adam_step_one(Tensor& p, const Tensor& grad, ParamState& st, const AdamHyper& h, const char* op) {
  if (!st.count("step")) {
    st["step"] = from_indices({0}, {});
    st["exp_avg"] = zeros(p.shape(), p.dtype());
    st["exp_avg_sq"] = zeros(p.shape(), p.dtype());
  }
  if (h.amsgrad && !st.count("max_exp_avg_sq")) st["max_exp_avg_sq"] = zeros(p.shape(), p.dtype());
  const std::int64_t step = ++st["step"].data<std::int64_t>()[0];
  Tensor m = st["exp_avg"], v = st["exp_avg_sq"];
  Tensor vmax = h.amsgrad ? st["max_exp_avg_sq"] : Tensor();
  detail::dispatch_float(p.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T *pp = p.data<T>(), *pm = m.data<T>(), *pv = v.data<T>(), *pvm = vmax.defined() ? vmax.data<T>() : nullptr;
    const T* pg = grad.data<T>();
    // Elementwise: chunks on the engine's threads give the same result as one pass.
    parallel_for(p.numel(), 32768, [&](std::size_t b, std::size_t e) {
      adam_update<T>(pp + b, pg + b, pm + b, pv + b, pvm ? pvm + b : nullptr, e - b, h, step);
    });
  });
}
}  // namespace

void AdamOptions::validate(const char* where) const { validate_adam(*this, where); }
void AdamWOptions::validate(const char* where) const { validate_adam(*this, where); }

void Adam::step() {
  for_each_with_grad([&](std::size_t g, std::size_t, Tensor& p, const Tensor& grad, ParamState& st) {
    const AdamOptions& o = options_[g];
    AdamHyper h{o.lr(), o.betas().first, o.betas().second, o.eps(), o.weight_decay(), o.amsgrad(), o.maximize(), false};
    adam_step_one(p, grad, st, h, "Adam.step");
  });
}

void AdamW::step() {
  for_each_with_grad([&](std::size_t g, std::size_t, Tensor& p, const Tensor& grad, ParamState& st) {
    const AdamWOptions& o = options_[g];
    AdamHyper h{o.lr(), o.betas().first, o.betas().second, o.eps(), o.weight_decay(), o.amsgrad(), o.maximize(), true};
    adam_step_one(p, grad, st, h, "AdamW.step");
  });
}

}  // namespace hf
