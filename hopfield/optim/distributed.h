// Several processes on one or many machines, over MPI (launched by mpirun or Slurm's srun), with the
// collectives a training run needs; named after torch.distributed. Built with MPI when CMake finds it
// (option HOPFIELD_MPI); without MPI, and in a program started without mpirun, the same calls work as one
// process (rank 0 of a world of 1): a reduce or broadcast leaves the data as it is, a gather returns the
// caller's own value.
//
//   int main(int argc, char** argv) {
//     hf::distributed::ProcessGroup group(&argc, &argv);   // MPI_Init ... MPI_Finalize
//     try { ... } catch (const std::exception& e) { hf::distributed::abort_job("prog", e.what()); }
//   }
//
// Gradients go in buckets (contiguous runs of at most bucket_elements values of one dtype, float32 or float64,
// reduced by one MPI_Allreduce each), as DistributedDataParallel's bucket_cap_mb does: few large messages
// instead of one per parameter. Data parallelism on top of these: optim/data_parallel.h; task parallelism
// (independent folds, members, datasets): run_distributed_jobs below.
//
// Faults: a rank whose error reaches main calls abort_job, which prints one line naming the rank and ends
// every rank (MPI_Abort); a rank that dies is noticed by mpirun, which ends the others. A ProcessGroup
// destroyed while an exception unwinds aborts the job as well, rather than wait in MPI_Finalize for ranks
// that wait for it. For tests, HOPFIELD_FAULT_RANK=r HOPFIELD_FAULT_STEP=s make rank r throw when its
// Trainer reaches optimizer step s (fault_point).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

class Generator;
class Module;

namespace distributed {

// Whether this build has MPI (HOPFIELD_MPI).
bool is_available();

// MPI_Init_thread on construction (unless MPI is already initialised, or no launcher started the process:
// mpirun, mpiexec or srun set the environment variables it looks for), MPI_Finalize on destruction (if it
// initialised it). Without MPI: nothing. One per program, in main, before any other call below.
class ProcessGroup {
 public:
  ProcessGroup(int* argc, char*** argv);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

 private:
  bool owner_ = false;
};

// Whether MPI is initialised with more than one process.
bool is_initialized();
int get_rank();        // 0 without MPI
int get_world_size();  // 1 without MPI

enum class ReduceOp { Sum, Mean };

// In place, on every rank: each element becomes the sum (or mean) over the ranks. float and double only;
// bucket_elements > 0 splits the reduction into runs of at most that many values.
void all_reduce(std::vector<double>& values, ReduceOp op = ReduceOp::Sum);
void all_reduce(std::vector<float>& values, ReduceOp op = ReduceOp::Sum);
double all_reduce(double value, ReduceOp op = ReduceOp::Sum);
// Float32 and Float64 tensors (each contiguous, reduced in its own dtype), packed into buckets of at most
// bucket_elements values (default 4M = 16 MB of float32).
void all_reduce(const std::vector<Tensor>& tensors, ReduceOp op = ReduceOp::Sum,
                std::size_t bucket_elements = std::size_t{1} << 22);

// Copies root's values to every rank (the data must have the same shape everywhere).
void broadcast(const std::vector<Tensor>& tensors, int root = 0);
void broadcast(std::string& text, int root = 0);
// The model's parameters and buffers (DistributedDataParallel's start: every replica begins identical).
void broadcast_module(Module& model, int root = 0);
// The generator's state (dropout and shuffling streams that must agree on every rank).
void broadcast_generator(Generator& gen, int root = 0);

void barrier();

// Every rank's value, in rank order, on root; an empty vector on the other ranks.
std::vector<std::string> gather_object(const std::string& value, int root = 0);
std::vector<double> gather(double value, int root = 0);
// Every rank's value, in rank order, on every rank.
std::vector<std::string> all_gather_object(const std::string& value);
// Every rank's values one after the other, in rank order, on every rank (per-rank parts of any length).
std::vector<double> all_gather(const std::vector<double>& values);

// A 64-bit FNV-1a hash of the bytes of the tensors' data (to check that ranks hold bit-identical parameters).
std::uint64_t hash_tensors(const std::vector<Tensor>& tensors);

// Prints "<program>: rank r of n: <message>" (one line; "<program>: <message>" in a single process) to
// stderr and ends the job: MPI_Abort when several ranks run, exit(1) otherwise.
[[noreturn]] void abort_job(const std::string& program, const std::string& message);

// HOPFIELD_FAULT_RANK / HOPFIELD_FAULT_STEP (read once): throws hf::Error on that rank at that step.
void fault_point(std::int64_t step);

// Task parallelism over independent units: unit j of n runs on rank j % world_size (there on `threads`
// workers, as run_jobs) and returns its result as text; done(j, result) runs on rank 0 only, one call at a
// time, as each unit's result arrives (rank 0's own units included), so rank 0 can print, log and checkpoint
// every unit. Returns on rank 0 when all n results arrived, elsewhere when the rank's own units are done.
// on_root(j) (optional, asked on rank 0 and broadcast): the unit runs on rank 0 (its result is in a resumed
// checkpoint: loading it is cheap); the other units are dealt round-robin over the ranks in index order.
// The results do not depend on the number of ranks as long as a unit seeds its own generators.
void run_distributed_jobs(std::size_t n, std::size_t threads, const std::function<std::string(std::size_t)>& job,
                          const std::function<void(std::size_t, const std::string&)>& done,
                          const std::function<bool(std::size_t)>& on_root = {});

}  // namespace distributed
}  // namespace hf
