// Options of the Hopfield modules, named exactly like the keyword arguments of hflayers 1.0.2
// (https://github.com/ml-jku/hopfield-layers, hflayers/__init__.py), with chainable setters:
//
//   Hopfield(HopfieldOptions(64).num_heads(4).scaling(0.25).update_steps_max(3))
//   HopfieldPooling(HopfieldPoolingOptions(HopfieldOptions(230).hidden_size(64).num_heads(4)).quantity(1))
//
// Sizes: D = input_size (state patterns), Dk = stored_pattern_size (default D), Dv = pattern_projection_size
// (default D), H = num_heads, hd = hidden_size (default D / H), pd = pattern_size (default hd),
// output_size (default D). beta = scaling (default 1 / sqrt(hd)).
// Everything is validated by the module constructor; an impossible combination throws hf::Error naming the
// options involved.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "hopfield/engine/arg.h"

namespace hf {

struct HopfieldOptions {
  explicit HopfieldOptions(std::size_t input_size) : input_size_(input_size) {}

  HF_ARG(std::size_t, input_size);
  HF_ARG(std::optional<std::size_t>, hidden_size);   // hd per head; default input_size / num_heads
  HF_ARG(std::optional<std::size_t>, output_size);   // default input_size
  HF_ARG(std::optional<std::size_t>, pattern_size);  // pd per head; default hd (given -> separate q/k/v weights)
  HF_ARG(std::size_t, num_heads) = 1;
  HF_ARG(std::optional<double>, scaling);            // beta; default 1/sqrt(hd) (1.0 in static-only execution)
  // Maximum number of update steps; nullopt = until every head has converged (hflayers' None).
  HF_ARG(std::optional<int>, update_steps_max) = 0;
  HF_ARG(double, update_steps_eps) = 1e-4;

  HF_ARG(bool, normalize_stored_pattern) = true;
  HF_ARG(bool, normalize_stored_pattern_affine) = true;
  HF_ARG(double, normalize_stored_pattern_eps) = 1e-5;
  HF_ARG(bool, normalize_state_pattern) = true;
  HF_ARG(bool, normalize_state_pattern_affine) = true;
  HF_ARG(double, normalize_state_pattern_eps) = 1e-5;
  HF_ARG(bool, normalize_pattern_projection) = true;
  HF_ARG(bool, normalize_pattern_projection_affine) = true;
  HF_ARG(double, normalize_pattern_projection_eps) = 1e-5;
  HF_ARG(bool, normalize_hopfield_space) = false;
  HF_ARG(bool, normalize_hopfield_space_affine) = false;
  HF_ARG(double, normalize_hopfield_space_eps) = 1e-5;

  // Static patterns are used as they are (no projection; their size must be hd, or pd for projections),
  // the same for every head.
  HF_ARG(bool, stored_pattern_as_static) = false;
  HF_ARG(bool, state_pattern_as_static) = false;
  HF_ARG(bool, pattern_projection_as_static) = false;
  // Pattern projections pass through the stored-pattern map first: V = (X Wk^T + bk) Wv^T + bv.
  HF_ARG(bool, pattern_projection_as_connected) = false;
  HF_ARG(std::optional<std::size_t>, stored_pattern_size);      // Dk
  HF_ARG(std::optional<std::size_t>, pattern_projection_size);  // Dv

  HF_ARG(bool, batch_first) = true;  // only batch-first data is supported
  // Element-wise function applied to the output: "tanh", "sigmoid", "relu", "selu", "gelu", "exp", "abs";
  // empty = none.
  HF_ARG(std::string, association_activation);
  HF_ARG(double, dropout) = 0.0;  // on the association matrix, in training mode only
  HF_ARG(bool, input_bias) = true;
  // hflayers' add_bias_kv pass-through; its own forward never concatenates the bias (see hflayers
  // functional.py), so it is not supported here: true throws.
  HF_ARG(bool, concat_bias_pattern) = false;
  HF_ARG(bool, add_zero_association) = false;
  HF_ARG(bool, disable_out_projection) = false;
  // Not in hflayers (an execution choice, same result): map the few state patterns back through the key
  // and value projections instead of projecting every stored pattern (pooled_association in
  // hopfield/engine/association.h). Unset = whichever costs fewer multiply-adds, where it applies (no update
  // steps, no Hopfield-space LayerNorm, no static or connected patterns, no association dropout in
  // training); true = always where it applies; false = never.
  HF_ARG(std::optional<bool>, reassociate_projections);

  // Not in hflayers: the streaming association (hopfield/engine/association_streaming.h), which never holds
  // the (N, H, L, S') association matrix. nullopt = automatic: stream when that matrix would take more than
  // association_memory_budget bytes (nullopt = default_association_memory_budget(), initially 64 MiB);
  // true / false force it. Association dropout needs the matrix: in training with dropout > 0 the automatic
  // choice stays dense and streaming(true) throws. forward_with_details computes the association matrix
  // apart when streaming (it is what the caller asked for).
  HF_ARG(std::optional<bool>, streaming);
  HF_ARG(std::optional<std::size_t>, association_memory_budget);
};

// HopfieldPooling: the state patterns are `quantity` trainable pooling patterns (1, quantity, D).
struct HopfieldPoolingOptions {
  explicit HopfieldPoolingOptions(const HopfieldOptions& hopfield) : hopfield_(hopfield) {}
  explicit HopfieldPoolingOptions(std::size_t input_size) : hopfield_(HopfieldOptions(input_size)) {}
  HF_ARG(HopfieldOptions, hopfield);
  HF_ARG(std::size_t, quantity) = 1;
  HF_ARG(bool, trainable) = true;  // pooling_weights requires_grad
};

// HopfieldLayer: the stored patterns are `quantity` trainable lookup patterns (1, quantity, Dk).
struct HopfieldLayerOptions {
  explicit HopfieldLayerOptions(const HopfieldOptions& hopfield) : hopfield_(hopfield) {}
  explicit HopfieldLayerOptions(std::size_t input_size) : hopfield_(HopfieldOptions(input_size)) {}
  HF_ARG(HopfieldOptions, hopfield);
  HF_ARG(std::size_t, quantity) = 1;
  HF_ARG(bool, lookup_weights_as_separated) = false;  // separate target_weights as pattern projections
  HF_ARG(bool, lookup_targets_as_trainable) = true;   // target_weights requires_grad
  HF_ARG(bool, trainable) = true;                     // lookup_weights requires_grad
};

}  // namespace hf
