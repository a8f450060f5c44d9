// The whole public API of hopfield-cpp in one include: tensors and ops with autograd, the module system
// and every layer (Linear ... Sequential, the three Hopfield layers, AssociativeMemory), optimizers,
// schedules, checkpoints and metrics, the dataset loaders, the SVG/PGM reports and the results page, and the
// paper's theory as computations (storage capacity, retrieval error, fixed points, energy descent).
//
//   #include <hopfield/hopfield.h>     // installed package: find_package(hopfield), hopfield::hopfield
//
// Not included, on purpose: hopfield/engine/tensor_xt.h (conversions to xtensor containers; it pulls in the
// xtensor headers, which multiplies compile times) and hopfield/engine/kernel.h (op internals). Include
// those by name where wanted.
#pragma once

// engine: Tensor, every op and its backward, the tape, random numbers, .npy/.npz, gradcheck
#include "hopfield/engine/arg.h"
#include "hopfield/engine/association.h"
#include "hopfield/engine/association_streaming.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/npz.h"
#include "hopfield/engine/parallel.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/engine/tape.h"
#include "hopfield/engine/tensor.h"

// layers: Module and the basic layers, the Hopfield layers, associative memories
#include "hopfield/layers/layers.h"
#include "hopfield/layers/binary_hopfield.h"
#include "hopfield/layers/chunked_pooling.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_options.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/hopfield_transformer.h"
#include "hopfield/layers/memory.h"
#include "hopfield/layers/models/demo_net.h"
#include "hopfield/layers/models/demo_runs.h"
#include "hopfield/layers/models/mil_cv.h"
#include "hopfield/layers/models/mil_net.h"
#include "hopfield/layers/models/repertoire_eval.h"
#include "hopfield/layers/models/repertoire_net.h"
#include "hopfield/layers/models/tabular_hopfield.h"
#include "hopfield/layers/models/uci_ensemble.h"
#include "hopfield/layers/models/uci_members.h"
#include "hopfield/layers/retrieval_classifier.h"

// optim: optimizers, gradient clipping, learning-rate schedules, checkpoints, metrics, training helpers
#include "hopfield/optim/adam.h"
#include "hopfield/optim/checkpoint.h"
#include "hopfield/optim/clip_grad.h"
#include "hopfield/optim/data_parallel.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/jobs.h"
#include "hopfield/optim/lr_scheduler.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/optimizer.h"
#include "hopfield/optim/repertoire_batches.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/optim/sgd.h"
#include "hopfield/optim/trainer.h"
#include "hopfield/optim/training.h"

// datasets: loaders (MIL, UCI, tables, repertoires), synthetic data, splits, batching, feature transforms
#include "hopfield/datasets/bag_batch.h"
#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/data_loader.h"
#include "hopfield/datasets/kmer_enrichment.h"
#include "hopfield/datasets/letter_images.h"
#include "hopfield/datasets/mil.h"
#include "hopfield/datasets/piecewise_linear.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/rows.h"
#include "hopfield/datasets/standardize.h"
#include "hopfield/datasets/summary.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/datasets/table.h"
#include "hopfield/datasets/text_reader.h"
#include "hopfield/datasets/uci.h"

// report: SVG plots and heatmaps, CSV tables, PGM images, the results page
#include "hopfield/report/csv_log.h"
#include "hopfield/report/image.h"
#include "hopfield/report/plot.h"
#include "hopfield/report/process.h"
#include "hopfield/report/results_page.h"
#include "hopfield/report/text_table.h"
#include "hopfield/report/progress.h"

// theory: the paper's predictions as computations, and the measurements that test them (capacity, retrieval
// error, fixed points, energy descent)
#include "hopfield/theory/capacity.h"
#include "hopfield/theory/energy_descent.h"
#include "hopfield/theory/fixed_points.h"
#include "hopfield/theory/retrieval_error.h"
