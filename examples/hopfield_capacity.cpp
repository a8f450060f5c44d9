// Storage capacity: the fraction of stored patterns retrievable as the number N of stored patterns
// grows, for the modern Hopfield network (ONE update, several d and beta) against the classical binary
// network (Hebbian weights, asynchronous sign updates to a fixed point) on the SAME patterns and queries.
//
// Patterns: random +-1 vectors (N, d). Query: the pattern with round(flip * d) bits flipped. A pattern
// counts as retrieved when the final state s (sign of the modern update; the binary fixed point) has
// overlap s.x_i / d >= 0.95 (at most 2.5% wrong bits; the classical retrieval states at the capacity
// limit have about 1.5% wrong bits).
//
// Predictions (hopfield/theory/capacity.h): binary, retrieval breaks down near N = 0.138 d; modern, our
// signal-to-noise estimate ln N*, exponential in d. It overweights rare large noise terms, so it should land
// somewhat below the measurement.
// --large-n N (e.g. 1000000) adds one large memory: N random +-1 patterns of size --large-d (64), one
// update of --large-queries (1000) noisy queries for each of --large-betas, through the streaming
// association (AssociativeMemory::update streams once the (B, N) association exceeds the memory budget),
// printing the fraction retrieved, time and peak RSS, with our estimate and the paper's storage bound
// (Theorem 3, paper_storage_bound).
// Legend: N patterns, d neurons / pattern size, R repetitions (pattern sets) per point.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "examples/hopfield_experiment.h"
#include "hopfield/layers/binary_hopfield.h"
#include "hopfield/layers/memory.h"
#include "hopfield/report/process.h"
#include "hopfield/theory/capacity.h"

using namespace hf;

