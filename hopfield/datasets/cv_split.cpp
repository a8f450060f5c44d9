// Stratified k-fold splits, seeded shuffles, batching of index lists.
#include "hopfield/datasets/cv_split.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"

namespace hf {

namespace {
// SplitMix64 finaliser: turns (seed, epoch) into well-separated generator seeds.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

template <class T>
void fisher_yates(std::vector<T>& v, Generator& g) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[g.below(i)]);
}
}  // namespace

std::vector<std::size_t> iota_indices(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

std::vector<Fold> stratified_kfold(const std::vector<std::int64_t>& labels, std::size_t k, std::uint64_t seed) {
  const std::size_t n = labels.size();
  HF_CHECK(k >= 2, "stratified_kfold", "k must be at least 2, got " << k);
  HF_CHECK(k <= n, "stratified_kfold", "k = " << k << " folds need at least k samples, got " << n);
  std::map<std::int64_t, std::vector<std::size_t>> by_class;  // ordered: the result must not depend on hashing
  for (std::size_t i = 0; i < n; ++i) by_class[labels[i]].push_back(i);
  Generator g(mix(seed));
  std::vector<Fold> folds(k);
  std::size_t next = 0;
  for (auto& [label, members] : by_class) {
    fisher_yates(members, g);
    for (std::size_t i : members) {
      folds[next].test.push_back(i);
      next = (next + 1) % k;
    }
  }
  for (std::size_t f = 0; f < k; ++f) {
    std::sort(folds[f].test.begin(), folds[f].test.end());
    std::vector<char> in_test(n, 0);
    for (std::size_t i : folds[f].test) in_test[i] = 1;
    for (std::size_t i = 0; i < n; ++i)
      if (!in_test[i]) folds[f].train.push_back(i);
  }
  return folds;
}

std::vector<std::size_t> shuffled(std::vector<std::size_t> indices, std::uint64_t seed, std::uint64_t epoch) {
  Generator g(mix(mix(seed) ^ epoch));
  fisher_yates(indices, g);
  return indices;
}

std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& order, std::size_t batch_size,
                                                   bool drop_last) {
  HF_CHECK(batch_size > 0, "make_batches", "batch_size must be positive");
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < order.size(); i += batch_size) {
    std::size_t end = std::min(order.size(), i + batch_size);
    if (drop_last && end - i < batch_size) break;
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i), order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

}  // namespace hf
