// The three kinds of fixed points (Ramsauer et al. 2020, section 2 / appendix A.1): as beta grows, the
// point retrieve() converges to moves from (1) a global fixed point averaging over all patterns, through
// (2) metastable states averaging over a subset (here: one cluster of similar patterns), to (3) fixed
// points next to single patterns. Measured: how many patterns carry the weight at the fixed point
// (k90 = the fewest patterns holding 90% of the softmax mass), against beta.
//
// Patterns: K clusters of m unit vectors (N = K m) around random unit centres; queries: random unit
// vectors. Predictions (hopfield/theory/fixed_points.h): one global fixed point for beta < 1 / M^2;
// single-pattern fixed points (k90 = 1) from beta_sep, where every pattern meets the paper's separation
// condition; in between metastable states, averages over a cluster (k90 about the cluster size).
// Legend: K clusters, m patterns per cluster, N = K m, d pattern size, B queries.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "examples/hopfield_experiment.h"
#include "hopfield/layers/memory.h"
#include "hopfield/theory/fixed_points.h"

using namespace hf;

namespace {
Tensor normalize_rows(const Tensor& g) { return div(g, sqrt(sum(mul(g, g), {-1}, true))); }
}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Global, metastable and single-pattern fixed points of the Hopfield update as beta grows"};
  experiment::Common common;
  common.add_to(app, "hopfield-fixed-points", 4);
  std::size_t clusters = 4, per_cluster = 8, d = 16, queries = 64;
  double spread = 0.5;
  app.add_option("--clusters", clusters, "clusters K")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--per-cluster", per_cluster, "patterns per cluster m")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--dim", d, "pattern size d")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--queries", queries, "random queries B")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--spread", spread, "norm of the noise added to a cluster centre")->check(hf::cli::between(0.0, 1e6))->capture_default_str();
  if (const int rc = cli::parse(app, argc, argv, "hopfield-fixed-points"); rc >= 0) return rc;
  common.prepare();
  Stopwatch timer;

  Generator gen(common.seed);
  const std::size_t n = clusters * per_cluster;
  Tensor centres = normalize_rows(randn({clusters, d}, Dtype::Float64, gen));  // (K, d)
  std::vector<double> cv = centres.to_vector(), yv(n * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k)
      yv[i * d + k] = cv[(i / per_cluster) * d + k] + spread / std::sqrt(static_cast<double>(d)) * gen.normal();
  Tensor y = normalize_rows(from_vector(yv, {n, d}, Dtype::Float64));     // (N, d), M = 1
  Tensor q = normalize_rows(randn({queries, d}, Dtype::Float64, gen));    // (B, d)

  const std::vector<double> betas = experiment::logspace(0.1, 1000, 41);
  const double m2 = AssociativeMemory(y).max_norm_sq().item();
  std::vector<double> delta = AssociativeMemory(y).separation().to_vector();
  // Smallest beta (on a fine grid) from which every pattern meets the separation condition.
  const double beta_sep = separation_beta(delta, n, m2, experiment::logspace(0.1, 1e6, 2000));
  const double dmin = *std::min_element(delta.begin(), delta.end());
  std::printf("Fixed points: N = %zu patterns in %zu clusters of %zu (d = %zu, M^2 = %.3f, min Delta = %.3f), "
              "%zu random queries\npredicted: one global fixed point for beta < 1/M^2 = %.3g; single-pattern fixed "
              "points for beta >= beta_sep = %.4g\n\n",
              n, clusters, per_cluster, d, m2, dmin, queries, 1 / m2, beta_sep);
  TextTable table(common.path("fixed_points.csv"),
                          {"beta", "mean_k90", "single", "cluster", "global", "distinct", "converged", "regime_pred"});
  table.print_header();
  std::vector<double> mean_k, min_k, max_k;
  std::size_t unique_below = 0, rows_below = 0;
  for (double beta : betas) {
    AssociativeMemory mem(y, MemoryOptions().beta(beta));
    Trajectory tr = mem.retrieve(q, RetrieveOptions().max_steps(3000).tol(1e-12));
    std::vector<double> w = tr.weights.back().to_vector(), s = tr.state().to_vector();
    double sum_k = 0, lo = 1e9, hi = 0, single = 0, cluster = 0, global = 0;
    for (std::size_t b = 0; b < queries; ++b) {
      auto [k, one] = weight_support(
          std::vector<double>(w.begin() + static_cast<long>(b * n), w.begin() + static_cast<long>((b + 1) * n)), per_cluster);
      sum_k += static_cast<double>(k);
      lo = std::min(lo, static_cast<double>(k));
      hi = std::max(hi, static_cast<double>(k));
      if (k == 1) single += 1;
      else if (one) cluster += 1;
      else if (k > per_cluster) global += 1;
    }
    // Distinct fixed points: final states more than 1e-4 apart (greedy).
    const std::vector<std::size_t> reps = distinct_states(s, queries, d, 1e-4);
    const double regime = beta < 1 / m2 ? 1 : beta >= beta_sep ? 3 : 2;
    if (beta < 1 / m2) {
      ++rows_below;
      unique_below += reps.size() == 1;
    }
    const double bq = static_cast<double>(queries);
    table.row({beta, sum_k / bq, single / bq, cluster / bq, global / bq, static_cast<double>(reps.size()),
               tr.converged ? 1.0 : 0.0, regime},
              {"%.3g", "%.2f", "%.2f", "%.2f", "%.2f", "%.0f", "%.0f", "%.0f"});
    mean_k.push_back(sum_k / bq);
    min_k.push_back(lo);
    max_k.push_back(hi);
  }
  table.close();
  std::printf("\nk90: fewest patterns holding 90%% of the softmax mass at the fixed point; single / cluster / "
              "global: fraction of\nqueries with k90 = 1 / a k90 set inside one cluster / k90 > cluster size; "
              "distinct: different fixed points\nreached; regime_pred: 1 = global (beta < 1/M^2), 2 = between, "
              "3 = single patterns (beta >= beta_sep).\n");
  std::printf("check: unique fixed point in %zu of %zu rows with beta < 1/M^2\n", unique_below, rows_below);

  LinePlot plot(PlotOptions()
                    .title("Patterns carrying 90% of the weight at the fixed point")
                    .xlabel("beta")
                    .ylabel("k90")
                    .log_x(true)
                    .log_y(true));
  plot.line("mean over queries", betas, mean_k, LineStyle().markers(true));
  plot.line("min", betas, min_k, LineStyle().dashed(true).width(1));
  plot.line("max", betas, max_k, LineStyle().dashed(true).width(1));
  plot.hline("cluster size", static_cast<double>(per_cluster), LineStyle().dashed(true).color("#999999"));
  plot.vline("1/M^2", 1 / m2, LineStyle().dashed(true).color("#2ca02c"));
  if (std::isfinite(beta_sep) && beta_sep <= 1000) plot.vline("beta_sep", beta_sep, LineStyle().dashed(true).color("#d62728"));
  plot.save(common.path("fixed_points_k90.svg"));
  // Association maps (first 16 queries x N patterns) in each regime.
  const std::size_t shown = std::min<std::size_t>(16, queries);
  for (double beta : {0.5, 8.0, 1000.0}) {
    AssociativeMemory mem(y, MemoryOptions().beta(beta));
    Tensor w = mem.retrieve(narrow(q, 0, 0, shown), RetrieveOptions().max_steps(3000).tol(1e-12)).weights.back();
    save_heatmap(common.path("association_beta" + experiment::fmt(beta, 6) + ".svg"), w,
                 HeatmapOptions()
                     .title("softmax weights at the fixed point, beta = " + experiment::fmt(beta))
                     .xlabel("stored pattern (clusters of " + std::to_string(per_cluster) + ")")
                     .ylabel("query")
                     .vmin(0)
                     .vmax(1));
  }
  std::printf("wrote %s/{fixed_points.csv, fixed_points_k90.svg, association_beta{0.5,8,1000}.svg}\ntime %.2f s\n",
              common.out.c_str(), timer.seconds());
  return 0;
} catch (const std::exception& e) {
  return hf::cli::fail("hopfield-fixed-points", e);
}
