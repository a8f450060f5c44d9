// Training-step benchmark of the Hopfield modules (float32): for each workload of
// ../shared/bench/workloads.json (or --workloads FILE) one step is forward, loss mean(y^2), backward and an
// Adam update (optim/adam.h). After warm-up steps, the median step time over `reps` steps is printed as
// one JSON line per workload:
//   {"workload": NAME, "threads": N, "ms": MEDIAN_STEP_MS, "cpu_ms": MEDIAN_PROCESS_CPU_MS, "peak_rss_mb": MB, "association": "dense"|"streaming",
//    "gemm_gflop_per_step": G, "gemm_gflops": G / ms, "sgemm_2048_gflops": a plain 2048^3 sgemm timed after the
//    steps (so that it cannot change their state), "gemm_fraction": the ratio of the two rates}
// --gemm-shapes adds, per workload, one JSON line per gemm shape of its step (work, rate in the step, rate of the
// same call alone) and the gemm_fraction those shapes allow at best (blas::set_profiling).
// --threads N sets the OpenBLAS threads. peak_rss_mb is the process's peak resident set so far (VmHWM of
// /proc/self/status), so run one workload at a time (--only NAME) for per-workload memory. Compare against the
// reference hflayers with bench/compare.sh (fresh processes, interleaved, median ratios).
// A workload with "stored_length" (Hopfield only) gets separate inputs: stored = pattern projection
// (batch, stored_length, input_size) and state (batch, length, input_size); ../shared/bench/workloads-scale.json
// has such workloads with 10^6 stored patterns (compare bench/hflayers_scale_step.py).
// --streaming auto|on|off picks the association path (HopfieldOptions::streaming); "both" times each
// workload with the dense and the streaming path in turn and adds "streaming_over_dense" (time ratio).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/engine/blas.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/optim/adam.h"
#include "hopfield/report/process.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace hf;

namespace {

// ../shared/bench/workloads.json next to the source tree: searched upward from the working directory and
// from the executable's directory (the build tree usually sits inside the checkout).
std::string default_workloads() {
  std::vector<fs::path> starts{fs::current_path()};
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) starts.push_back(exe.parent_path());
  for (fs::path p : starts) {
    for (; !p.empty(); p = p.parent_path()) {
      fs::path cand = p / ".." / "shared" / "bench" / "workloads.json";
      if (fs::exists(cand)) return fs::canonical(cand).string();
      if (p == p.parent_path()) break;
    }
  }
  return "../shared/bench/workloads.json";
}

