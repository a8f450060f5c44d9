// hopfield-latch: the hflayers latch-sequence demonstration (ml-jku/hopfield-layers,
// examples/latch_sequence/latch_sequence_demo.ipynb) — sequences of 32 one-hot characters whose class is
// the first character (0 or 1); the remaining 31 characters are noise from 2..19, so a model must latch
// onto position 0. Trains the Hopfield, HopfieldPooling and HopfieldLayer networks of the notebook (plain
// and adapted, see hopfield/layers/models/demo_runs.h) and prints the held-out accuracy after every epoch.
//
// Data as in the notebook: LatchSequenceSet(num_samples=4096, num_instances=32, num_characters=20);
// samples 512..3583 train, the first and last 512 are held out. Epochs as in the notebook: 20, and 18 for
// the lookup variants.
//
// Legend: B sequences, N = 32 positions, d = 20 characters.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "hopfield/datasets/synthetic.h"
#include "hopfield_demo.h"

int main(int argc, char** argv) {
  using namespace hf;
  CLI::App app{"hopfield-latch: the hflayers latch-sequence demo with Hopfield, HopfieldPooling and HopfieldLayer, "
               "accuracy per epoch"};
  std::size_t samples = 4096, length = 32, characters = 20;
  std::uint64_t data_seed = 43;
  DemoRunOptions s;
  demo::add_options(app, s, "epochs per variant (0 = the notebook's: 20, lookup variants 18)",
                "seed of initialisation and batch order");
  app.add_option("--data-seed", data_seed, "seed of the sequences")->capture_default_str();
  app.add_option("--samples", samples, "sequences in the data set (the first and last eighth are held out)")
      ->check(CLI::Range(16, 10000000))->capture_default_str();
  app.add_option("--length", length, "characters per sequence")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--characters", characters, "alphabet size (one-hot width)")->check(CLI::Range(3, 4096))->capture_default_str();
  if (const int rc = cli::parse(app, argc, argv, "hopfield-latch"); rc >= 0) return rc;
  try {
    const MilDataset ds =
        latch_sequences(LatchOptions(samples).num_instances(length).num_characters(characters).seed(data_seed));
    std::printf("latch sequences: %zu sequences of %zu characters (alphabet %zu), %zu with class 1\n", samples, length,
                characters, ds.num_positive());
    run_demo_variants("hopfield-latch", ds, 20, 18, s);
  } catch (const std::exception& e) {
    return cli::fail("hopfield-latch", e);
  }
  return 0;
}
