// MPI collectives and task parallelism (see optim/distributed.h). Only this file includes <mpi.h>; built
// without it (HOPFIELD_HAVE_MPI undefined) every call acts on a world of one process.
#include "hopfield/optim/distributed.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <thread>

#include "hopfield/engine/check.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/jobs.h"

#ifdef HOPFIELD_HAVE_MPI
#include <mpi.h>
#endif

namespace hf::distributed {

namespace {

#ifdef HOPFIELD_HAVE_MPI
bool mpi_up() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}
void mpi_check(int rc, const char* op) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  HF_FAIL(op, "MPI error: " << std::string(text, static_cast<std::size_t>(len)));
}
#endif

// Reduces n values of one float type in place, in runs of at most `bucket` values.
template <class T>
void reduce_values(T* data, std::size_t n, ReduceOp op, std::size_t bucket) {
  const int world = get_world_size();
  if (world > 1) {
#ifdef HOPFIELD_HAVE_MPI
    const MPI_Datatype type = std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
    const std::size_t step = std::min<std::size_t>(bucket == 0 ? n : bucket, std::size_t{1} << 30);
    for (std::size_t s = 0; s < n; s += step)
      mpi_check(MPI_Allreduce(MPI_IN_PLACE, data + s, static_cast<int>(std::min(step, n - s)), type, MPI_SUM,
                              MPI_COMM_WORLD),
                "distributed.all_reduce");
#else
    (void)bucket;
#endif
  }
  if (op == ReduceOp::Mean && world > 1)
    for (std::size_t i = 0; i < n; ++i) data[i] /= static_cast<T>(world);
}

void broadcast_bytes(void* data, std::size_t bytes, int root) {
  if (get_world_size() <= 1) return;
#ifdef HOPFIELD_HAVE_MPI
  char* p = static_cast<char*>(data);
  const std::size_t step = std::size_t{1} << 30;
  for (std::size_t s = 0; s < bytes; s += step)
    mpi_check(MPI_Bcast(p + s, static_cast<int>(std::min(step, bytes - s)), MPI_BYTE, root, MPI_COMM_WORLD),
              "distributed.broadcast");
#else
  (void)data, (void)bytes, (void)root;
#endif
}

std::size_t element_bytes(const Tensor& t) {
  switch (t.dtype()) {
    case Dtype::Float32: return sizeof(float);
    case Dtype::Float64: return sizeof(double);
    case Dtype::Int64: return sizeof(std::int64_t);
    case Dtype::Bool: return 1;
  }
  return 0;
}
void* raw(const Tensor& t) {
  Tensor m = t;  // shares the storage
  switch (t.dtype()) {
    case Dtype::Float32: return m.data<float>();
    case Dtype::Float64: return m.data<double>();
    case Dtype::Int64: return m.data<std::int64_t>();
    case Dtype::Bool: return m.data<std::uint8_t>();
  }
  return nullptr;
}

void check_root(int root, const char* op) {
  HF_CHECK(root >= 0 && root < get_world_size(), op, "root " << root << " is not a rank of a world of " << get_world_size());
}

}  // namespace

bool is_available() {
#ifdef HOPFIELD_HAVE_MPI
  return true;
#else
  return false;
#endif
}

#ifdef HOPFIELD_HAVE_MPI
namespace {
// Whether a launcher started this process: mpirun/mpiexec (OpenMPI, MPICH's Hydra) or srun (PMI-2, PMIx) set
// these. A program started by hand is one process and does not initialise MPI at all: OpenMPI's singleton
// start spawns a runtime daemon and costs most of a second.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}
}  // namespace
#endif

