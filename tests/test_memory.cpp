// AssociativeMemory (layers/memory.h) against values worked out by hand, its gradients through
// retrieve, energy descent on random cases; the binary Hopfield baseline; the SVG/CSV/PGM writers.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "hopfield/engine/association.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/report/image.h"
#include "hopfield/engine/ops.h"
#include "hopfield/report/plot.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/binary_hopfield.h"
#include "hopfield/layers/memory.h"

using namespace hf;

namespace {
Tensor f64(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, Dtype::Float64); }

// The hand-worked two-pattern case: Y = I_2 (y1 = e1, y2 = e2, so N = 2, d = 2, M = 1), beta = ln 3.
//
// Query xi0 = (1, 0): beta Y xi0 = (ln 3, 0), exp -> (3, 1), softmax p0 = (3/4, 1/4),
//   update xi1 = Y^T p0 = (0.75, 0.25).
//   E(xi0) = -(1/ln 3) ln(3 + 1) + 1/2 |xi0|^2 + (1/ln 3) ln 2 + 1/2 M^2
//          = -2 ln2/ln3 + 1/2 + ln2/ln3 + 1/2 = 1 - ln 2 / ln 3 = 0.36907024642854...
// Second step: beta Y xi1 = (0.75 ln3, 0.25 ln3), exp -> (3^0.75, 3^0.25), ratio 3^0.5, so
//   p1 = (sqrt3/(1+sqrt3), 1/(1+sqrt3)) = (0.63397459621556, 0.36602540378444) = xi2.
//   E(xi1) = -(1/ln3) ln(3^0.25 (sqrt3 + 1)) + 1/2 (0.5625 + 0.0625) + ln2/ln3 + 1/2
//          = 0.5625 - (ln(1 + sqrt3) - ln 2)/ln 3 = 0.27859150798725...
// Fixed point: with u = x1 - x2 and x2 = 1 - x1 after one step, the update is u <- 2 sigmoid(beta u) - 1
//   = tanh(beta u / 2). For beta = ln 3 the slope at 0 is ln3/2 = 0.55 < 1, so u -> 0: the global
//   average (1/2, 1/2), where E = -(1/beta) ln(2 e^{beta/2}) + 1/4 + ln2/beta + 1/2 = 1/4.
//   For beta = 4, u = tanh(2u) has the root u* = 0.95750402407727 (fixed-point iteration in the
//   comment's derivation), i.e. the state ((1 + u*)/2, (1 - u*)/2) = (0.97875201203863, 0.02124798796137)
//   next to pattern 1.
const double kLn3 = std::log(3.0);

// Structural SVG check: every opening tag is closed in order, the root is <svg>.
bool well_formed(const std::string& s, std::string& why) {
  if (s.rfind("<svg", 0) != 0) {
    why = "does not start with <svg";
    return false;
  }
  std::vector<std::string> stack;
  std::size_t pos = 0, tags = 0;
  while ((pos = s.find('<', pos)) != std::string::npos) {
    std::size_t end = s.find('>', pos);
    if (end == std::string::npos) {
      why = "unterminated tag at " + std::to_string(pos);
      return false;
    }
    std::string tag = s.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    ++tags;
    if (tag.empty()) {
      why = "empty tag";
      return false;
    }
    if (tag[0] == '/') {
      std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) {
        why = "closing </" + name + "> does not match " + (stack.empty() ? "nothing" : "<" + stack.back() + ">");
        return false;
      }
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
  }
  if (!stack.empty()) {
    why = "unclosed <" + stack.back() + ">";
    return false;
  }
  if (s.find("nan") != std::string::npos || s.find("inf") != std::string::npos) {
    why = "contains nan/inf";
    return false;
  }
  why = std::to_string(tags) + " tags";
  return tags > 3;
}

std::filesystem::path temp_dir(const char* name) {
  auto p = std::filesystem::temp_directory_path() / ("hf_test_memory_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::create_directories(p);
  return p;
}
}  // namespace

