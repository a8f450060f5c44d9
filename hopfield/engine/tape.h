// The reverse-mode autograd tape.
//
// Every op output that needs a gradient gets a Node: the op name, its inputs, and a backward closure
// written right below the op's forward. Nodes carry a sequence number from a global counter; since an op's
// inputs always exist before its output, sorting the reachable nodes by decreasing sequence number is a
// topological order, so backward() needs no recursion (deep graphs cannot overflow the stack).
// Backward closures ADD into input gradients through accumulate_grad (fan-out is then correct), and each
// node is released (closure, inputs and saved tensors dropped) as soon as it has run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

struct Node {
  std::uint64_t seq = 0;
  const char* op = "";
  std::vector<Tensor> inputs;  // for the traversal; closures capture what they use themselves
  BackwardFn backward;
  Tensor grad;                 // accumulated gradient of the node's output
  bool released = false;
};

// Gradient recording is on unless a NoGrad scope is alive (per thread).
bool grad_enabled();

class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

// True when t takes part in autograd and recording is on.
bool needs_grad(const Tensor& t);
bool any_needs_grad(const std::vector<Tensor>& ts);
// Inside a backward closure (where recording is off): does this input want a gradient at all?
inline bool wants_grad(const Tensor& t) { return t.defined() && t.impl()->requires_grad; }

// Attach a backward to a freshly computed output when any input needs a gradient; otherwise return out
// untouched. The closure must not capture `out` itself (use out.detach()): that would be a cycle.
Tensor record(Tensor out, const char* op, std::vector<Tensor> inputs, BackwardFn backward);

// grad(t) += g. No-op when t does not require a gradient. g must have t's shape and dtype.
void accumulate_grad(const Tensor& t, const Tensor& g);

// Runs the backward pass from `root` seeded with grad_output, then releases the graph.
void run_backward(const Tensor& root, const Tensor& grad_output);

// Opt-in anomaly mode: every recorded op output is checked for NaN/Inf and the first offender throws
// with the op's name (slow; for debugging).
void set_anomaly_detection(bool on);
bool anomaly_detection();

}  // namespace hf