ProcessGroup::ProcessGroup(int* argc, char*** argv) {
#ifdef HOPFIELD_HAVE_MPI
  int init = 0;
  MPI_Initialized(&init);
  if (!init && launched_by_mpi()) {
    // MULTIPLE: run_distributed_jobs receives on a thread of its own on rank 0.
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    owner_ = true;
    // Errors come back as return codes (mpi_check turns them into hf::Error) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
#else
  (void)argc, (void)argv;
#endif
}

ProcessGroup::~ProcessGroup() {
#ifdef HOPFIELD_HAVE_MPI
  if (!owner_ || !mpi_up()) return;
  // Leaving main by an exception: the other ranks may wait in a collective for this one, and MPI_Finalize
  // would wait for them. End them all instead.
  if (std::uncaught_exceptions() > 0 && get_world_size() > 1) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Finalize();
#endif
}

bool is_initialized() { return get_world_size() > 1; }

int get_rank() {
#ifdef HOPFIELD_HAVE_MPI
  if (!mpi_up()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
#else
  return 0;
#endif
}

int get_world_size() {
#ifdef HOPFIELD_HAVE_MPI
  if (!mpi_up()) return 1;
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
#else
  return 1;
#endif
}

void all_reduce(std::vector<double>& values, ReduceOp op) { reduce_values(values.data(), values.size(), op, 0); }
void all_reduce(std::vector<float>& values, ReduceOp op) { reduce_values(values.data(), values.size(), op, 0); }
double all_reduce(double value, ReduceOp op) {
  reduce_values(&value, 1, op, 0);
  return value;
}

void all_reduce(const std::vector<Tensor>& tensors, ReduceOp op, std::size_t bucket_elements) {
  for (const Tensor& t : tensors)
    HF_CHECK(t.defined() && (t.dtype() == Dtype::Float32 || t.dtype() == Dtype::Float64), "distributed.all_reduce",
             "tensors must be float32 or float64" << (t.defined() ? "" : " (got an undefined tensor)"));
  if (get_world_size() <= 1) return;
  // One bucket: consecutive tensors of one dtype, copied into a flat buffer until it holds bucket_elements
  // values (a larger tensor is its own bucket, reduced in runs of bucket_elements), then reduced and copied back.
  const auto run = [&](auto zero) {
    using T = decltype(zero);
    const Dtype dt = std::is_same_v<T, double> ? Dtype::Float64 : Dtype::Float32;
    std::vector<T> buf;
    std::vector<Tensor> members;
    const auto flush = [&]() {
      if (buf.empty()) return;
      reduce_values(buf.data(), buf.size(), op, bucket_elements);
      std::size_t off = 0;
      for (Tensor& t : members) {
        std::copy(buf.begin() + static_cast<std::ptrdiff_t>(off),
                  buf.begin() + static_cast<std::ptrdiff_t>(off + t.numel()), t.data<T>());
        off += t.numel();
      }
      buf.clear();
      members.clear();
    };
    for (const Tensor& t : tensors) {
      if (t.dtype() != dt) continue;
      if (bucket_elements > 0 && !buf.empty() && buf.size() + t.numel() > bucket_elements) flush();
      Tensor m = t;
      const T* p = m.data<T>();
      buf.insert(buf.end(), p, p + t.numel());
      members.push_back(m);
    }
    flush();
  };
  run(float{});
  run(double{});
}

void broadcast(const std::vector<Tensor>& tensors, int root) {
  check_root(root, "distributed.broadcast");
  if (get_world_size() <= 1) return;
  for (const Tensor& t : tensors) {
    HF_CHECK(t.defined(), "distributed.broadcast", "an undefined tensor");
    broadcast_bytes(raw(t), t.numel() * element_bytes(t), root);
  }
}

void broadcast(std::string& text, int root) {
  check_root(root, "distributed.broadcast");
  if (get_world_size() <= 1) return;
  std::uint64_t n = text.size();
  broadcast_bytes(&n, sizeof n, root);
  text.resize(n);
  broadcast_bytes(text.data(), n, root);
}

void broadcast_module(Module& model, int root) {
  std::vector<Tensor> all;
  for (const auto& [name, t] : model.named_parameters()) all.push_back(t);
  for (const auto& [name, t] : model.named_buffers()) all.push_back(t);
  broadcast(all, root);
}

void broadcast_generator(Generator& gen, int root) {
  std::string s = gen.state();
  broadcast(s, root);
  if (get_rank() != root) gen.set_state(s);
}

void barrier() {
#ifdef HOPFIELD_HAVE_MPI
  if (get_world_size() > 1) mpi_check(MPI_Barrier(MPI_COMM_WORLD), "distributed.barrier");
#endif
}

namespace {
// Every rank's string on root (all = false) or on every rank (all = true).
std::vector<std::string> gather_strings(const std::string& value, int root, bool all) {
  const int world = get_world_size();
  if (world <= 1) return {value};
#ifdef HOPFIELD_HAVE_MPI
  const int rank = get_rank();
  HF_CHECK(value.size() < (std::size_t{1} << 31), "distributed.gather_object", "a value of " << value.size() << " bytes");
  int len = static_cast<int>(value.size());
  std::vector<int> lens(static_cast<std::size_t>(world));
  if (all) mpi_check(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD), "distributed.all_gather_object");
  else mpi_check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "distributed.gather_object");
  std::vector<int> offsets(static_cast<std::size_t>(world), 0);
  long long total = 0;
  for (std::size_t r = 0; r < lens.size(); ++r) offsets[r] = static_cast<int>(total), total += lens[r];
  HF_CHECK(total < (1LL << 31), "distributed.gather_object", "the values hold " << total << " bytes (at most 2^31)");
  std::string joined(static_cast<std::size_t>(all || rank == root ? total : 0), '\0');
  if (all)
    mpi_check(MPI_Allgatherv(value.data(), len, MPI_CHAR, joined.data(), lens.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD),
              "distributed.all_gather_object");
  else
    mpi_check(MPI_Gatherv(value.data(), len, MPI_CHAR, joined.data(), lens.data(), offsets.data(), MPI_CHAR, root,
                          MPI_COMM_WORLD),
              "distributed.gather_object");
  if (!all && rank != root) return {};
  std::vector<std::string> out;
  for (std::size_t r = 0; r < lens.size(); ++r)
    out.push_back(joined.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lens[r])));
  return out;