HopfieldOptions options_of(const json& w) {
  HopfieldOptions o(w.at("input_size").get<std::size_t>());
  if (w.contains("hidden_size")) o.hidden_size(w.at("hidden_size").get<std::size_t>());
  if (w.contains("num_heads")) o.num_heads(w.at("num_heads").get<std::size_t>());
  if (w.contains("update_steps_max")) o.update_steps_max(w.at("update_steps_max").get<int>());
  return o;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

struct StepTiming {
  double median_ms = 0;
  double median_cpu_ms = 0;  // process CPU time (all threads): at 1 thread, robust to other load on the machine
  double gemm_gflop = 0;  // gemm work per timed step
};

// One step per call: forward, loss mean(y^2), backward, Adam update; median over reps after warm-up, in ms,
// and the gemm work of a step (blas::flops over the timed steps).
StepTiming time_steps(const std::function<Tensor()>& forward, Adam& opt, int warmup, int reps) {
  std::vector<double> ms, cpu;
  std::uint64_t flops = 0;
  for (int i = 0; i < warmup + reps; ++i) {
    const std::uint64_t f0 = blas::flops();
    const double c0 = process_cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    Tensor y = forward();
    Tensor loss = mean(mul(y, y));
    loss.backward();
    opt.step();
    const auto t1 = std::chrono::steady_clock::now();
    if (i >= warmup) {
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      cpu.push_back(process_cpu_ms() - c0);
      flops += blas::flops() - f0;
    }
  }
  StepTiming t;
  if (ms.empty()) return t;
  t.median_ms = median_of(ms);
  t.median_cpu_ms = median_of(cpu);
  t.gemm_gflop = static_cast<double>(flops) / static_cast<double>(ms.size()) / 1e9;
  return t;
}

// GFLOP/s of a plain 2048^3 sgemm (median of 3) with the current thread setting.
double reference_sgemm_gflops() {
  const int n = 2048;
  std::vector<float> a(static_cast<std::size_t>(n) * n, 0.5f), b(a), c(a.size());
  std::vector<double> ms;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    blas::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return 2.0 * n * n * static_cast<double>(n) / (ms[1] * 1e6);
}

// Seconds per call of one gemm shape alone: fresh operands with the shape's leading dimensions, median of
// 15 calls after 3 warm-up calls.
double alone_seconds(const blas::GemmShape& g) {
  const auto rows_a = static_cast<std::size_t>(g.trans_a ? g.k : g.m), rows_b = static_cast<std::size_t>(g.trans_b ? g.n : g.k);
  std::vector<float> a(rows_a * static_cast<std::size_t>(g.lda), 0.5f), b(rows_b * static_cast<std::size_t>(g.ldb), 0.25f);
  std::vector<float> c(static_cast<std::size_t>(g.m) * static_cast<std::size_t>(g.ldc), 0.0f);
  std::vector<double> s;
  for (int i = 0; i < 18; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    blas::gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, 1.0f, a.data(), g.lda, b.data(), g.ldb, 0.0f, c.data(), g.ldc);
    if (i >= 3) s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return median_of(s);
}

// --gemm-shapes: `reps` more steps with the gemm profile on, then per shape its work per step, its rate in the
// step and alone (the same call on fresh operands, back to back); and the step's gemm rate if every shape ran
// at its rate alone, as a fraction of the 2048^3 sgemm: the ceiling for gemm_fraction that these shapes
// allow, whatever happens between the calls.
void print_gemm_shapes(const std::string& name, const std::function<Tensor()>& forward, Adam& opt, int reps,
                       double ref_gflops) {
  blas::reset_profile();
  blas::set_profiling(true);
  time_steps(forward, opt, 0, reps);
  blas::set_profiling(false);
  double flop = 0, in_step = 0, alone = 0;
  for (const blas::GemmShape& g : blas::profile()) {
    if (g.is_double) continue;
    const double f = 2.0 * g.m * g.n * static_cast<double>(g.k) * static_cast<double>(g.calls) / reps;
    const double t = g.seconds / reps, ta = alone_seconds(g) * static_cast<double>(g.calls) / reps;
    flop += f;
    in_step += t;
    alone += ta;
    std::cout << nlohmann::ordered_json{{"workload", name},
                                        {"gemm", std::string(g.trans_a ? "t" : "n") + (g.trans_b ? "t" : "n")},
                                        {"m", g.m}, {"n", g.n}, {"k", g.k}, {"lda", g.lda}, {"ldb", g.ldb}, {"ldc", g.ldc},
                                        {"calls_per_step", static_cast<double>(g.calls) / reps},
                                        {"gflop_per_step", f / 1e9},
                                        {"ms_per_step", t * 1e3},
                                        {"gflops_in_step", f / t / 1e9},
                                        {"gflops_alone", f / ta / 1e9}}
                     .dump()
              << std::endl;
  }
  std::cout << nlohmann::ordered_json{{"workload", name},
                                      {"gemm_ms_in_step", in_step * 1e3},
                                      {"gemm_ms_alone", alone * 1e3},
                                      {"gemm_gflops_in_step", flop / in_step / 1e9},
                                      {"gemm_gflops_alone", flop / alone / 1e9},
                                      {"gemm_fraction_ceiling", ref_gflops > 0 ? flop / alone / 1e9 / ref_gflops : 0.0}}
                   .dump()
            << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Hopfield training-step benchmark (float32)"};
  std::string path = default_workloads(), only, streaming = "auto";
  int threads = 1, warmup = 2;
  bool gemm_shapes = false;
  app.add_option("--workloads", path, "workloads.json");
  app.add_option("--threads", threads, "OpenBLAS threads")->check(CLI::PositiveNumber);
  app.add_option("--only", only, "run only this workload");
  app.add_option("--warmup", warmup, "warm-up steps per workload")->check(CLI::NonNegativeNumber);
  app.add_option("--streaming", streaming, "association path: auto, on, off, or both (dense then streaming)")
      ->check(CLI::IsMember({"auto", "on", "off", "both"}));
  app.add_flag("--gemm-shapes", gemm_shapes,
               "after each workload, its gemm shapes: work, rate in the step and alone, and the gemm_fraction they allow");
  CLI11_PARSE(app, argc, argv);

  try {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot open workloads file " + path);
    const json all = json::parse(f);
    blas::set_num_threads(threads);
    for (const json& w : all.at("workloads")) {
      const std::string name = w.at("name").get<std::string>();
      if (!only.empty() && name != only) continue;
      const std::string kind = w.at("module").get<std::string>();
      const std::size_t batch = w.at("batch").get<std::size_t>(), length = w.at("length").get<std::size_t>();
      const std::size_t input = w.at("input_size").get<std::size_t>();
      const std::size_t quantity = w.value("quantity", std::size_t{1});
      const bool separate = w.contains("stored_length");
      if (separate && kind != "Hopfield")
        throw std::runtime_error("workload " + name + ": stored_length needs module Hopfield, not " + kind);
      const int reps = w.value("reps", 10);
      std::vector<std::optional<bool>> modes;
      if (streaming == "both") modes = {false, true};
      else if (streaming == "on") modes = {true};
      else if (streaming == "off") modes = {false};
      else modes = {std::nullopt};
      double dense_ms = -1;
      for (const std::optional<bool>& mode : modes) {
        manual_seed(1);
        const HopfieldOptions o = options_of(w).streaming(mode);
        std::shared_ptr<UnaryModule> m;
        if (kind == "Hopfield") m = std::make_shared<Hopfield>(o);
        else if (kind == "HopfieldPooling") m = std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(o).quantity(quantity));
        else if (kind == "HopfieldLayer") m = std::make_shared<HopfieldLayer>(HopfieldLayerOptions(o).quantity(quantity));
        else throw std::runtime_error("workload " + name + ": unknown module " + kind);
        Tensor x = randn({batch, length, input}, Dtype::Float32);
        Tensor stored = separate ? randn({batch, w.at("stored_length").get<std::size_t>(), input}, Dtype::Float32) : x;
        std::function<Tensor()> forward = [&] { return separate ? std::static_pointer_cast<Hopfield>(m)->forward(stored, x, stored, Tensor(), Tensor()) : m->forward(x); };
        // Which path ran: the module's own choice for the association it actually computes.
        std::size_t states = length, n_stored = stored.size(1), n_batch = batch;
        if (kind == "HopfieldPooling") states = quantity;
        if (kind == "HopfieldLayer") n_stored = quantity;
        const Hopfield& hop = kind == "Hopfield" ? *std::static_pointer_cast<Hopfield>(m)
                              : kind == "HopfieldPooling" ? *std::static_pointer_cast<HopfieldPooling>(m)->hopfield
                                                          : *std::static_pointer_cast<HopfieldLayer>(m)->hopfield;
        const bool streams = hop.streams_association(n_batch, states, n_stored, Dtype::Float32);
        Adam opt(*m, AdamOptions(1e-3));
        const StepTiming t = time_steps(forward, opt, warmup, reps);
        const double median = t.median_ms;
        const double rss = peak_rss_mb();  // before the reference sgemm's buffers
        const double step_gflops = median > 0 ? t.gemm_gflop / (median * 1e-3) : 0.0;
        const double ref_gflops = reference_sgemm_gflops();
        nlohmann::ordered_json out = {{"workload", name},
                                      {"threads", threads},
                                      {"ms", median},
                                      {"cpu_ms", t.median_cpu_ms},
                                      {"peak_rss_mb", rss},
                                      {"association", streams ? "streaming" : "dense"},
                                      {"gemm_gflop_per_step", t.gemm_gflop},
                                      {"gemm_gflops", step_gflops},
                                      {"sgemm_2048_gflops", ref_gflops},
                                      {"gemm_fraction", ref_gflops > 0 ? step_gflops / ref_gflops : 0.0}};
        if (!streams) dense_ms = median;
        if (streams && dense_ms > 0) out["streaming_over_dense"] = median / dense_ms;
        std::cout << out.dump() << std::endl;
        if (gemm_shapes) print_gemm_shapes(name, forward, opt, reps, ref_gflops);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "hopfield_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
