// The members of a UCI ensemble (program hopfield-uci): the tabular Hopfield classifier (TabularHopfieldNet),
// how it trains and is evaluated on one split of a UciDataset (train_uci_member), and the untrained retrieval
// member (run_uci_retrieval). Each returns the member's class probabilities on the split's validation and
// test rows, which an ensemble averages.
//
//   UciMemberConfig c;  c.model = "memory";
//   UciSplitResult r = train_uci_member(load_uci("uci121/iris"), 0, c, 1);  // r.test_accuracy, r.test_prob
//
//   x (B, d) --[piecewise-linear encoding, `--bins`]--> (B, D) --Linear -> SELU -> Dropout--> h (B, w)
//   --as one state pattern (B, 1, w)--> Hopfield association with a memory --> (B, w)
//   --[h + memory output]--> Linear(w, C) --> logits
//   loss: cross-entropy; Adam; early stopping on the split's validation rows (accuracy, ties by loss).
//
// Three memories, all used (`--model` for a single one):
//   prototypes  HopfieldLayer: q trainable lookup patterns (a learned associative memory, hflayers'
//               HopfieldLayer), shared by all queries.
//   memory      the embedded TRAINING rows themselves are the stored patterns (a soft nearest-neighbour
//               lookup in the learned space; a row never retrieves itself: association mask), with up
//               to `--memory-size` rows drawn per step.
//   retrieval   nothing trained: the paper's Hopfield network (layers/memory.h) stores all standardised
//               training rows and one update reads out their labels (run_uci_retrieval; beta on validation).
// Alone, the two trained ones score about the same (49 small datasets: 0.780 / 0.776 on raw features, 0.794 /
// 0.794 with 8 bins), the retrieval 0.786; they err on different rows, so averaging them is better.
//
// Input encoding (datasets/piecewise_linear.h): every standardised feature is kept and followed by up to
// `--bins` piecewise-linear bin activations with edges from the split's training rows. Many of these tables
// code categories as numbers (flags, molec-biol-promoter, hayes-roth, teaching); with the bins a linear layer
// can read each category separately. Single models on the 49 small datasets: raw 0.776-0.780, 8 bins
// 0.788-0.794, 16 bins 0.786-0.793; six-model ensembles, raw -> 8 bins: flags 0.43 -> 0.54,
// molec-biol-promoter 0.77 -> 0.84, hayes-roth 0.78 -> 0.88.
//
// Legend: B rows in a batch, d features, w embedding width, q prototypes, S stored training rows,
// C classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hopfield/datasets/uci.h"
#include "hopfield/layers/models/tabular_hopfield.h"

namespace hf {

// One trained member's settings (hopfield-uci's command line and grid fill them).
struct UciMemberConfig {
  std::string model = "prototypes";
  std::size_t width = 128;
  std::size_t heads = 4;
  std::size_t hidden = 32;
  std::size_t prototypes = 64;      // q
  std::size_t memory_size = 512;    // stored training rows per step (model memory)
  double scaling = 0.0;             // 0 = 1/sqrt(hidden)
  double dropout = 0.1;
  double lr = 1e-3;
  double weight_decay = 1e-5;
  std::size_t batch_size = 32;
  std::size_t epochs = 100;
  std::size_t patience = 10;
  std::size_t max_steps = 3000;     // per split: large datasets stop here (epochs are long)
  std::size_t min_epoch_rows = 1024;
  std::size_t bins = 8;             // piecewise-linear encoding of each feature (0 = raw features only)
  std::string ensemble = "se";      // which grid candidates are averaged: se, all or K (uci_ensemble_members, uci_ensemble.h)
};

// The TabularHopfieldNet of a member for d encoded features and `classes` classes, initialised from seed.
TabularHopfieldNetOptions uci_net_options(std::size_t d, std::size_t classes, const UciMemberConfig& c,
                                          std::uint64_t seed);

// One epoch of a trained member: mean training loss over its steps, then loss and accuracy on the validation rows.
struct UciMemberEpoch {
  std::size_t epoch;
  double train_loss, val_loss, val_accuracy;
};

struct UciSplitResult {
  double test_accuracy = 0, val_accuracy = 0, val_loss = 0;
  std::vector<UciMemberEpoch> history;  // per epoch trained (empty for the retrieval member, which does not train)
  double beta = 0;  // the retrieval member's b (0 for trained members)
  std::size_t best_epoch = 0;
  std::vector<double> val_prob, test_prob;  // (rows, C) class probabilities, row-major
};

// Trains a member with config c on split k of ds (standardiser and bin edges from the split's training rows;
// Adam; early stopping on the validation rows' accuracy, ties by loss; weights, batches and memory samples
// from seed) and evaluates it on the validation and test rows. Throws naming the dataset when a part of the
// split is empty.
UciSplitResult train_uci_member(const UciDataset& ds, std::size_t k, const UciMemberConfig& c, std::uint64_t seed);

// The retrieval member: the paper's Hopfield network itself as a classifier, nothing trained
// (layers/retrieval_classifier.h): the stored patterns are the split's standardised training rows, one
// update with their one-hot labels as values gives the class probabilities, and the association weighs
// stored rows by distance, softmax(-beta/2 ||xi - y||^2). beta = 2 b / d (b per feature), with b from a
// fixed grid chosen on the split's validation rows (ties: the smaller b, the smoother model), the grid:
inline constexpr double kUciRetrievalB[] = {0.3, 1, 3, 10, 30, 100, 300};

UciSplitResult run_uci_retrieval(const UciDataset& ds, std::size_t k);

}  // namespace hf
