// Energy descent: E never increases along a retrieval (the update is the CCCP step of the energy; Ramsauer
// et al. 2020, Theorem 1), 0 <= E always, E <= 2 M^2 after the first update. This program measures the
// largest increase over many random memories and queries, in float64 and float32, against the rounding of
// E's terms (the prediction and the rounding budget: hopfield/theory/energy_descent.h).
// Legend: N stored patterns, d pattern size, B queries, T steps.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "examples/hopfield_experiment.h"
#include "hopfield/layers/memory.h"
#include "hopfield/theory/energy_descent.h"

using namespace hf;

int main(int argc, char** argv) try {
  CLI::App app{"Energy descent along AssociativeMemory::retrieve, measured against rounding"};
  experiment::Common common;
  common.add_to(app, "hopfield-energy", 1);
  std::size_t trials = 40, steps = 40, queries = 16;
  app.add_option("--trials", trials, "random memories per (dtype, beta)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--steps", steps, "update steps per retrieval")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--queries", queries, "queries per memory (B)")->check(CLI::Range(1, 100000))->capture_default_str();
  if (const int rc = cli::parse(app, argc, argv, "hopfield-energy"); rc >= 0) return rc;
  common.prepare();
  Stopwatch timer;

  const std::vector<double> betas = {0.01, 0.1, 1.0, 10.0, 100.0};
  std::printf("Energy along retrieve: %zu memories x %zu queries x %zu steps per row; N in [2, 64], d in [2, 32]\n",
              trials, queries, steps);
  std::printf("predicted: increase <= 0 (up to rounding), min E >= 0, max E after step 1 <= 2 M^2\n\n");
  TextTable table(common.path("energy_summary.csv"),
                          {"dtype", "beta", "max_incr", "incr/round", "min_E/M2", "maxE1/2M2", "mean_drop", "verdict"});
  table.print_header();
  CsvWriter detail(common.path("energy_trials.csv"),
                   {"float_bits", "beta", "trial", "N", "d", "max_increase", "rounding_budget", "min_energy",
                    "max_energy_after_1", "two_M2"});
  bool all_ok = true;
  Generator gen(common.seed);
  for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
    const double eps = unit_roundoff(dtype);
    for (double beta : betas) {
      double max_incr = -INFINITY, worst_ratio = 0, min_e_rel = INFINITY, max_e1_rel = 0, drop = 0;
      std::size_t drops = 0, violations = 0;
      for (std::size_t trial = 0; trial < trials; ++trial) {
        const std::size_t n = 2 + gen.below(63), d = 2 + gen.below(31);
        const double scale = 0.3 + 2.7 * gen.uniform();
        Tensor y = mul(randn({n, d}, Dtype::Float64, gen), scale).to(dtype);              // (N, d)
        Tensor xi = mul(randn({queries, d}, Dtype::Float64, gen), 1.5 * scale).to(dtype);  // (B, d)
        AssociativeMemory mem(y, MemoryOptions().beta(beta));
        Trajectory tr = mem.retrieve(xi, RetrieveOptions().max_steps(steps).tol(0));
        const double m2 = mem.max_norm_sq().item();
        const EnergyDescentCheck ck = check_energy_descent(tr, n, d, beta, m2, eps);
        worst_ratio = std::max(worst_ratio, ck.worst_ratio);
        violations += ck.violations;
        for (std::size_t b = 0; b < queries; ++b) {
          drop += tr.energies.front().flat(b) - tr.energies.back().flat(b);
          ++drops;
        }
        max_incr = std::max(max_incr, ck.max_increase);
        min_e_rel = std::min(min_e_rel, ck.min_energy / m2);
        max_e1_rel = std::max(max_e1_rel, ck.max_energy_after_1 / (2 * m2));
        detail.row({dtype == Dtype::Float64 ? 64.0 : 32.0, beta, static_cast<double>(trial), static_cast<double>(n),
                    static_cast<double>(d), ck.max_increase, ck.rounding_budget, ck.min_energy, ck.max_energy_after_1,
                    2 * m2});
      }
      // Bounds are checked with the same rounding allowance (relative to M^2).
      const double slack = 64 * eps;
      const bool ok = violations == 0 && min_e_rel >= -slack && max_e1_rel <= 1 + slack;
      all_ok = all_ok && ok;
      table.row({dtype == Dtype::Float64 ? 64.0 : 32.0, beta, max_incr, worst_ratio, min_e_rel, max_e1_rel,
                 drop / static_cast<double>(drops), ok ? 1.0 : 0.0},
                {"f%.0f", "%.3g", "%.2e", "%.2f", "%.2e", "%.4f", "%.3g", "%.0f"});
    }
  }
  table.close();
  detail.close();
  std::printf("\nmax_incr: largest E_{t+1} - E_t seen; incr/round: the same in units of eps * S (S = size of\n"
              "E's terms; each step's budget is (N + d) such units, N + d <= 96); verdict 1 = all predictions hold.\n");

  // Picture: E_t for a few queries of one memory at three betas.
  LinePlot plot(PlotOptions()
                    .title("Energy along retrieve (N = 24, d = 12)")
                    .xlabel("update step t")
                    .ylabel("E(xi_t) - min E")
                    .log_y(true));
  Generator pg(common.seed + 1000);
  Tensor y = randn({24, 12}, Dtype::Float64, pg);
  Tensor xi = mul(randn({4, 12}, Dtype::Float64, pg), 1.5);
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c"};
  CsvWriter curves(common.path("energy_curves.csv"), {"beta", "query", "step", "energy"});
  int k = 0;
  for (double beta : {0.3, 1.0, 3.0}) {
    AssociativeMemory mem(y, MemoryOptions().beta(beta));
    Trajectory tr = mem.retrieve(xi, RetrieveOptions().max_steps(30).tol(0));
    for (std::size_t b = 0; b < 4; ++b) {
      std::vector<double> ts, es;
      double emin = INFINITY;
      for (const auto& e : tr.energies) emin = std::min(emin, e.flat(b));
      for (std::size_t t = 0; t < tr.energies.size(); ++t) {
        ts.push_back(static_cast<double>(t));
        es.push_back(tr.energies[t].flat(b) - emin);
        curves.row({beta, static_cast<double>(b), static_cast<double>(t), tr.energies[t].flat(b)});
      }
      plot.line(b == 0 ? "beta = " + experiment::fmt(beta) : "", ts, es, LineStyle().color(colors[k]).markers(true));
    }
    ++k;
  }
  plot.save(common.path("energy_curves.svg"));
  curves.close();
  std::printf("wrote %s/{energy_summary.csv, energy_trials.csv, energy_curves.csv, energy_curves.svg}\n",
              common.out.c_str());
  std::printf("time %.2f s\n", timer.seconds());
  return all_ok ? 0 : 1;
} catch (const std::exception& e) {
  return hf::cli::fail("hopfield-energy", e);
}