int main(int argc, char** argv) try {
  CLI::App app{"Storage capacity: modern Hopfield (one update) vs the binary Hopfield network"};
  experiment::Common common;
  common.add_to(app, "hopfield-capacity", 3);
  std::vector<std::size_t> dims = {32, 64, 128};
  std::vector<double> betas = {0.05, 0.1, 1.0};
  double flip = 0.05;
  std::size_t reps = 3, max_queries = 128;
  app.add_option("--dims", dims, "pattern sizes d")->check(CLI::Range(2, 4096))->capture_default_str();
  app.add_option("--betas", betas, "inverse temperatures of the modern network")->check(hf::cli::between(1e-6, 1e6))->capture_default_str();
  app.add_option("--flip", flip, "fraction of flipped bits in each query")->check(hf::cli::between(0.0, 0.5))->capture_default_str();
  app.add_option("--reps", reps, "pattern sets per point")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--max-queries", max_queries, "patterns queried per set (the first ones)")->check(CLI::Range(1, 100000))->capture_default_str();
  std::size_t large_n = 0, large_d = 64, large_queries = 1000;
  std::vector<double> large_betas = {0.05, 0.1, 1.0};
  app.add_option("--large-n", large_n, "also one memory of this many patterns (e.g. 1000000; 0 = none), streamed")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000000}))->capture_default_str();
  app.add_option("--large-d", large_d, "pattern size of the large memory")->check(CLI::Range(2, 4096))->capture_default_str();
  app.add_option("--large-queries", large_queries, "noisy queries of the large memory")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--large-betas", large_betas, "inverse temperatures for the large memory")->check(hf::cli::between(1e-6, 1e6))->capture_default_str();
  if (const int rc = cli::parse(app, argc, argv, "hopfield-capacity"); rc >= 0) return rc;
  common.prepare();
  Stopwatch timer;

  const std::vector<double> ns = {2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024};
  CsvWriter csv(common.path("capacity_curves.csv"), {"d", "N", "binary", "beta", "fraction_retrieved"});
  std::printf("Capacity: fraction of patterns retrieved (overlap >= 0.95) from queries with %.0f%% flipped bits,\n"
              "N from 2 to 1024, %zu pattern sets per point; N50 = N where the fraction falls below 1/2\n\n",
              flip * 100, reps);
  TextTable table(common.path("capacity_summary.csv"),
                          {"d", "network", "beta", "N50_meas", "N50_pred", "N50/d", "frac@0.138d"});
  table.print_header();
  Generator gen(common.seed);
  for (std::size_t d : dims) {
    const std::size_t f = static_cast<std::size_t>(std::lround(flip * static_cast<double>(d)));
    const double g = static_cast<double>(d) - 2.0 * static_cast<double>(f);
    // frac[0] = binary, frac[1 + k] = modern with betas[k]; one value per N.
    std::vector<std::vector<double>> frac(1 + betas.size(), std::vector<double>(ns.size(), 0.0));
    for (std::size_t in = 0; in < ns.size(); ++in) {
      const std::size_t n = static_cast<std::size_t>(ns[in]);
      for (std::size_t rep = 0; rep < reps; ++rep) {
        Tensor x = random_binary_patterns(n, d, gen.next_u64());  // (N, d)
        const std::size_t b = std::min(n, max_queries);
        std::vector<double> xv = x.to_vector();
        xv.resize(b * d);
        std::vector<double> q = flip_bits(xv, b, d, f, gen);  // (B, d)
        Tensor query = from_vector(q, {b, d}, Dtype::Float64);
        BinaryRetrieval br = BinaryHopfield(x).retrieve(query, BinaryRetrieveOptions().seed(rep).max_sweeps(100));
        frac[0][in] += fraction_retrieved(br.states.to_vector(), xv, b, d) / static_cast<double>(reps);
        for (std::size_t k = 0; k < betas.size(); ++k) {
          Tensor out = AssociativeMemory(x, MemoryOptions().beta(betas[k])).update(query);  // one step
          frac[1 + k][in] += fraction_retrieved(out.to_vector(), xv, b, d) / static_cast<double>(reps);
        }
      }
      for (std::size_t k = 0; k < frac.size(); ++k)
        csv.row({static_cast<double>(d), ns[in], k == 0 ? 1.0 : 0.0, k == 0 ? 0.0 : betas[k - 1], frac[k][in]});
    }
    // Fraction at the classical limit (nearest grid N to 0.138 d).
    std::size_t at = 0;
    for (std::size_t in = 0; in < ns.size(); ++in)
      if (std::abs(std::log(ns[in] / (0.138 * static_cast<double>(d)))) <
          std::abs(std::log(ns[at] / (0.138 * static_cast<double>(d)))))
        at = in;
    const double dd = static_cast<double>(d);
    HalfCrossing c = half_crossing(ns, frac[0]);
    table.row({dd, 0, 0, c.n, 0.138 * dd, c.n / dd, frac[0][at]},
              {"%.0f", "binary", "-", c.beyond ? ">%.0f" : "%.1f", "%.1f", "%.3f", "%.2f"});
    for (std::size_t k = 0; k < betas.size(); ++k) {
      c = half_crossing(ns, frac[1 + k]);
      const double pred = std::exp(predicted_log_capacity(betas[k], dd, g));
      table.row({dd, 1, betas[k], c.n, pred, c.n / dd, frac[1 + k][at]},
                {"%.0f", "modern", "%.3g", c.beyond ? ">%.0f" : "%.1f", pred > 1e6 ? "%.1e" : "%.1f", "%.3f", "%.2f"});
    }
    LinePlot plot(PlotOptions()
                      .title("Retrieval vs stored patterns, d = " + std::to_string(d))
                      .xlabel("stored patterns N")
                      .ylabel("fraction retrieved")
                      .log_x(true)
                      .ymin(0)
                      .ymax(1.02));
    plot.line("binary (Hebb, sign)", ns, frac[0], LineStyle().markers(true).color("#000000"));
    for (std::size_t k = 0; k < betas.size(); ++k)
      plot.line("modern, beta = " + experiment::fmt(betas[k]), ns, frac[1 + k], LineStyle().markers(true));
    plot.vline("0.138 d", 0.138 * dd);
    plot.save(common.path("capacity_d" + std::to_string(d) + ".svg"));
  }
  table.close();
  csv.close();
  std::printf("\nnetwork 0 = binary, 1 = modern (one update). N50_pred: 0.138 d for binary, the signal-to-noise\n"
              "estimate exp(ln N*) for modern; '>' = never fell below 1/2 up to N = 1024.\n");
  if (large_n > 0) {
    // One large memory in float32: N x d patterns (256 MB at 10^6 x 64), one update of every query.
    const std::size_t d = large_d, n = large_n, b = std::min(large_queries, large_n);
    const std::size_t f = static_cast<std::size_t>(std::lround(flip * static_cast<double>(d)));
    const double dd = static_cast<double>(d), g = dd - 2.0 * static_cast<double>(f);
    std::printf("\nLarge memory: N = %zu random +-1 patterns, d = %zu, %zu queries with %zu flipped bits, one update\n"
                "(float32, streaming association); paper bound: Theorem 3 with K = sqrt(d / (d - 1)), p = 0.001\n\n",
                n, d, b, f);
    Tensor x = random_binary_patterns(n, d, gen.next_u64(), Dtype::Float32);  // (N, d)
    std::vector<double> xv(b * d);
    for (std::size_t i = 0; i < b * d; ++i) xv[i] = x.flat(i);
    Tensor query = from_vector(flip_bits(xv, b, d, f, gen), {b, d}, Dtype::Float32);
    TextTable large(common.path("capacity_large.csv"),
                            {"N", "d", "beta", "retrieved", "seconds", "peak_rss_MB", "N*_pred", "paper_c", "paper_N>="});
    large.print_header();
    for (double beta : large_betas) {
      Stopwatch t;
      Tensor out = AssociativeMemory(x, MemoryOptions().beta(beta)).update(query);
      const double secs = t.seconds();
      const double frac_ok = fraction_retrieved(out.to_vector(), xv, b, d);
      const StorageBound pb = paper_storage_bound(beta, std::sqrt(dd / (dd - 1)), dd, 0.001);
      const double pred = std::exp(predicted_log_capacity(beta, dd, g));
      large.row({static_cast<double>(n), dd, beta, frac_ok, secs, peak_rss_mb(), pred, pb.c, pb.n},
                {"%.0f", "%.0f", "%.3g", "%.3f", "%.1f", "%.0f", "%.2e", "%.4f", pb.valid ? "%.3g" : "-"});
    }
    large.close();
    std::printf("\nretrieved: fraction with overlap >= 0.95 after one update; N*_pred: our signal-to-noise estimate\n"
                "(above); paper_N>=: the number of random patterns Theorem 3 guarantees storable ('-' where its\n"
                "condition on c fails). The bound is for patterns uniform on the sphere and a looser notion of\n"
                "retrieval, and far below what is measured.\n");
  }
  std::printf("wrote %s/{capacity_summary.csv, capacity_curves.csv, capacity_d*.svg%s}\ntime %.2f s\n",
              common.out.c_str(), large_n > 0 ? ", capacity_large.csv" : "", timer.seconds());
  return 0;
} catch (const std::exception& e) {
  return hf::cli::fail("hopfield-capacity", e);
}
