// DeepRC's training batches (see optim/repertoire_batches.h).
#include "hopfield/optim/repertoire_batches.h"

#include <algorithm>
#include <cmath>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
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
    : net_(net), ds_(ds), train_(train), y_(y), o_(options), sampler_(options.seed() ^ 0x9e3779b97f4a7c15ULL) {
  const char* op = "RepertoireBatches";
  HF_CHECK(!train.empty(), op, "no training repertoires");
  HF_CHECK(y.size() == ds.size(), op, y.size() << " labels for " << ds.size() << " repertoires");
  HF_CHECK(o_.batch_size() >= 1, op, "batch_size must be >= 1");
  HF_CHECK(o_.keep() > 0 && o_.keep() <= 1, op, "keep must be in (0, 1], got " << o_.keep());
  for (std::size_t i : train) HF_CHECK(i < ds.size(), op, "repertoire " << i << " out of range for " << ds.size());
}

RepertoireBatches& RepertoireBatches::observer(Observer f) {
  observer_ = std::move(f);
  return *this;
}

std::size_t RepertoireBatches::begin_epoch(std::int64_t epoch) {
  const auto e = static_cast<std::uint64_t>(epoch);
  order_ = repertoire_order(train_, y_, o_.seed(), e, o_.balanced());
  keep_ = e <= o_.warmup_epochs() ? 1.0 : o_.keep();
  loss_sum_ = step_loss_ = 0;
  scores_.clear();
  labels_.clear();
  return order_.size();
}

BatchLoss RepertoireBatches::loss(std::size_t k) {
  HF_CHECK(k < order_.size(), "RepertoireBatches.loss", "repertoire " << k << " of an epoch of " << order_.size());
  const std::size_t bs = o_.batch_size(), i = order_[k], group = std::min(bs, order_.size() - k / bs * bs);
  Repertoire sub = ds_.read(i);
  subsample_repertoire(sub, o_.subsample(), sampler_);
  const RepertoireForward f = net_.forward_top(encode_repertoires({&sub}), keep_);
  if (observer_) observer_(i, sub, f);
  const Tensor target = from_vector({static_cast<double>(y_[i])}, {1}, f.logit.dtype());
  Tensor l = binary_cross_entropy_with_logits(f.logit, target) / static_cast<double>(group);
  // The epoch's loss as the mean over repertoires, summed per step group like the gradient.
  step_loss_ += l.item();
  scores_.push_back(f.logit.item());
  labels_.push_back(y_[i]);
  if ((k + 1) % bs == 0 || k + 1 == order_.size()) {
    loss_sum_ += step_loss_ * static_cast<double>(group);
    step_loss_ = 0;
  }
  return BatchLoss{l};
}

double RepertoireBatches::train_loss() const {
  return labels_.empty() ? 0.0 : loss_sum_ / static_cast<double>(labels_.size());
}

double RepertoireBatches::train_auc() const {
  const auto npos = std::count(labels_.begin(), labels_.end(), 1);
  return npos > 0 && npos < static_cast<std::ptrdiff_t>(labels_.size()) ? roc_auc(scores_, labels_) : std::nan("");
}

}  // namespace hf
