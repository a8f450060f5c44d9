// The autograd tape: recording, gradient accumulation, and the backward walk.
#include "hopfield/engine/tape.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"

namespace hf {

namespace {
thread_local bool g_grad_enabled = true;
std::atomic<std::uint64_t> g_next_seq{1};
std::atomic<bool> g_anomaly{false};

bool has_non_finite(const Tensor& t) {
  if (!is_floating(t.dtype())) return false;
  return detail::dispatch_float(t.dtype(), "anomaly", [&](auto tag) {
    using T = decltype(tag);
    const T* p = detail::ptr<T>(t);
    for (std::size_t i = 0, n = t.numel(); i < n; ++i)
      if (!std::isfinite(p[i])) return true;
    return false;
  });
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGrad::NoGrad() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = previous_; }

void set_anomaly_detection(bool on) { g_anomaly = on; }
bool anomaly_detection() { return g_anomaly; }

bool needs_grad(const Tensor& t) { return g_grad_enabled && t.defined() && t.impl()->requires_grad; }

bool any_needs_grad(const std::vector<Tensor>& ts) {
  return std::any_of(ts.begin(), ts.end(), [](const Tensor& t) { return needs_grad(t); });
}

Tensor record(Tensor out, const char* op, std::vector<Tensor> inputs, BackwardFn backward) {
  if (g_anomaly && has_non_finite(out))
    HF_FAIL("anomaly detection", "the output of " << op << " (shape " << shape_str(out.shape())
                                                  << ") contains NaN or Inf");
  if (!any_needs_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->seq = g_next_seq++;
  node->op = op;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

namespace {
// dst += src elementwise (same shape and dtype, checked by the caller).
void add_into(Tensor& dst, const Tensor& src) {
  // numel() hoisted out of the dispatched lambda: called inside it, the loop does not vectorise.
  const std::size_t n = dst.numel();
  detail::dispatch_float(dst.dtype(), "accumulate_grad", [&](auto tag) {
    using T = decltype(tag);
    T* d = detail::ptr<T>(dst);
    const T* s = detail::ptr<T>(src);
    for (std::size_t i = 0; i < n; ++i) d[i] += s[i];
  });
}

Tensor owned_copy(const Tensor& g) {
  Tensor c = detail::alloc(g.shape(), g.dtype());
  detail::dispatch_float(g.dtype(), "accumulate_grad", [&](auto tag) {
    using T = decltype(tag);
    std::memcpy(detail::ptr<T>(c), detail::ptr<T>(g), g.numel() * sizeof(T));
  });
  return c;
}

// True when nothing but the caller's handle can reach g's data: one handle on the TensorImpl, one owner
// of the storage (no view or detached alias), and g is not part of an autograd graph.
bool sole_owner(const Tensor& g) {
  const auto& impl = g.impl();
  return impl.use_count() == 1 && impl->owner.use_count() == 1 && !impl->requires_grad && !impl->grad_fn;
}

void accumulate_into(Tensor& slot, const Tensor& g) {
  // Later contributions are added in place, so the slot must own its storage. A freshly computed
  // gradient that nobody else sees is taken over as it is (no copy); otherwise the first contribution
  // is copied: g may be shared with other inputs' gradients (add passes the same tensor to both - the
  // first input then takes it, and the second sees a second handle and copies).
  if (slot.defined()) add_into(slot, g);
  else if (sole_owner(g)) slot = g;
  else slot = owned_copy(g);
}
}  // namespace

void accumulate_grad(const Tensor& t, const Tensor& g) {
  if (!t.defined() || !t.impl()->requires_grad) return;
  HF_CHECK(g.shape() == t.shape(), "accumulate_grad",
           "gradient of shape " << shape_str(g.shape()) << " for a tensor of shape " << shape_str(t.shape())
                                << (t.grad_fn() ? std::string(" (output of ") + t.grad_fn()->op + ")" : ""));
  HF_CHECK(g.dtype() == t.dtype(), "accumulate_grad",
           "gradient is " << dtype_name(g.dtype()) << ", tensor is " << dtype_name(t.dtype()));
  if (auto& node = t.impl()->grad_fn) {
    HF_CHECK(!node->released, "backward",
             "the graph through " << node->op
                                  << " was already released by an earlier backward(); recompute the forward");
    accumulate_into(node->grad, g);
  } else {
    accumulate_into(t.impl()->grad, g);
  }
}

void run_backward(const Tensor& root, const Tensor& grad_output) {
  HF_CHECK(root.requires_grad(), "backward",
           "the tensor of shape " << shape_str(root.shape())
                                  << " does not require grad (no input of its graph requires grad)");
  NoGrad no_grad;
  if (!root.grad_fn()) {
    accumulate_grad(root, grad_output);
    return;
  }
  // Collect the reachable nodes with an explicit stack, then order them by decreasing sequence number.
  // Owning pointers: releasing a node drops its inputs, which may hold the last reference to another node.
  std::vector<std::shared_ptr<Node>> order;
  std::vector<std::shared_ptr<Node>> stack{root.grad_fn()};
  std::unordered_set<Node*> seen{root.grad_fn().get()};
  while (!stack.empty()) {
    std::shared_ptr<Node> n = stack.back();
    stack.pop_back();
    HF_CHECK(!n->released, "backward",
             "the graph through " << n->op << " was already released by an earlier backward(); recompute the forward");
    order.push_back(n);
    for (const Tensor& in : n->inputs) {
      const std::shared_ptr<Node>* child = in.defined() ? &in.impl()->grad_fn : nullptr;
      if (child && *child && seen.insert(child->get()).second) stack.push_back(*child);
    }
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a->seq > b->seq; });
  accumulate_grad(root, grad_output);
  for (const auto& n : order) {
    if (n->grad.defined()) {
      Tensor g = std::move(n->grad);
      n->grad = Tensor();
      n->backward(g);
      if (g_anomaly && has_non_finite(g))
        HF_FAIL("anomaly detection", "the gradient flowing into " << n->op << " contains NaN or Inf");
    }
    // Release: drop the closure (and with it every saved tensor) and the links to the inputs.
    n->backward = nullptr;
    n->inputs.clear();
    n->released = true;
  }
}

}  // namespace hf
