// bit_pattern_replay_bench: replays, step by step, a bit-pattern training run recorded from the real hflayers by
// bench/bit_pattern_compare.py, with hopfield-cpp's DemoNet (hopfield/layers/models/demo_net.h), and prints where the two
// differ (issue 21 part 2: is the gap of the adapted variants in the layers, the loop or the optimiser?).
//
// The .npz holds the data (x, labels), the batch order, hflayers' initial and final parameters under DemoNet's
// names, and per step the loss and the total gradient norm before clipping. This program loads the initial
// parameters into a DemoNet of the recorded variant (dropout as recorded, normally 0), runs the notebook's step
// (zero_grad, BCE with logits, clip_grad_norm 1, AdamW) on the same batches in the recorded dtype, and prints
// per step both losses and gradient norms, then the largest difference of every final parameter and both
// held-out accuracies. The exit code is 0 whatever the differences are: this is a measuring tool.
//
//   /usr/bin/python3 bench/bit_pattern_compare.py --variant hopfield_pooling_adapted --steps 200 --out r.npz
//   build/bench/bit_pattern_replay_bench r.npz [--every 10]
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/models/demo_net.h"
#include "hopfield/layers/models/demo_runs.h"  // the demos' own runner, replayed as is
#include "hopfield/engine/blas.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/npz.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/clip_grad.h"

