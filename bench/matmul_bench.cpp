// Overhead of the tape around batched matmul (float32): forward + backward of hf::matmul against the same
// work done as bare gemm calls, measured in the same run.
//
//   A (B, M, K) = (32, 128, 64)    Bm (B, K, N) = (32, 64, 128)    C = A Bm (B, M, N)    G = dC (fixed)
//   tape:  C = matmul(A, Bm) with requires_grad on both, then C.backward(G)
//   bare:  per batch entry i, three gemms into preallocated buffers:
//          C_i = A_i Bm_i,  dA_i = G_i Bm_i^T,  dBm_i = A_i^T G_i   (transposes as gemm flags)
// Both sides do the same flops; the tape side additionally allocates outputs and gradients, records the
// node and accumulates into .grad. Repetitions alternate tape / bare so drift (frequency, neighbours on the
// machine) hits both alike; medians after warm-up. The last line is one JSON object:
//   {"bench": "matmul", ..., "tape_ms": MEDIAN, "gemm_ms": MEDIAN, "overhead_ratio": tape_ms / gemm_ms, ...}
// It also counts minor page faults per repetition: the tape allocates fresh outputs and gradients every
// step, and when the allocator hands that memory back to the OS in between, each step pays first-touch
// page faults, which on a loaded VM can cost more than the gemms themselves.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/engine/blas.h"
#include "hopfield/engine/ops.h"

using json = nlohmann::ordered_json;
using namespace hf;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

double max_abs_diff(const float* a, const float* b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Batched matmul forward+backward: tape overhead against bare gemm (float32)"};
  int threads = 1, reps = 50, warmup = 5;
  std::size_t batch = 32, m = 128, k = 64, n = 128;
  app.add_option("--threads", threads, "OpenBLAS threads")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "measured repetitions (each side)")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "warm-up repetitions (each side)")->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "B")->check(CLI::PositiveNumber);
  app.add_option("-m", m, "M (rows of A)")->check(CLI::PositiveNumber);
  app.add_option("-k", k, "K (inner)")->check(CLI::PositiveNumber);
  app.add_option("-n", n, "N (columns of B)")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    blas::set_num_threads(threads);
    Generator gen(7);
    Tensor a = randn({batch, m, k}, Dtype::Float32, gen).requires_grad_();  // (B, M, K)
    Tensor b = randn({batch, k, n}, Dtype::Float32, gen).requires_grad_();  // (B, K, N)
    Tensor g = randn({batch, m, n}, Dtype::Float32, gen);                   // (B, M, N) upstream gradient

    // Bare side: raw buffers of the same shapes.
    std::vector<float> c_raw(batch * m * n), da_raw(batch * m * k), db_raw(batch * k * n);
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    const float* pg = g.data<float>();
    const int M = static_cast<int>(m), K = static_cast<int>(k), N = static_cast<int>(n);

    auto run_tape = [&] {
      a.zero_grad();
      b.zero_grad();
      Tensor c = matmul(a, b);
      c.backward(g);
      return c;
    };
    auto run_bare = [&] {
      for (std::size_t i = 0; i < batch; ++i) {
        const float* ai = pa + i * m * k;
        const float* bi = pb + i * k * n;
        const float* gi = pg + i * m * n;
        blas::gemm(false, false, M, N, K, 1.0f, ai, K, bi, N, 0.0f, c_raw.data() + i * m * n, N);   // C = A B
        blas::gemm(false, true, M, K, N, 1.0f, gi, N, bi, N, 0.0f, da_raw.data() + i * m * k, K);   // dA = G B^T
        blas::gemm(true, false, K, N, M, 1.0f, ai, K, gi, N, 0.0f, db_raw.data() + i * k * n, N);   // dB = A^T G
      }
    };
    auto ms_of = [](auto&& f) {
      const auto t0 = std::chrono::steady_clock::now();
      f();
      const auto t1 = std::chrono::steady_clock::now();
      return std::chrono::duration<double, std::milli>(t1 - t0).count();
    };

    for (int i = 0; i < warmup; ++i) {
      run_tape();
      run_bare();
    }
    std::vector<double> tape_ms, gemm_ms;
    long tape_faults = 0, gemm_faults = 0;
    for (int i = 0; i < reps; ++i) {
      long f0 = minor_faults();
      tape_ms.push_back(ms_of(run_tape));
      long f1 = minor_faults();
      gemm_ms.push_back(ms_of(run_bare));
      long f2 = minor_faults();
      tape_faults += f1 - f0;
      gemm_faults += f2 - f1;
    }
    const double tape_fpr = static_cast<double>(tape_faults) / reps, gemm_fpr = static_cast<double>(gemm_faults) / reps;

    // Both sides must have computed the same thing, or the comparison means nothing.
    Tensor c = run_tape();
    run_bare();
    const std::size_t nc = batch * m * n, na = batch * m * k, nb = batch * k * n;
    const double diff = std::max({max_abs_diff(c.data<float>(), c_raw.data(), nc),
                                  max_abs_diff(a.grad().data<float>(), da_raw.data(), na),
                                  max_abs_diff(b.grad().data<float>(), db_raw.data(), nb)});

    const double t = median(tape_ms), r = median(gemm_ms);
    const double gflop = 3.0 * 2.0 * static_cast<double>(batch * m * n * k) * 1e-9;
    std::printf("matmul (%zu,%zu,%zu)x(%zu,%zu,%zu) float32 fwd+bwd, %d thread(s), %d reps after %d warm-up\n",
                batch, m, k, batch, k, n, threads, reps, warmup);
    std::printf("  tape (hf::matmul + backward): median %.3f ms  (%.1f GFLOP/s)\n", t, gflop / (t * 1e-3));
    std::printf("  bare gemm (3 per batch entry): median %.3f ms  (%.1f GFLOP/s)\n", r, gflop / (r * 1e-3));
    std::printf("  minor page faults per repetition: tape %.0f, bare %.0f\n", tape_fpr, gemm_fpr);
    std::printf("  overhead ratio tape/bare: %.3f   (max |difference| of C, dA, dB: %.3g)\n", t / r, diff);
    json out = {{"bench", "matmul"},
                {"a", {batch, m, k}},
                {"b", {batch, k, n}},
                {"dtype", "float32"},
                {"threads", threads},
                {"reps", reps},
                {"tape_ms", t},
                {"gemm_ms", r},
                {"overhead_ratio", t / r},
                {"tape_page_faults_per_rep", tape_fpr},
                {"gemm_page_faults_per_rep", gemm_fpr},
                {"max_abs_diff", diff}};
    std::cout << out.dump() << std::endl;
    if (!(diff <= 1e-3)) {
      std::cerr << "matmul_bench: the tape and the bare gemm results differ by " << diff << "\n";
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "matmul_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
