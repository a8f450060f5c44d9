// The command line both hflayers demonstrations share (examples/hopfield_bit_pattern.cpp, hopfield_latch.cpp,
// after ml-jku/hopfield-layers examples/bit_pattern and examples/latch_sequence); their runs are
// hf::run_demo_variants (hopfield/layers/models/demo_runs.h). The notebooks invite trying other adapted
// settings ("explore and try the new functionalities"): --adapted-* override them.
//
// Header-only so that each demo stays one hf_program source.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "hopfield/layers/models/demo_runs.h"
#include "cli_checks.h"

namespace hf::demo {

// Adds the shared options to app, filling s.
inline void add_options(CLI::App& app, DemoRunOptions& s, const std::string& epochs_help, const std::string& seed_help) {
  app.add_option("--epochs", s.epochs, epochs_help)->check(CLI::Range(0, 100000));
  app.add_option("--seed", s.seed, seed_help)->capture_default_str();
  app.add_option("--seeds", s.num_seeds,
                 "run every variant with K seeds (--seed .. --seed+K-1) and report the mean and std of the final "
                 "held-out accuracy")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--variants", s.variants, "comma-separated subset of hopfield, hopfield_adapted, hopfield_pooling, "
                                           "hopfield_pooling_adapted, hopfield_lookup, hopfield_lookup_adapted")
      ->capture_default_str();
  app.add_option("--out", s.out_dir, "directory for metrics.csv (per variant and epoch) and results.json");
  app.add_flag("--accumulate-gradients", s.accumulate, "never zero the gradients, like the first published notebooks' loop");
  app.add_option("--lr", s.lr, "AdamW learning rate (the notebooks': 1e-3)")->check(hf::cli::kPositive)->capture_default_str();
  app.add_option("--adapted-heads", s.adapted.adapted_num_heads(), "adapted Hopfield/HopfieldPooling: heads")
      ->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--adapted-hidden", s.adapted.adapted_hidden_size(), "adapted Hopfield/HopfieldPooling: association size per head")
      ->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--adapted-update-steps", s.adapted.adapted_update_steps_max(),
                 "adapted Hopfield/HopfieldPooling: update_steps_max (0 = one update)")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--adapted-scaling", s.adapted.adapted_scaling(), "adapted Hopfield/HopfieldPooling: scaling (beta)")
      ->check(hf::cli::between(1e-6, 1e6))->capture_default_str();
  app.add_option("--adapted-dropout", s.adapted.adapted_dropout(), "adapted Hopfield/HopfieldPooling: dropout on the association")
      ->check(hf::cli::between(0.0, 0.95))->capture_default_str();
  app.add_option("--embedding", s.embedding,
                 "not in the notebooks: width of a Linear + ReLU instance embedding in front of every Hopfield module "
                 "(0 = none, as the notebooks)")
      ->check(CLI::Range(0, 4096))->capture_default_str();
  app.add_flag("--quiet", s.quiet, "no per-epoch lines, only the summary");
  app.add_flag("--json", s.json, "print one JSON object with the results as the last line");
}

}  // namespace hf::demo
