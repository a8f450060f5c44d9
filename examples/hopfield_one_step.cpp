// One-step retrieval: store N random unit patterns in d dimensions, query each with a noisy copy
// (||xi - x_i|| = r), apply ONE update and measure the error to the stored pattern against the paper's
// exponential bound (Ramsauer et al. 2020, theorem "exponentially small retrieval error"):
//
//   ||f(xi) - x_i|| <= 2 (N - 1) M exp(-beta (Delta_i - 2 max(||xi - x_i||, ||x_i^* - x_i||) M))
//
// with Delta_i = x_i.x_i - max_{j != i} x_i.x_j the separation of pattern i, M = max_j ||x_j|| (= 1 here)
// and x_i^* the fixed point the retrieval converges to from xi (found with retrieve()).
//
// The per-pattern measurement (errors down to ~1e-300, the bound): hopfield/theory/retrieval_error.h.
// Legend: N patterns, d pattern size, one query per pattern (B = N).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "examples/hopfield_experiment.h"
#include "hopfield/theory/retrieval_error.h"

using namespace hf;

namespace {
double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// n random directions in d dimensions, scaled to norm 1: (n, d).
Tensor unit_rows(std::size_t n, std::size_t d, Generator& gen) {
  Tensor g = randn({n, d}, Dtype::Float64, gen);
  return div(g, sqrt(sum(mul(g, g), {-1}, true)));
}
}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"One-step retrieval error against separation and the paper's exponential bound"};
  experiment::Common common;
  common.add_to(app, "hopfield-one-step", 2);
  std::size_t n = 16;
  double noise = 0.1;
  std::vector<std::size_t> dims = {8, 16, 32, 64};
  app.add_option("--patterns", n, "stored patterns N")->check(CLI::Range(2, 1000000))->capture_default_str();
  app.add_option("--noise", noise, "query distance r = ||xi - x_i||")->check(hf::cli::between(0.0, 1e6))->capture_default_str();
  app.add_option("--dims", dims, "pattern sizes d")->check(CLI::Range(1, 65536))->capture_default_str();
  if (const int rc = cli::parse(app, argc, argv, "hopfield-one-step"); rc >= 0) return rc;
  common.prepare();
  Stopwatch timer;

  const std::vector<double> betas = experiment::logspace(0.25, 400, 25);
  Generator gen(common.seed);
  struct Point {
    double beta_delta, err, naive, bound, rate;  // rate: the bound's decay per unit beta*Delta
  };
  std::vector<Point> pts;
  CsvWriter csv(common.path("one_step_points.csv"),
                {"d", "pattern", "beta", "delta", "query_dist", "fixed_point_dist", "error", "error_naive", "bound"});
  for (std::size_t d : dims) {
    Tensor x = unit_rows(n, d, gen);                                     // (N, d), M = 1
    Tensor xi = add(x, mul(unit_rows(n, d, gen), noise));                // (N, d) one query per pattern
    for (double beta : betas) {
      const std::vector<OneStepPoint> one = one_step_retrieval(x, xi, beta, noise);
      for (std::size_t i = 0; i < n; ++i) {
        const OneStepPoint& p = one[i];
        pts.push_back({beta * p.delta, p.error, p.error_naive, p.bound, p.rate});
        csv.row({static_cast<double>(d), static_cast<double>(i), beta, p.delta, noise, p.fixed_point_dist, p.error,
                 p.error_naive, p.bound});
      }
    }
  }
  csv.close();

  std::printf("One update from xi = x_i + noise (||xi - x_i|| = %.3g), N = %zu unit patterns, d in {", noise, n);
  for (std::size_t k = 0; k < dims.size(); ++k) std::printf("%s%zu", k ? ", " : "", dims[k]);
  std::printf("}, %zu betas in [0.25, 400]\npredicted: error <= bound = 2(N-1) M exp(-beta(Delta - 2 max(r, "
              "||x* - x||) M)) for every point; error falls exponentially in beta*Delta\n\n",
              betas.size());
  TextTable table(common.path("one_step_summary.csv"),
                          {"bDelta_lo", "bDelta_hi", "points", "med_error", "med_bound", "max_err/bnd", "violations"});
  table.print_header();
  const std::vector<double> edges = {0, 1, 3, 10, 30, 100, 300, INFINITY};
  std::size_t violations_total = 0;
  for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
    std::vector<double> errs, bounds;
    double worst = 0;
    std::size_t violations = 0;
    for (const auto& p : pts)
      if (p.beta_delta >= edges[b] && p.beta_delta < edges[b + 1]) {
        errs.push_back(p.err);
        bounds.push_back(p.bound);
        if (p.bound > 0) worst = std::max(worst, p.err / p.bound);
        if (p.err > p.bound) ++violations;
      }
    if (errs.empty()) continue;
    violations_total += violations;
    table.row({edges[b], edges[b + 1], static_cast<double>(errs.size()), median(errs), median(bounds), worst,
               static_cast<double>(violations)},
              {"%.0f", "%.0f", "%.0f", "%.2e", "%.2e", "%.2e", "%.0f"});
  }
  table.close();
  // Decay rate: least-squares slope of log(error) against beta*Delta where the bound is non-trivial.
  double sx = 0, sy = 0, sxx = 0, sxy = 0, cnt = 0;
  std::vector<double> rates;
  for (const auto& p : pts)
    if (p.beta_delta > 3 && p.err > 1e-280) {
      const double y = std::log(p.err);
      rates.push_back(-p.rate);
      sx += p.beta_delta, sy += y, sxx += p.beta_delta * p.beta_delta, sxy += p.beta_delta * y, cnt += 1;
    }
  const double slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
  std::printf("\nviolations of the bound: %zu of %zu points\n", violations_total, pts.size());
  std::printf("decay: fitted d log(error) / d(beta Delta) = %.3f (points with beta Delta > 3); the bound's "
              "exponent -(1 - 2 max(r, |x* - x|) M / Delta) has median %.3f\n",
              slope, median(rates));

  LinePlot plot(PlotOptions()
                    .title("One-step retrieval error vs beta * Delta")
                    .xlabel("beta * Delta")
                    .ylabel("||f(xi) - x_i||")
                    .log_x(true)
                    .log_y(true)
                    .ymin(1e-300));
  std::vector<double> bx, be, bb;
  for (const auto& p : pts) {
    bx.push_back(p.beta_delta);
    be.push_back(p.err);
    bb.push_back(p.bound);
  }
  plot.line("paper's bound", bx, bb, LineStyle().line(false).markers(true).color("#d62728"));
  plot.line("measured error", bx, be, LineStyle().line(false).markers(true).color("#1f77b4"));
  plot.save(common.path("one_step_error.svg"));
  std::printf("wrote %s/{one_step_points.csv, one_step_summary.csv, one_step_error.svg}\ntime %.2f s\n",
              common.out.c_str(), timer.seconds());
  return violations_total == 0 ? 0 : 1;
} catch (const std::exception& e) {
  return hf::cli::fail("hopfield-one-step", e);
}