namespace {

using namespace hf;

Tensor rows_of(const Tensor& x, const std::vector<double>& index) {
  std::vector<double> ix(index.begin(), index.end());
  return index_select(x, 0, from_vector(ix, {ix.size()}, Dtype::Int64));
}

std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& all, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bit_pattern_replay_bench: replay an hflayers bit-pattern run (bench/bit_pattern_compare.py) step by "
               "step with DemoNet and print where the two differ"};
  std::string path;
  std::size_t every = 10;
  std::string our_data;
  app.add_option("file", path, "the .npz written by bench/bit_pattern_compare.py");
  app.add_option("--our-data", our_data,
                 "instead: write hopfield-bit-pattern's data set (bit_pattern_bags, the notebook's sizes) to this .npz "
                 "as x (2048, 16, 8), labels (2048), signals (8, 8), for bench/bit_pattern_compare.py --data-stats");
  app.add_option("--every", every, "print every k-th step (the first 5 always)")->check(CLI::Range(1, 1000000));
  std::size_t train_seeds = 0;
  std::uint64_t seed = 0;
  app.add_option("--train-seeds", train_seeds,
                 "instead of the replay: train the recorded variant as hopfield-bit-pattern does (250 epochs, the "
                 "notebook's adapted settings and dropout, our initialisation and random streams) but on the recorded "
                 "hflayers data set and split, with seeds --seed .. --seed+K-1, and print the summary")
      ->check(CLI::Range(0, 1000));
  app.add_option("--seed", seed, "first seed of --train-seeds");
  std::size_t init_stats = 0;
  app.add_option("--init-stats", init_stats,
                 "instead: build the recorded variant's DemoNet as hopfield-bit-pattern does for seeds 0..K-1 and print "
                 "per parameter the mean, std, min and max of the initial values pooled over the K networks (compare "
                 "with bench/bit_pattern_compare.py --init-stats K)")
      ->check(CLI::Range(0, 100000));
  CLI11_PARSE(app, argc, argv);
  try {
    blas::set_num_threads(1);
    if (!our_data.empty()) {
      const BitPatternSet set = bit_pattern_bags(BitPatternOptions(2048, 16, 8));
      const MilDataset& ds = set.bags;
      std::vector<double> xv, yv, sv;
      for (std::size_t b = 0; b < ds.num_bags(); ++b) {
        yv.push_back(static_cast<double>(ds.bag_labels[b]));
        for (std::size_t r = ds.bag_offsets[b]; r < ds.bag_offsets[b + 1]; ++r)
          xv.insert(xv.end(), ds.instance(r), ds.instance(r) + ds.num_features);
      }
      for (const auto& sig : set.signals) sv.insert(sv.end(), sig.begin(), sig.end());
      save_npz(our_data, {{"x", from_vector(xv, {ds.num_bags(), 16, 8})},
                          {"labels", from_vector(yv, {ds.num_bags()})},
                          {"signals", from_vector(sv, {set.signals.size(), 8})}});
      std::printf("wrote %s\n", our_data.c_str());
      return 0;
    }
    HF_CHECK(!path.empty(), "bit_pattern_replay_bench", "give the .npz of bench/bit_pattern_compare.py (or --our-data)");
    const auto a = load_npz(path);
    const Tensor x = a.at("x"), labels = a.at("labels"), batches = a.at("batches");
    const Dtype dt = x.dtype();
    const std::size_t steps = batches.size(0), bs = batches.size(1);
    const std::vector<double> settings = a.at("settings").to_vector(), bv = batches.to_vector();
    const std::size_t vid = static_cast<std::size_t>(a.at("variant_id").to_vector()[0]);
    const DemoVariant v = demo_variants(1, 1).at(vid);
    // The network's options: the notebooks' adapted settings with the recorded run's dropout.
    auto net_options = [&](std::size_t quantity, double dropout) {
      return DemoNetOptions(v.kind, x.size(2), x.size(1))
          .lookup_quantity(std::max<std::size_t>(quantity, 1))
          .adapted(v.adapted)
          .adapted_dropout(dropout);
    };
    if (train_seeds > 0) {
      // hflayers' bags as a MilDataset (bag ids 1.., labels 0/1) and its split, then the demo's own runner.
      MilDataset ds;
      ds.name = "bit-pattern (hflayers' BitPatternSet)";
      ds.num_features = x.size(2);
      const std::vector<double> xv = x.to_vector(), yv = labels.to_vector();
      const std::size_t per = x.size(1) * x.size(2);
      for (std::size_t b = 0; b < x.size(0); ++b)
        ds.add_bag(static_cast<std::int64_t>(b + 1), yv[b] > 0.5 ? 1 : 0,
                   std::vector<double>(xv.begin() + static_cast<std::ptrdiff_t>(b * per),
                                       xv.begin() + static_cast<std::ptrdiff_t>((b + 1) * per)));
      // run_all holds out the first and last eighth of the bags (the notebooks' split): so must the recording.
      const std::size_t n = ds.num_bags(), held = n / 8;
      std::vector<double> eval_want;
      for (std::size_t b = 0; b < n; ++b)
        if (b < held || b >= n - held) eval_want.push_back(static_cast<double>(b));
      HF_CHECK(a.at("eval").to_vector() == eval_want, "bit_pattern_replay_bench",
               path << ": its held-out bags are not the notebooks' split (first and last eighth)");
      DemoRunOptions s;
      s.seed = seed;
      s.quiet = true;
      s.num_seeds = train_seeds;
      s.variants = v.name;
      const nlohmann::json j = run_demo_variants("bit_pattern_replay_bench", ds, 250, 250, s);
      std::printf("%s\n", j.dump().c_str());
      return 0;
    }
    const auto init = with_prefix(a, "init."), fin = with_prefix(a, "final.");
    if (init_stats > 0) {
      std::map<std::string, std::vector<double>> pooled;
      std::vector<std::string> order;
      for (std::size_t k = 0; k < init_stats; ++k) {
        // As train_demo_variant with run_demo_variants' per-variant seed.
        const std::uint64_t sk = static_cast<std::uint64_t>(k) * 1000003ULL + vid;
        Generator g(sk);
        manual_seed(sk);
        std::size_t q = 0;
        if (init.count("hopfield_lookup.lookup_weights")) q = init.at("hopfield_lookup.lookup_weights").size(1);
        DemoNet n(net_options(q, DemoNetOptions(v.kind, 1, 1).adapted_dropout()), g);
        for (const auto& [name, p] : n.named_parameters()) {
          if (!pooled.count(name)) order.push_back(name);
          const std::vector<double> vals = p.to_vector();
          pooled[name].insert(pooled[name].end(), vals.begin(), vals.end());
        }
      }
      std::printf("%s: initial parameters over %zu seeds (ours)\n%-60s %10s %10s %10s %10s\n", v.name.c_str(), init_stats,
                  "parameter", "mean", "std", "min", "max");
      for (const std::string& name : order) {
        const std::vector<double>& u = pooled[name];
        double m = 0, ss = 0;
        for (double e : u) m += e;
        m /= static_cast<double>(u.size());
        for (double e : u) ss += (e - m) * (e - m);
        std::printf("%-60s %10.5f %10.5f %10.5f %10.5f\n", name.c_str(), m,
                    std::sqrt(ss / static_cast<double>(std::max<std::size_t>(1, u.size() - 1))),
                    *std::min_element(u.begin(), u.end()), *std::max_element(u.begin(), u.end()));
      }
      return 0;
    }
    std::size_t quantity = 0;
    if (init.count("hopfield_lookup.lookup_weights")) quantity = init.at("hopfield_lookup.lookup_weights").size(1);
    Generator gen(0);
    manual_seed(0);
    DemoNet net(net_options(quantity, settings[1]), gen);
    net.to(dt);
    net.load_state_dict(init, true);
    AdamW opt(net, AdamWOptions(settings[0]));
    const std::vector<Tensor> params = net.parameters();
    const std::vector<double> ref_loss = a.at("loss").to_vector(), ref_norm = a.at("grad_norm").to_vector();
    std::printf("%s, %s, %zu steps of %zu bags, lr %g, dropout %g\n", v.name.c_str(), dt == Dtype::Float64 ? "float64" : "float32",
                steps, bs, settings[0], settings[1]);
    {
      net.train();
      NoGrad ng;
      const std::vector<double> b(bv.begin(), bv.begin() + static_cast<std::ptrdiff_t>(bs));
      std::printf("first batch, initial logits: max |ours - hflayers| = %.3e\n",
                  max_abs_diff(net.forward(rows_of(x, b)), a.at("logits0")));
    }
    std::printf("%6s %14s %14s %10s %12s %12s %10s\n", "step", "loss_ours", "loss_hflayers", "|diff|", "gnorm_ours",
                "gnorm_hfl", "|diff|");
    double worst_loss = 0;
    for (std::size_t t = 0; t < steps; ++t) {
      const std::vector<double> b(bv.begin() + static_cast<std::ptrdiff_t>(t * bs),
                                  bv.begin() + static_cast<std::ptrdiff_t>((t + 1) * bs));
      net.train();
      opt.zero_grad();
      const Tensor z = net.forward(rows_of(x, b));
      Tensor loss = binary_cross_entropy_with_logits(z, rows_of(labels, b));
      loss.backward();
      if (t == 0) {
        std::printf("first step, gradients before clipping, max |ours - hflayers| (max |hflayers|):\n");
        const auto g0 = with_prefix(a, "grad0.");
        for (const auto& [k, p] : net.named_parameters())
          if (p.grad().defined())
            std::printf("  %-60s %.3e (%.3e)\n", k.c_str(), max_abs_diff(p.grad(), g0.at(k)), max_abs_diff(g0.at(k), zeros_like(g0.at(k))));
      }
      const double norm = clip_grad_norm(params, 1.0);
      opt.step();
      const double l = loss.item(), dl = std::abs(l - ref_loss[t]);
      worst_loss = std::max(worst_loss, dl);
      if (t < 5 || (t + 1) % every == 0 || t + 1 == steps)
        std::printf("%6zu %14.8f %14.8f %10.3e %12.6f %12.6f %10.3e\n", t + 1, l, ref_loss[t], dl, norm, ref_norm[t],
                    std::abs(norm - ref_norm[t]));
    }
    std::printf("largest loss difference over %zu steps: %.3e\nfinal parameters, max |ours - hflayers|:\n", steps,
                worst_loss);
    for (const auto& [k, p] : net.named_parameters()) std::printf("  %-60s %.3e\n", k.c_str(), max_abs_diff(p, fin.at(k)));
    {
      NoGrad ng;
      net.eval();
      const Tensor ev = a.at("eval");
      const std::vector<double> e = ev.to_vector();
      const std::vector<double> z = net.forward(rows_of(x, e)).to_vector(), y = rows_of(labels, e).to_vector();
      std::size_t right = 0;
      for (std::size_t i = 0; i < z.size(); ++i) right += ((z[i] > 0) == (y[i] > 0.5)) ? 1 : 0;
      std::printf("held-out accuracy after %zu steps: ours %.4f, hflayers %.4f\n", steps,
                  static_cast<double>(right) / static_cast<double>(z.size()), a.at("eval_accuracy").to_vector()[0]);
    }
  } catch (const std::exception& e) {
    std::cerr << "bit_pattern_replay_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
