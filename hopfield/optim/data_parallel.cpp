// Data parallelism: shards and the weighted gradient all-reduce (see optim/data_parallel.h).
#include "hopfield/optim/data_parallel.h"

#include <type_traits>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/distributed.h"

namespace hf {

DataParallel::DataParallel(Module& model, DataParallelOptions options)
    : o_(std::move(options)), rank_(distributed::get_rank()), world_(distributed::get_world_size()) {
  if (o_.broadcast_parameters()) distributed::broadcast_module(model, 0);
}

std::pair<std::size_t, std::size_t> DataParallel::shard_range(std::size_t n) const {
  const auto w = static_cast<std::size_t>(world_), r = static_cast<std::size_t>(rank_);
  const std::size_t base = n / w, extra = n % w;
  const std::size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

BatchLoss DataParallel::record(BatchLoss bl) {
  HF_CHECK(bl.weight >= 0, "DataParallel.loss", "a shard's weight must be >= 0 (its rows), got " << bl.weight);
  weight_ += bl.weight;
  if (bl.weight == 0 && !bl.loss.defined()) {
    // An empty shard: a constant the Trainer can check and back-propagate through; it reaches no parameter.
    bl.loss = zeros({}, Dtype::Float64);
    bl.loss.requires_grad_(true);
  }
  HF_CHECK(bl.loss.defined(), "DataParallel.loss", "the loss function returned no loss for a shard of weight " << bl.weight);
  return bl;
}

namespace {
// dst = src * scale, element by element in double (one rounding for float32), zeros without src.
void scaled_copy(Tensor& dst, const Tensor& src, double scale) {
  const auto go = [&](auto zero) {
    using T = decltype(zero);
    T* d = dst.data<T>();
    if (!src.defined()) {
      std::fill(d, d + dst.numel(), T(0));
      return;
    }
    const Tensor s = src.dtype() == dst.dtype() ? src : src.to(dst.dtype());
    const T* p = s.data<T>();
    for (std::size_t i = 0; i < dst.numel(); ++i) d[i] = static_cast<T>(static_cast<double>(p[i]) * scale);
  };
  if (dst.dtype() == Dtype::Float64) go(double{});
  else go(float{});
}
}  // namespace

void DataParallel::reduce_gradients(Module& model) {
  const double w = weight_;
  weight_ = 0;
  if (world_ <= 1) return;  // one process: the gradient already is the global batch's
  std::vector<Tensor> params;
  for (const Tensor& p : model.parameters())
    if (p.requires_grad()) {
      HF_CHECK(p.dtype() == Dtype::Float32 || p.dtype() == Dtype::Float64, "DataParallel",
               "parameters must be float32 or float64");
      params.push_back(p);
    }
  // One all-reduce (one bucket per dtype): a head [weight, has-gradient flag per parameter] and every
  // parameter's gradient times this rank's weight (zeros where this rank has none). A step thus waits for the
  // other ranks once, which matters when they share their cores with other work.
  Tensor head = empty({1 + params.size()}, Dtype::Float64);
  double* h = head.data<double>();
  h[0] = w;
  std::vector<Tensor> all{head};
  for (std::size_t i = 0; i < params.size(); ++i) {
    h[1 + i] = params[i].grad().defined() ? 1.0 : 0.0;
    Tensor g = empty(params[i].shape(), o_.float64_sums() ? Dtype::Float64 : params[i].dtype());
    scaled_copy(g, params[i].grad(), o_.average() ? w : 1.0);
    all.push_back(g);
  }
  distributed::all_reduce(all, distributed::ReduceOp::Sum, o_.bucket_elements());
  const double total = o_.average() ? h[0] : 1.0;
  if (o_.average() && total <= 0) return;  // every shard empty: no step has a gradient
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (h[1 + i] == 0) continue;  // no rank has a gradient: the optimizer skips it, as in one process
    const Tensor& sum = all[1 + i];
    Tensor g = sum.dtype() == params[i].dtype() ? sum : empty(params[i].shape(), params[i].dtype());
    scaled_copy(g, sum, 1.0 / total);
    params[i].set_grad(g);
  }
}

}  // namespace hf