TEST_CASE("memory: two-pattern case by hand (float64)") {
  AssociativeMemory mem(f64({1, 0, 0, 1}, {2, 2}), MemoryOptions().beta(kLn3));
  Tensor xi0 = f64({1, 0}, {2});
  CHECK(mem.energy(xi0).item() == doctest::Approx(1 - std::log(2.0) / kLn3).epsilon(1e-14));
  CHECK(mem.energy(xi0).item() == doctest::Approx(0.36907024642854).epsilon(1e-12));
  auto p0 = mem.association(xi0).to_vector();
  CHECK(p0[0] == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(p0[1] == doctest::Approx(0.25).epsilon(1e-15));
  auto x1 = mem.update(xi0).to_vector();
  CHECK(x1[0] == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(x1[1] == doctest::Approx(0.25).epsilon(1e-15));

  Trajectory tr = mem.retrieve(xi0, RetrieveOptions().max_steps(2).tol(0));
  REQUIRE(tr.states.size() == 3);
  REQUIRE(tr.energies.size() == 3);
  REQUIRE(tr.weights.size() == 3);
  CHECK(tr.steps == 2);
  CHECK_FALSE(tr.converged);
  CHECK(tr.energies[1].item() == doctest::Approx(0.27859150798725).epsilon(1e-12));
  auto x2 = tr.states[2].to_vector();
  CHECK(x2[0] == doctest::Approx(std::sqrt(3.0) / (1 + std::sqrt(3.0))).epsilon(1e-14));
  CHECK(x2[1] == doctest::Approx(0.36602540378444).epsilon(1e-12));
  auto w1 = tr.weights[1].to_vector();  // the association that produced xi2
  CHECK(w1[0] == doctest::Approx(x2[0]).epsilon(1e-15));

  Trajectory full = mem.retrieve(xi0, RetrieveOptions().max_steps(500).tol(1e-13));
  CHECK(full.converged);
  CHECK(full.state().to_vector()[0] == doctest::Approx(0.5).epsilon(1e-11));
  CHECK(full.state().to_vector()[1] == doctest::Approx(0.5).epsilon(1e-11));
  CHECK(full.energies.back().item() == doctest::Approx(0.25).epsilon(1e-11));

  AssociativeMemory sharp(f64({1, 0, 0, 1}, {2, 2}), MemoryOptions().beta(4.0));
  Trajectory ts = sharp.retrieve(xi0, RetrieveOptions().max_steps(500).tol(1e-14));
  CHECK(ts.converged);
  CHECK(ts.state().to_vector()[0] == doctest::Approx(0.97875201203863).epsilon(1e-11));
  CHECK(ts.state().to_vector()[1] == doctest::Approx(0.02124798796137).epsilon(1e-9));

  auto sep = mem.separation().to_vector();
  CHECK(sep[0] == 1.0);
  CHECK(sep[1] == 1.0);
  CHECK(mem.max_norm_sq().item() == 1.0);
}

TEST_CASE("memory: batched queries match single ones - float32 agrees with float64") {
  Generator gen(3);
  Tensor y = randn({5, 4}, Dtype::Float64, gen);
  Tensor xi = randn({3, 4}, Dtype::Float64, gen);
  AssociativeMemory mem(y, MemoryOptions().beta(0.7));
  Tensor e = mem.energy(xi), u = mem.update(xi);
  CHECK(e.shape() == Shape{3});
  CHECK(u.shape() == Shape{3, 4});
  for (std::size_t b = 0; b < 3; ++b) {
    Tensor row = squeeze(narrow(xi, 0, b, 1), 0);
    CHECK(mem.energy(row).item() == doctest::Approx(e.flat(b)).epsilon(1e-14));
    auto ur = mem.update(row).to_vector();
    for (std::size_t k = 0; k < 4; ++k) CHECK(ur[k] == doctest::Approx(u.flat(b * 4 + k)).epsilon(1e-14));
  }
  AssociativeMemory mem32(y.to(Dtype::Float32), MemoryOptions().beta(0.7));
  Trajectory t64 = mem.retrieve(xi, RetrieveOptions().max_steps(5).tol(0));
  Trajectory t32 = mem32.retrieve(xi.to(Dtype::Float32), RetrieveOptions().max_steps(5).tol(0));
  CHECK(t32.state().dtype() == Dtype::Float32);
  auto a = t64.state().to_vector(), b = t32.state().to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-5));
}

