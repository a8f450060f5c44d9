// Cross-validation splits and per-epoch shuffling, all driven by explicit seeds so that a run can be
// repeated exactly.
//
// Legend: n samples (bags, rows, repertoires), k folds, C classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hf {

struct Fold {
  std::vector<std::size_t> train;  // sorted sample indices
  std::vector<std::size_t> test;   // sorted sample indices
};

// Stratified k-fold: the samples of every class are shuffled (Generator(seed)) and dealt round-robin to the
// folds, continuing where the previous class stopped, so each fold holds floor or ceil of n_c / k samples of
// class c and the fold sizes differ by at most one. The k test sets partition 0..n-1; fold i trains on the
// rest. Same labels + seed -> same folds. Throws hf::Error for k < 2 or k > n.
std::vector<Fold> stratified_kfold(const std::vector<std::int64_t>& labels, std::size_t k, std::uint64_t seed);

// A seeded permutation of `indices` for epoch `epoch`: different epochs give different orders, the same
// (seed, epoch) always the same one.
std::vector<std::size_t> shuffled(std::vector<std::size_t> indices, std::uint64_t seed, std::uint64_t epoch = 0);

// Consecutive chunks of `order` of size batch_size (the last one shorter unless drop_last).
std::vector<std::vector<std::size_t>> make_batches(const std::vector<std::size_t>& order, std::size_t batch_size,
                                                   bool drop_last = false);

// 0..n-1.
std::vector<std::size_t> iota_indices(std::size_t n);

}  // namespace hf