#else
  (void)root, (void)all;
  return {value};
#endif
}
}  // namespace

std::vector<std::string> gather_object(const std::string& value, int root) {
  check_root(root, "distributed.gather_object");
  return gather_strings(value, root, false);
}

std::vector<std::string> all_gather_object(const std::string& value) { return gather_strings(value, 0, true); }

std::vector<double> all_gather(const std::vector<double>& values) {
  if (get_world_size() <= 1) return values;
  std::string bytes(values.size() * sizeof(double), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  std::vector<double> out;
  for (const std::string& b : all_gather_object(bytes)) {
    const std::size_t n = b.size() / sizeof(double), at = out.size();
    out.resize(at + n);
    if (n > 0) std::memcpy(out.data() + at, b.data(), n * sizeof(double));
  }
  return out;
}

std::vector<double> gather(double value, int root) {
  std::string bytes(sizeof value, '\0');
  std::memcpy(bytes.data(), &value, sizeof value);
  std::vector<double> out;
  for (const std::string& b : gather_object(bytes, root)) {
    double v = 0;
    std::memcpy(&v, b.data(), sizeof v);
    out.push_back(v);
  }
  return out;
}

std::uint64_t hash_tensors(const std::vector<Tensor>& tensors) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    const auto* p = static_cast<const unsigned char*>(raw(t));
    for (std::size_t i = 0, n = t.numel() * element_bytes(t); i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
  return h;
}

void abort_job(const std::string& program, const std::string& message) {
  const int world = get_world_size();
  // One write, so that lines of several failing ranks do not interleave.
  std::string line = program + ": ";
  if (world > 1) line += "rank " + std::to_string(get_rank()) + " of " + std::to_string(world) + ": ";
  line += message + "\n";
  std::fflush(stdout);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
#ifdef HOPFIELD_HAVE_MPI
  if (world > 1) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::exit(1);
}

void fault_point(std::int64_t step) {
  static const std::pair<long long, long long> fault = [] {
    const char* r = std::getenv("HOPFIELD_FAULT_RANK");
    const char* s = std::getenv("HOPFIELD_FAULT_STEP");
    if (!r || !s) return std::pair<long long, long long>{-1, -1};
    return std::pair<long long, long long>{std::atoll(r), std::atoll(s)};
  }();
  if (fault.first >= 0 && fault.first == get_rank() && fault.second == step)
    HF_FAIL("fault_point", "injected fault at training step " << step << " (HOPFIELD_FAULT_RANK=" << fault.first
                                                              << " HOPFIELD_FAULT_STEP=" << fault.second << ")");
}

void run_distributed_jobs(std::size_t n, std::size_t threads, const std::function<std::string(std::size_t)>& job,
                          const std::function<void(std::size_t, const std::string&)>& done,
                          const std::function<bool(std::size_t)>& on_root) {
  HF_CHECK(static_cast<bool>(job) && static_cast<bool>(done), "run_distributed_jobs", "job and done must be given");
  const int world = get_world_size(), rank = get_rank();
  std::vector<std::string> results(n);
  if (world <= 1) {
    run_jobs(n, threads, [&](std::size_t j) { results[j] = job(j); }, [&](std::size_t j) { done(j, results[j]); });
    return;
  }
  // Who runs what: rank 0 decides which units stay with it, every rank derives the same dealing.
  std::string root_units(n, '\0');
  if (rank == 0 && on_root)
    for (std::size_t j = 0; j < n; ++j) root_units[j] = on_root(j) ? 1 : 0;
  broadcast(root_units, 0);
  std::vector<int> owner(n);
  std::size_t dealt = 0;
  for (std::size_t j = 0; j < n; ++j) owner[j] = root_units[j] ? 0 : static_cast<int>(dealt++ % static_cast<std::size_t>(world));
  std::vector<std::size_t> mine;
  for (std::size_t j = 0; j < n; ++j)
    if (owner[j] == rank) mine.push_back(j);
#ifdef HOPFIELD_HAVE_MPI
  constexpr int kTag = 7001;
  if (rank != 0) {
    // Each finished unit goes to rank 0 at once: [index as 8 bytes][result]. run_jobs serialises done.
    run_jobs(mine.size(), threads, [&](std::size_t i) { results[mine[i]] = job(mine[i]); },
             [&](std::size_t i) {
               const std::uint64_t j = mine[i];
               std::string msg(sizeof j, '\0');
               std::memcpy(msg.data(), &j, sizeof j);
               msg += results[j];
               results[j].clear();
               HF_CHECK(msg.size() < (std::size_t{1} << 31), "run_distributed_jobs", "a unit result of " << msg.size() << " bytes");
               mpi_check(MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_CHAR, 0, kTag, MPI_COMM_WORLD),
                         "run_distributed_jobs");
             });
    return;
  }
  // Rank 0: its own units on its workers, the others' results on a receiving thread; done under one lock.
  std::mutex lock;
  std::atomic<bool> stop{false};
  std::exception_ptr recv_failure;
  const std::size_t expected = n - mine.size();
  std::thread receiver([&]() {
    try {
      for (std::size_t got = 0; got < expected && !stop;) {
        int flag = 0;
        MPI_Status st;
        mpi_check(MPI_Iprobe(MPI_ANY_SOURCE, kTag, MPI_COMM_WORLD, &flag, &st), "run_distributed_jobs");
        if (!flag) {
          // Polling, not a blocking probe: OpenMPI's blocking calls spin, and would take a core from the workers.
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          continue;
        }
        int count = 0;
        MPI_Get_count(&st, MPI_CHAR, &count);
        std::string msg(static_cast<std::size_t>(count), '\0');
        mpi_check(MPI_Recv(msg.data(), count, MPI_CHAR, st.MPI_SOURCE, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                  "run_distributed_jobs");
        std::uint64_t j = 0;
        HF_CHECK(msg.size() >= sizeof j, "run_distributed_jobs", "a malformed unit message from rank " << st.MPI_SOURCE);
        std::memcpy(&j, msg.data(), sizeof j);
        HF_CHECK(j < n && owner[j] == st.MPI_SOURCE, "run_distributed_jobs",
                 "rank " << st.MPI_SOURCE << " sent a unit it does not own (" << j << ")");
        ++got;
        std::lock_guard<std::mutex> g(lock);
        done(j, msg.substr(sizeof j));
      }
    } catch (...) {
      std::lock_guard<std::mutex> g(lock);
      recv_failure = std::current_exception();
    }
  });
  try {
    run_jobs(mine.size(), threads, [&](std::size_t i) { results[mine[i]] = job(mine[i]); },
             [&](std::size_t i) {
               std::lock_guard<std::mutex> g(lock);
               if (recv_failure) HF_FAIL("run_distributed_jobs", "stopped: receiving a result failed");
               done(mine[i], results[mine[i]]);
             });
  } catch (...) {
    stop = true;
    receiver.join();
    throw;
  }
  receiver.join();
  if (recv_failure) std::rethrow_exception(recv_failure);
#else
  (void)owner;
#endif
}

}  // namespace hf::distributed
