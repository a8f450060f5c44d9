// Classification metrics (definitions in optim/metrics.h).
#include "hopfield/optim/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "hopfield/engine/check.h"

namespace hf {

namespace {
void check_pair(std::size_t a, std::size_t b, const char* op) {
  HF_CHECK(a > 0, op, "no samples");
  HF_CHECK(a == b, op, "predictions have " << a << " samples, labels " << b);
}
}  // namespace

double roc_auc(const std::vector<double>& scores, const Labels& y) {
  const char* op = "roc_auc";
  check_pair(scores.size(), y.size(), op);
  const std::size_t n = y.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    HF_CHECK(y[i] == 0 || y[i] == 1, op, "label " << y[i] << " at " << i << " is not 0 or 1");
    HF_CHECK(!std::isnan(scores[i]), op, "score at " << i << " is NaN");
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // 1-based ranks; a run of equal scores gets the average of the ranks it spans.
  double pos_rank_sum = 0;
  std::size_t positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2;
    for (std::size_t k = i; k <= j; ++k)
      if (y[order[k]] == 1) pos_rank_sum += avg, ++positives;
    i = j + 1;
  }
  const std::size_t negatives = n - positives;
  HF_CHECK(positives > 0 && negatives > 0, op,
           "needs both classes in y_true (got " << positives << " positives, " << negatives << " negatives)");
  const double P = static_cast<double>(positives), N = static_cast<double>(negatives);
  return (pos_rank_sum - P * (P + 1) / 2) / (P * N);
}

double accuracy(const Labels& pred, const Labels& y) {
  check_pair(pred.size(), y.size(), "accuracy");
  std::size_t hit = 0;
  for (std::size_t i = 0; i < y.size(); ++i) hit += pred[i] == y[i];
  return static_cast<double>(hit) / static_cast<double>(y.size());
}

double accuracy_at(const std::vector<double>& p, const Labels& y, double threshold) {
  Labels pred(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) pred[i] = p[i] >= threshold ? 1 : 0;
  return accuracy(pred, y);
}

double ensemble_accuracy(const std::vector<const std::vector<double>*>& members, const Labels& y, std::size_t classes) {
  HF_CHECK(!members.empty() && classes > 0, "ensemble_accuracy", "needs at least one member and one class");
  for (const auto* m : members)
    HF_CHECK(m && m->size() == y.size() * classes, "ensemble_accuracy",
             "a member holds " << (m ? m->size() : 0) << " probabilities for " << y.size() << " rows x " << classes
                               << " classes");
  Labels pred(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    std::size_t arg = 0;
    double best = -1;
    for (std::size_t c = 0; c < classes; ++c) {
      double p = 0;
      for (const auto* m : members) p += (*m)[i * classes + c];
      if (p > best) best = p, arg = c;
    }
    pred[i] = static_cast<std::int64_t>(arg);
  }
  return accuracy(pred, y);
}

double multiclass_log_loss(const std::vector<double>& p, const Labels& y, std::size_t classes, double eps) {
  const char* op = "multiclass_log_loss";
  HF_CHECK(!y.empty() && p.size() == y.size() * classes, op,
           p.size() << " probabilities for " << y.size() << " rows x " << classes << " classes");
  double l = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    HF_CHECK(y[i] >= 0 && static_cast<std::size_t>(y[i]) < classes, op, "label " << y[i] << " at " << i << " out of range");
    l -= std::log(std::max(p[i * classes + static_cast<std::size_t>(y[i])], eps));
  }
  return l / static_cast<double>(y.size());
}

MeanStd mean_and_std(const std::vector<double>& v) {
  HF_CHECK(!v.empty(), "mean_and_std", "no values");
  MeanStd r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  for (double x : v) r.std += (x - r.mean) * (x - r.mean);
  r.std = v.size() > 1 ? std::sqrt(r.std / static_cast<double>(v.size() - 1)) : 0.0;
  return r;
}

std::vector<bool> within_one_standard_error(const std::vector<double>& acc, std::size_t n) {
  HF_CHECK(!acc.empty(), "within_one_standard_error", "no accuracies");
  HF_CHECK(n > 0, "within_one_standard_error", "n = 0 validation samples");
  for (std::size_t i = 0; i < acc.size(); ++i)
    HF_CHECK(acc[i] >= 0 && acc[i] <= 1, "within_one_standard_error",
             "accuracy " << acc[i] << " of model " << i << " is outside [0, 1]");
  const double p = *std::max_element(acc.begin(), acc.end());
  const double se = std::sqrt(p * (1 - p) / static_cast<double>(n));
  std::vector<bool> keep(acc.size());
  // 1e-12: an accuracy that equals p - se up to rounding counts as within.
  for (std::size_t i = 0; i < acc.size(); ++i) keep[i] = acc[i] >= p - se - 1e-12;
  return keep;
}

double balanced_accuracy(const Labels& pred, const Labels& y) {
  check_pair(pred.size(), y.size(), "balanced_accuracy");
  std::set<std::int64_t> classes(y.begin(), y.end());
  double sum = 0;
  for (std::int64_t c : classes) {
    std::size_t total = 0, hit = 0;
    for (std::size_t i = 0; i < y.size(); ++i)
      if (y[i] == c) ++total, hit += pred[i] == c;
    sum += static_cast<double>(hit) / static_cast<double>(total);
  }
  return sum / static_cast<double>(classes.size());
}

double f1_score(const Labels& pred, const Labels& y, std::int64_t positive) {
  check_pair(pred.size(), y.size(), "f1_score");
  double tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool p = pred[i] == positive, t = y[i] == positive;
    tp += p && t;
    fp += p && !t;
    fn += !p && t;
  }
  return tp + fp + fn == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

double log_loss(const std::vector<double>& prob, const Labels& y, double eps) {
  const char* op = "log_loss";
  check_pair(prob.size(), y.size(), op);
  HF_CHECK(eps > 0 && eps < 0.5, op, "invalid eps " << eps << " (must be in (0, 0.5))");
  double sum = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    HF_CHECK(y[i] == 0 || y[i] == 1, op, "label " << y[i] << " at " << i << " is not 0 or 1");
    HF_CHECK(prob[i] >= 0 && prob[i] <= 1, op, "probability " << prob[i] << " at " << i << " is outside [0, 1]");
    const double p = std::clamp(prob[i], eps, 1 - eps);
    sum += y[i] == 1 ? -std::log(p) : -std::log(1 - p);
  }
  return sum / static_cast<double>(y.size());
}

std::vector<std::vector<std::int64_t>> confusion_matrix(const Labels& pred, const Labels& y, std::size_t k) {
  const char* op = "confusion_matrix";
  check_pair(pred.size(), y.size(), op);
  std::vector<std::vector<std::int64_t>> m(k, std::vector<std::int64_t>(k, 0));
  for (std::size_t i = 0; i < y.size(); ++i) {
    HF_CHECK(y[i] >= 0 && static_cast<std::size_t>(y[i]) < k && pred[i] >= 0 && static_cast<std::size_t>(pred[i]) < k,
             op, "sample " << i << " has label " << y[i] << " / prediction " << pred[i] << " outside [0, " << k << ")");
    ++m[static_cast<std::size_t>(y[i])][static_cast<std::size_t>(pred[i])];
  }
  return m;
}

Labels to_labels(const Tensor& t) {
  HF_CHECK(t.defined(), "to_labels", "the tensor is undefined");
  Labels out;
  out.reserve(t.numel());
  for (double v : t.to_vector()) out.push_back(static_cast<std::int64_t>(std::llround(v)));
  return out;
}
}  // namespace hf