TEST_CASE("memory: gradcheck through energy, update and a 3-step retrieve") {
  Generator gen(11);
  Tensor y = randn({4, 3}, Dtype::Float64, gen).requires_grad_();
  Tensor xi = randn({2, 3}, Dtype::Float64, gen).requires_grad_();
  auto state_fn = [](const std::vector<Tensor>& in) {
    AssociativeMemory m(in[0], MemoryOptions().beta(0.9));
    return m.retrieve(in[1], RetrieveOptions().max_steps(3).tol(0)).state();
  };
  auto r = gradcheck(state_fn, {y, xi});
  INFO(r.report);
  CHECK(r.ok);
  // The energies along the path depend on Y through the logits and M^2, on xi through every state.
  auto energy_fn = [](const std::vector<Tensor>& in) {
    AssociativeMemory m(in[0], MemoryOptions().beta(1.3));
    Trajectory t = m.retrieve(in[1], RetrieveOptions().max_steps(3).tol(0));
    return stack(t.energies, 0);  // (4, B)
  };
  auto re = gradcheck(energy_fn, {y, xi});
  INFO(re.report);
  CHECK(re.ok);
  auto assoc_fn = [](const std::vector<Tensor>& in) {
    return AssociativeMemory(in[0], MemoryOptions().beta(2.0)).association(in[1]);
  };
  auto ra = gradcheck(assoc_fn, {y, xi});
  INFO(ra.report);
  CHECK(ra.ok);
}

TEST_CASE("memory: energy never increases along retrieve and stays in [0, 2 M^2]") {
  double worst = -1;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Generator gen(seed);
    const std::size_t n = 3 + seed * 3, d = 2 + seed * 2;
    for (double beta : {0.05, 0.5, 2.0, 20.0}) {
      Tensor y = mul(randn({n, d}, Dtype::Float64, gen), 0.5 + static_cast<double>(seed) * 0.3);
      Tensor xi = mul(randn({4, d}, Dtype::Float64, gen), 2.0);
      AssociativeMemory mem(y, MemoryOptions().beta(beta));
      Trajectory t = mem.retrieve(xi, RetrieveOptions().max_steps(60).tol(0));
      const double m2 = mem.max_norm_sq().item();
      for (std::size_t s = 0; s < t.energies.size(); ++s) {
        auto e = t.energies[s].to_vector();
        for (std::size_t b = 0; b < e.size(); ++b) {
          CHECK(e[b] >= -1e-12 * m2);
          if (s >= 1) CHECK(e[b] <= 2 * m2 * (1 + 1e-12));
          if (s == 0) continue;
          double prev = t.energies[s - 1].flat(b);
          double rel = (e[b] - prev) / std::max(1.0, std::abs(prev));
          worst = std::max(worst, rel);
        }
      }
    }
  }
  MESSAGE("largest relative energy increase: " << worst);
  CHECK(worst <= 1e-12);
}

TEST_CASE("memory: bad arguments throw hf::Error naming the problem") {
  Tensor y = zeros({3, 4}, Dtype::Float64);
  CHECK_THROWS_AS(AssociativeMemory(y, MemoryOptions().beta(0)), Error);
  CHECK_THROWS_AS(AssociativeMemory(zeros({4}, Dtype::Float64)), Error);
  AssociativeMemory mem(y);
  CHECK_THROWS_WITH_AS(mem.update(zeros({2, 5}, Dtype::Float64)), doctest::Contains("pattern size d differs"), Error);
  CHECK_THROWS_AS(mem.energy(zeros({2, 4}, Dtype::Float32)), Error);
}

TEST_CASE("binary hopfield: Hebbian weights by hand, retrieval of a stored pattern") {
  // One pattern x = (1, -1, 1): W = (1/3) x x^T with zero diagonal.
  BinaryHopfield one(f64({1, -1, 1}, {1, 3}));
  auto w = one.weights().to_vector();
  const std::vector<double> expect = {0, -1, 1, -1, 0, -1, 1, -1, 0};
  for (std::size_t i = 0; i < 9; ++i) CHECK(w[i] == doctest::Approx(expect[i] / 3.0).epsilon(1e-15));
  // E(x) = -1/2 x^T W x = -1/2 * (6/3) = -1.
  CHECK(one.energy(f64({1, -1, 1}, {1, 3})).item() == doctest::Approx(-1.0));

  const std::size_t n = 4, d = 100;
  Tensor pats = random_binary_patterns(n, d, 5);
  BinaryHopfield net(pats);
  std::vector<double> q = pats.to_vector();
  q.resize(2 * d);  // queries: patterns 0 and 1 with 12 flipped bits each
  for (std::size_t k = 0; k < 12; ++k) {
    q[k * 7] = -q[k * 7];
    q[d + k * 5 + 1] = -q[d + k * 5 + 1];
  }
  BinaryRetrieval r = net.retrieve(f64(q, {2, d}), BinaryRetrieveOptions().seed(1));
  CHECK(r.converged);
  auto out = r.states.to_vector(), ref = pats.to_vector();
  for (std::size_t i = 0; i < 2 * d; ++i) REQUIRE(out[i] == ref[i]);
  // The energy does not increase from the noisy query to the retrieved pattern.
  CHECK(net.energy(r.states).flat(0) < net.energy(f64(q, {2, d})).flat(0));
  CHECK_THROWS_AS(BinaryHopfield(f64({1, 0.5}, {1, 2})), Error);
}

