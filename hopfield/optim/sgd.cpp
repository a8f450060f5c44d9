// SGD step (formulas in optim/sgd.h), raw loops over contiguous float/double buffers.
#include "hopfield/optim/sgd.h"

#include "hopfield/engine/kernel.h"

namespace hf {

void SGDOptions::validate(const char* where) const {
  HF_CHECK(lr() >= 0, where, "invalid learning rate " << lr() << " (must be >= 0)");
  HF_CHECK(momentum() >= 0, where, "invalid momentum " << momentum() << " (must be >= 0)");
  HF_CHECK(weight_decay() >= 0, where, "invalid weight_decay " << weight_decay() << " (must be >= 0)");
  HF_CHECK(!nesterov() || (momentum() > 0 && dampening() == 0), where,
           "nesterov requires momentum > 0 and dampening 0 (got momentum " << momentum() << ", dampening "
                                                                           << dampening() << ")");
}

namespace {
template <class T>
void sgd_update(T* p, const T* grad, T* buf, std::size_t n, const SGDOptions& o, bool first) {
  const T lr = static_cast<T>(o.lr()), wd = static_cast<T>(o.weight_decay()), mom = static_cast<T>(o.momentum());
  const T damp = static_cast<T>(1 - o.dampening());
  for (std::size_t i = 0; i < n; ++i) {
    T d = o.maximize() ? -grad[i] : grad[i];
    if (o.weight_decay() != 0) d = d + wd * p[i];
    if (buf) {
      buf[i] = first ? d : buf[i] * mom + damp * d;
      d = o.nesterov() ? d + mom * buf[i] : buf[i];
    }
    p[i] = p[i] + (-lr) * d;
  }
}
}  // namespace

void SGD::step() {
  for_each_with_grad([&](std::size_t g, std::size_t, Tensor& p, const Tensor& grad, ParamState& st) {
    const SGDOptions& o = options_[g];
    bool first = false;
    if (o.momentum() != 0 && !st.count("momentum_buffer")) {
      st["momentum_buffer"] = zeros(p.shape(), p.dtype());
      first = true;
    }
    Tensor buf = o.momentum() != 0 ? st["momentum_buffer"] : Tensor();
    detail::dispatch_float(p.dtype(), "SGD.step", [&](auto tag) {
      using T = decltype(tag);
      sgd_update<T>(p.data<T>(), grad.data<T>(), buf.defined() ? buf.data<T>() : nullptr, p.numel(), o, first);
    });
  });
}

}  // namespace hf
