// Runs of the hflayers demonstrations (ml-jku/hopfield-layers examples/bit_pattern and examples/latch_sequence;
// programs hopfield-bit-pattern and hopfield-latch): the six variants of the notebooks (the networks:
// hopfield/layers/models/demo_net.h), each trained with the notebooks' loop on hf::Trainer (AdamW lr 1e-3,
// batches of 32 in random order, BCE with logits, gradient norm clipped at 1, mean accuracy at threshold 0.5
// on a held-out set after every epoch), over one or several seeds, with a summary, a JSON record and, with an
// output folder, the per-epoch CSV and the notebooks' loss and accuracy plots per variant.
//
//   const BitPatternSet set = bit_pattern_bags(BitPatternOptions(2048, 16, 8));
//   DemoRunOptions o;
//   o.variants = "hopfield_pooling,hopfield_lookup";
//   nlohmann::json j = run_demo_variants("my-demo", set.bags, 250, 250, o);  // j["variants"][name]["mean"]
//
// Gradients: every step starts from zero gradients, as in the current bit-pattern notebook (ml-jku/hopfield-layers
// commit 5231d29 calls optimiser.zero_grad()); the first published notebooks never zeroed them, so their
// gradients added up over all steps before clipping; DemoRunOptions::accumulate reproduces that old loop.
// Legend: B bags/sequences in a batch, N instances per bag, d features, U distinct training instances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hopfield/datasets/mil.h"
#include "hopfield/layers/models/demo_net.h"

namespace hf {

// One setting of the notebooks.
struct DemoVariant {
  std::string name;
  DemoKind kind;
  bool adapted;
  std::size_t epochs;  // as in the reference notebook
  std::size_t id;      // position in the notebooks' order: seeds the variant, so --variants picks the same run
};

// The six settings of the notebooks, in their order (`lookup_epochs` for the two lookup variants).
std::vector<DemoVariant> demo_variants(std::size_t epochs, std::size_t lookup_epochs);

// Selects variants by a comma-separated list of names ("all" or empty = every one); throws hf::Error from
// `program` naming an unknown name and the choices.
std::vector<DemoVariant> select_demo_variants(const std::vector<DemoVariant>& all, const std::string& list,
                                              const std::string& program);

// The distinct instance rows of the given bags (the notebooks' `samples_unique`), sorted: the adapted lookup
// variant's stored patterns start at them.
std::vector<std::vector<double>> unique_instances(const MilDataset& ds, const std::vector<std::size_t>& bags);

// The settings of a run. The notebooks invite trying other adapted settings ("explore and try the new
// functionalities"): `adapted` overrides them.
struct DemoRunOptions {
  std::size_t epochs = 0;  // 0 = the notebook's
  std::size_t num_seeds = 1;
  std::string out_dir, variants = "all";
  bool json = false;  // print the JSON record as one line at the end
  std::size_t batch_size = 32;
  double lr = 1e-3;
  DemoNetOptions adapted{DemoKind::Association, 1, 1};  // only its adapted_* settings are used
  double clip = 1.0;
  std::uint64_t seed = 0;
  bool quiet = false;  // no per-epoch lines
  bool accumulate = false;  // the first notebooks' loop: gradients are never zeroed, they add up over all steps
  std::size_t embedding = 0;  // > 0: Linear(d, embedding) -> ReLU per instance in front of the Hopfield module
};

// One epoch of one variant: mean loss and accuracy over the training bags (as trained, in train mode) and on
// the held-out bags (eval mode).
struct DemoEpoch {
  std::size_t epoch;
  double train_loss, train_accuracy, eval_loss, eval_accuracy;
};

struct DemoVariantResult {
  std::string name;
  std::vector<DemoEpoch> epochs;
  double seconds = 0;
  std::size_t parameters = 0;  // trainable
};

// All variants of one seed.
struct DemoSeedRun {
  std::uint64_t seed;
  std::vector<DemoVariantResult> results;
};

// Trains one variant for `epochs` epochs on the `train` bags, scoring the `eval` bags after every epoch, with
// o.seed for the weights, the dropout masks and the batch order; prints one line per epoch unless o.quiet.
DemoVariantResult train_demo_variant(const DemoVariant& v, const MilDataset& ds, const std::vector<std::size_t>& train,
                                     const std::vector<std::size_t>& eval, std::size_t epochs,
                                     const DemoRunOptions& o);

// Into out_dir: metrics.csv, the per-epoch table of every variant so far (rewritten whole after each variant,
// so an interrupted run leaves the finished variants readable), and, for the last variant of a single seed's
// run, the notebooks' two panels (plot_performance: loss and accuracy, train and held-out, per epoch) as
// <variant>_loss.svg and <variant>_accuracy.svg. With `several` seeds the table gets a leading seed column and
// the plots are those of the first seed (written while it ran).
void write_demo_outputs(const std::string& out_dir, const std::vector<DemoSeedRun>& runs, bool several);

// Runs the selected variants once per seed (seed, seed + 1, ..., seed + num_seeds - 1), prints a summary
// table per seed (final train accuracy next to the held-out ones: a variant that cannot fit its training bags
// lacks capacity, one that fits them but not the held-out bags overfits) and, with several seeds, the mean
// and sample standard deviation of the final held-out accuracy per variant. Returns the JSON record: per
// variant "mean", "std", "seeds" and the per-seed final accuracies, and with one seed also that run's
// per-epoch curve; with out_dir, also writes the files of write_demo_outputs and results.json; with o.json
// prints it. The first and last eighth of the samples are held out (the notebooks' split); epochs: the
// notebook's (`epochs`, `lookup_epochs` for the lookup variants) unless o.epochs is set. `demo` names the run
// in its output and errors.
nlohmann::json run_demo_variants(const std::string& demo, const MilDataset& ds, std::size_t epochs,
                                 std::size_t lookup_epochs, const DemoRunOptions& o);

}  // namespace hf