TEST_CASE("plot: line plots, heatmaps and image grids are well-formed SVG") {
  std::string why;
  LinePlot p(PlotOptions().title("a < b & c").xlabel("x").ylabel("y").log_y(true));
  p.line("measured", {1, 2, 3, 4}, {1e-3, 0.0, 1e-1, NAN}, LineStyle().markers(true));  // 0 and NaN skipped
  p.line("bound", {1, 2, 3, 4}, {1e-2, 1e-1, 1, 10}, LineStyle().dashed(true));
  p.hline("limit", 0.5);
  std::string s = p.svg();
  CHECK_MESSAGE(well_formed(s, why), why);
  CHECK(s.find("a &lt; b &amp; c") != std::string::npos);
  CHECK(s.find("<polyline") != std::string::npos);
  CHECK_THROWS_AS(LinePlot().line("bad", {1, 2}, {1}), Error);

  std::string h = heatmap_svg(f64({0, 0.5, 1, 0.25, 0.75, 1}, {2, 3}), HeatmapOptions().title("w"));
  CHECK_MESSAGE(well_formed(h, why), why);
  CHECK(h.find("#440154") != std::string::npos);  // viridis start colour at the minimum
  CHECK(h.find("#fde725") != std::string::npos);  // and its end colour at the maximum

  ImageGrid g(ImageGridOptions().columns({"a", "b"}));
  g.row("r", {f64({0, 1, 1, 0}, {2, 2}), f64({0.5, 0.5, 0.5, 0.5}, {2, 2})});
  std::string gi = g.svg();
  CHECK_MESSAGE(well_formed(gi, why), why);
  CHECK(gi.find("#ffffff") != std::string::npos);
  CHECK(gi.find("#808080") != std::string::npos);
}

TEST_CASE("plot: CSV and PGM files round-trip") {
  auto dir = temp_dir("files");
  {
    CsvWriter csv((dir / "t.csv").string(), {"a", "b"});
    csv.row({1.5, -2}).row({3, 1e-9});
  }
  std::ifstream f(dir / "t.csv");
  std::stringstream ss;
  ss << f.rdbuf();
  CHECK(ss.str() == "a,b\n1.5,-2\n3,1e-09\n");

  Tensor im = f64({0, 0.25, 0.5, 1, 0.75, 0.1}, {2, 3});
  save_pgm((dir / "im.pgm").string(), im);
  Tensor back = load_pgm((dir / "im.pgm").string(), Dtype::Float64);
  REQUIRE(back.shape() == Shape{2, 3});
  for (std::size_t i = 0; i < 6; ++i) CHECK(std::abs(back.flat(i) - im.flat(i)) <= 0.5 / 255 + 1e-12);
  // A text P2 file with a comment.
  {
    std::ofstream t(dir / "t.pgm");
    t << "P2\n# comment\n2 1\n4\n0 4\n";
  }
  Tensor p2 = load_pgm((dir / "t.pgm").string(), Dtype::Float64);
  CHECK(p2.flat(0) == 0.0);
  CHECK(p2.flat(1) == 1.0);
  {
    std::ofstream t(dir / "bad.pgm", std::ios::binary);
    t << "P5\n4 4\n255\nab";  // 2 of 16 bytes
  }
  CHECK_THROWS_WITH_AS(load_pgm((dir / "bad.pgm").string()), doctest::Contains("truncated"), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("memory: matches the Hopfield association core on projected patterns (one head)") {
  // hflayers' association softmax(scaling * Q K^T) is the memory's association with Y = K, beta = scaling.
  Generator gen(21);
  Tensor q = randn({1, 3, 4}, Dtype::Float64, gen);  // (N=1, L, hd)
  Tensor k = randn({1, 5, 4}, Dtype::Float64, gen);  // (N=1, S, hd)
  Tensor core = association_probs(q, k, 1, 0.7);     // (1, 1, L, S)
  Tensor mine = memory_from_projected(squeeze(k, 0), 0.7).association(squeeze(q, 0));  // (L, S)
  REQUIRE(core.numel() == mine.numel());
  for (std::size_t i = 0; i < mine.numel(); ++i) CHECK(mine.flat(i) == doctest::Approx(core.flat(i)).epsilon(1e-13));
}
