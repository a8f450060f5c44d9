// DeepRC's training batches (see optim/repertoire_batches.h).
#include "hopfield/optim/repertoire_batches.h"

#include <algorithm>
#include <cmath>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/metrics.h"

namespace hf {

std::vector<std::size_t> repertoire_order(const std::vector<std::size_t>& train, const std::vector<std::int64_t>& y,
                                          std::uint64_t seed, std::uint64_t epoch, bool balanced) {
  if (!balanced) return shuffled(train, seed, epoch);
  std::vector<std::size_t> pos, neg, out;
  for (std::size_t i : shuffled(train, seed, epoch)) (y.at(i) == 1 ? pos : neg).push_back(i);
  for (std::size_t k = 0; k < std::max(pos.size(), neg.size()); ++k) {
    if (k < pos.size()) out.push_back(pos[k]);
    if (k < neg.size()) out.push_back(neg[k]);
  }
  return out;
}

RepertoireBatches::RepertoireBatches(RepertoireNet& net, const RepertoireDataset& ds, const std::vector<std::size_t>& train,
                                     const std::vector<std::int64_t>& y, RepertoireBatchesOptions options)
    : net_(net), ds_(ds), train_(train), y_(y), o_(options), sampler_(options.seed() ^ 0x9e3779b97f4a7c15ULL),
      sizes_(ds.size(), 0) {
  const char* op = "RepertoireBatches";
  HF_CHECK(!train.empty(), op, "no training repertoires");
  HF_CHECK(y.size() == ds.size(), op, y.size() << " labels for " << ds.size() << " repertoires");
  HF_CHECK(o_.batch_size() >= 1, op, "batch_size must be >= 1");
  HF_CHECK(o_.keep() > 0 && o_.keep() <= 1, op, "keep must be in (0, 1], got " << o_.keep());
  for (std::size_t i : train) HF_CHECK(i < ds.size(), op, "repertoire " << i << " out of range for " << ds.size());
  // Rank 0's parameters and buffers on every rank; the gradients are summed in grad_hook().
  if (o_.data_parallel() && distributed::get_world_size() > 1) dp_ = std::make_unique<DataParallel>(net_);
  for (const Tensor& p : net_.parameters())
    if (p.requires_grad()) {
      HF_CHECK(p.dtype() == Dtype::Float32 || p.dtype() == Dtype::Float64, op, "parameters must be float32 or float64");
      params_.push_back(p);
      sums_.push_back(zeros(p.shape(), Dtype::Float64));
    }
  reached_.assign(params_.size(), 0);
}

RepertoireBatches& RepertoireBatches::observer(Observer f) {
  observer_ = std::move(f);
  return *this;
}

std::size_t RepertoireBatches::begin_epoch(std::int64_t epoch) {
  const auto e = static_cast<std::uint64_t>(epoch);
  order_ = repertoire_order(train_, y_, o_.seed(), e, o_.balanced());
  keep_ = e <= o_.warmup_epochs() ? 1.0 : o_.keep();
  HF_CHECK(pending_ == 0, "RepertoireBatches.begin_epoch",
           "the last step group had no grad_hook call: the Trainer needs grad_hook(batches.grad_hook()) and accumulate("
               << o_.batch_size() << ")");
  losses_.assign(order_.size(), 0.0);
  scores_.assign(order_.size(), 0.0);
  known_.assign(order_.size(), 0);
  if (dp_) share_steps();
  return order_.size();
}

void RepertoireBatches::share_steps() {
  // A repertoire's cost: the sequences it sends through the network. Every rank needs every size (the first
  // epoch reads each training repertoire once for it).
  std::vector<std::size_t> cost(order_.size());
  for (std::size_t k = 0; k < order_.size(); ++k) {
    std::size_t& n = sizes_[order_[k]];
    if (n == 0) n = std::max<std::size_t>(1, ds_.read(order_[k]).sequences.size());
    cost[k] = o_.subsample() > 0 ? std::min(n, o_.subsample()) : n;
  }
  const std::size_t bs = o_.batch_size(), world = static_cast<std::size_t>(dp_->world_size());
  owner_.assign(order_.size(), 0);
  for (std::size_t first = 0; first < order_.size(); first += bs) {
    // Largest first, each to the rank with the least so far (ties: the lower position, the lower rank).
    std::vector<std::size_t> at(std::min(bs, order_.size() - first));
    for (std::size_t j = 0; j < at.size(); ++j) at[j] = first + j;
    std::stable_sort(at.begin(), at.end(), [&](std::size_t x, std::size_t y) { return cost[x] > cost[y]; });
    std::vector<std::size_t> load(world, 0);
    for (std::size_t k : at) {
      const auto r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      owner_[k] = static_cast<int>(r);
      load[r] += cost[k];
    }
  }
}

BatchLoss RepertoireBatches::loss(std::size_t k) {
  const char* op = "RepertoireBatches.loss";
  HF_CHECK(k < order_.size(), op, "repertoire " << k << " of an epoch of " << order_.size());
  const std::size_t bs = o_.batch_size(), i = order_[k], first = k / bs * bs, group = std::min(bs, order_.size() - first);
  // The previous group's gradient must have gone through grad_hook() (and the optimizer's step) by now.
  HF_CHECK(k != first || pending_ == 0, op,
           "the Trainer needs grad_hook(batches.grad_hook()) and accumulate(batch_size = " << bs << ")");
  if (k == first) {
    // The last step's gradient is spent: this group starts from none (whatever the Trainer's zero_grad).
    for (Tensor& p : params_) p.zero_grad();
  } else {
    take_gradients();  // the previous repertoire's, left by the Trainer's backward
  }
  ++pending_;
  last_ = k;
  BatchLoss out;
  if (!dp_ || owner_[k] == dp_->rank()) {
    Repertoire sub = ds_.read(i);
    sizes_[i] = std::max<std::size_t>(1, sub.sequences.size());
    subsample_repertoire(sub, o_.subsample(), sampler_);
    const RepertoireForward f = net_.forward_top(encode_repertoires({&sub}), keep_);
    if (observer_) observer_(i, sub, f);
    const Tensor target = from_vector({static_cast<double>(y_[i])}, {1}, f.logit.dtype());
    out.loss = binary_cross_entropy_with_logits(f.logit, target) / static_cast<double>(group);
    losses_[k] = out.loss.item();
    scores_[k] = f.logit.item();
    known_[k] = 1;
  } else {
    // Another rank's repertoire: its subsample's draws, and a zero loss that reaches no parameter.
    skip_subsample(sizes_[i], o_.subsample(), sampler_);
    out.loss = zeros({}, Dtype::Float64);
    out.loss.requires_grad_(true);
    out.weight = 0;
  }
  if (dp_ && k + 1 == order_.size()) exchange();
  return out;
}

void RepertoireBatches::exchange() {
  std::vector<double> mine;  // (position, loss, logit) of this rank's repertoires
  for (std::size_t k = 0; k < order_.size(); ++k)
    if (known_[k]) mine.insert(mine.end(), {static_cast<double>(k), losses_[k], scores_[k]});
  const std::vector<double> all = distributed::all_gather(mine);
  for (std::size_t j = 0; j + 2 < all.size(); j += 3) {
    const auto k = static_cast<std::size_t>(all[j]);
    losses_.at(k) = all[j + 1];
    scores_.at(k) = all[j + 2];
    known_.at(k) = 1;
  }
}

Trainer::GradHook RepertoireBatches::grad_hook() {
  return [this](Module& model) {
    const std::size_t bs = o_.batch_size();
    HF_CHECK(pending_ > 0 && ((last_ + 1) % bs == 0 || last_ + 1 == order_.size()), "RepertoireBatches.grad_hook",
             "called after repertoire " << last_ << " of an epoch of " << order_.size()
                                        << ", not at the end of a step group of batch_size " << bs
                                        << " (the Trainer needs accumulate(" << bs << "))");
    HF_CHECK(&model == static_cast<Module*>(&net_), "RepertoireBatches.grad_hook", "given another model than its own");
    pending_ = 0;
    take_gradients();  // the group's last repertoire
    if (dp_) {
      // One all-reduce per step: which parameters any rank reached, and the float64 sums.
      Tensor head = empty({params_.size()}, Dtype::Float64);
      for (std::size_t j = 0; j < params_.size(); ++j) head.data<double>()[j] = reached_[j];
      std::vector<Tensor> all{head};
      all.insert(all.end(), sums_.begin(), sums_.end());
      distributed::all_reduce(all, distributed::ReduceOp::Sum);
      for (std::size_t j = 0; j < params_.size(); ++j) reached_[j] = head.data<double>()[j] > 0;
    }
    for (std::size_t j = 0; j < params_.size(); ++j) {
      double* s = sums_[j].data<double>();
      const std::size_t n = sums_[j].numel();
      if (reached_[j]) {  // else no gradient, as in a plain backward: the optimizer skips the parameter
        Tensor g = empty(params_[j].shape(), params_[j].dtype());
        if (g.dtype() == Dtype::Float32) {
          float* d = g.data<float>();
          for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
        } else {
          std::copy(s, s + n, g.data<double>());
        }
        params_[j].set_grad(g);
      }
      std::fill(s, s + n, 0.0);
      reached_[j] = 0;
    }
  };
}

void RepertoireBatches::take_gradients() {
  for (std::size_t j = 0; j < params_.size(); ++j) {
    const Tensor g = params_[j].grad();
    if (!g.defined()) continue;
    double* s = sums_[j].data<double>();
    const std::size_t n = g.numel();
    if (g.dtype() == Dtype::Float32) {
      const float* x = g.data<float>();
      for (std::size_t i = 0; i < n; ++i) s[i] += static_cast<double>(x[i]);
    } else {
      const double* x = g.data<double>();
      for (std::size_t i = 0; i < n; ++i) s[i] += x[i];
    }
    reached_[j] = 1;
    params_[j].zero_grad();
  }
}

// The epoch's loss as the mean over repertoires, summed per step group like the gradient (as one process does).
double RepertoireBatches::train_loss() const {
  const std::size_t bs = o_.batch_size();
  double sum = 0;
  std::size_t count = 0;
  for (std::size_t first = 0; first < order_.size(); first += bs) {
    const std::size_t group = std::min(bs, order_.size() - first);
    double step = 0;
    for (std::size_t k = first; k < first + group; ++k)
      if (known_[k]) step += losses_[k], ++count;
    sum += step * static_cast<double>(group);
  }
  return count == 0 ? 0.0 : sum / static_cast<double>(count);
}

double RepertoireBatches::train_auc() const {
  std::vector<double> scores;
  std::vector<std::int64_t> labels;
  for (std::size_t k = 0; k < order_.size(); ++k)
    if (known_[k]) scores.push_back(scores_[k]), labels.push_back(y_[order_[k]]);
  const auto npos = std::count(labels.begin(), labels.end(), 1);
  return npos > 0 && npos < static_cast<std::ptrdiff_t>(labels.size()) ? roc_auc(scores, labels) : std::nan("");
}

}  // namespace hf
