// Intra-op parallelism for the engine's own loops (softmax rows, LayerNorm rows, optimizer updates): a small
// pool of worker threads that split an index range with the calling thread. The thread count is OpenBLAS's
// (blas::set_num_threads / OPENBLAS_NUM_THREADS), so one setting governs the gemm calls and these loops alike;
// programs that run folds in threads of their own set it to 1 and every loop stays on its caller.
#pragma once

#include <cstddef>
#include <functional>

namespace hf {

// Calls f(begin, end) on disjoint chunks covering [0, n), each at least `grain` long (the last may be
// shorter), on up to blas::num_threads() threads including the caller; returns when all are done. Runs
// f(0, n) on the caller when n < 2 * grain, when one thread is set, inside another parallel_for, or while
// another thread owns the pool. An exception from f is rethrown here (the first one; the other chunks still
// finish). f must not depend on which thread runs a chunk.
void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& f);

// parallel_for with grain 1 for loops of small gemm calls (one attention block per index): the blocks are
// split between the threads and OpenBLAS is held at one thread meanwhile. OpenBLAS would otherwise split
// each of these ~1 MFLOP products between its threads (above its 2^18 multiply-add threshold) and pay a
// synchronisation per call, or run them on one core (its small-matrix kernels). f's gemm calls must
// write disjoint memory for different indices.
void parallel_gemm_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& f);

}  // namespace hf
