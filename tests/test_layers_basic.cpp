// Basic layers: initialisers (bounds and sampling variance), Linear, LayerNorm, Conv1d, Embedding,
// Dropout, activations and Sequential — forward values against independent loops, float64 gradchecks
// through the modules' own parameters.
//
// gradcheck clones its inputs, so the checked functions bind the clones into the module's public tensor
// members before calling forward (forward reads only those members).
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <set>
#include <thread>

#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/layers.h"

using namespace hf;

namespace {

struct Moments {
  double mean = 0, var = 0, max_abs = 0;
};
Moments moments(const Tensor& t) {
  auto v = t.to_vector();
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) {
    m.var += (x - m.mean) * (x - m.mean);
    m.max_abs = std::max(m.max_abs, std::abs(x));
  }
  m.var /= static_cast<double>(v.size() - 1);
  return m;
}

Tensor randn64(const Shape& s, std::uint64_t seed) {
  Generator g(seed);
  return randn(s, Dtype::Float64, g);
}

}  // namespace

// ----- init -----

TEST_CASE("init: fan_in_and_fan_out follows torch for linear and conv layouts") {
  CHECK(init::fan_in_and_fan_out(empty({7, 3})) == std::pair<std::size_t, std::size_t>{3, 7});
  CHECK(init::fan_in_and_fan_out(empty({6, 4, 5})) == std::pair<std::size_t, std::size_t>{20, 30});
  CHECK_THROWS_WITH_AS(init::fan_in_and_fan_out(empty({5})), doctest::Contains("(5,)"), Error);
}

TEST_CASE("init: xavier_uniform_ of (400, 300) stays in bound with variance bound^2 / 3") {
  Tensor w = empty({400, 300});
  Generator gen(11);
  init::xavier_uniform_(w, 1.0, gen);
  const double bound = std::sqrt(6.0 / 700.0);
  Moments m = moments(w);
  CHECK(m.max_abs <= bound);
  CHECK(m.max_abs > 0.99 * bound);  // 120000 draws reach the edge
  // Sampling error of the variance is about 0.3% here; 2% fails for a wrong bound or fan.
  CHECK(std::abs(m.var / (bound * bound / 3.0) - 1.0) < 0.02);
  CHECK(std::abs(m.mean) < 0.01 * bound);
}

TEST_CASE("init: kaiming_uniform_ uses fan_in and the leaky_relu gain") {
  Generator gen(12);
  for (double a : {0.0, std::sqrt(5.0)}) {
    Tensor w = empty({200, 64, 3}, Dtype::Float64);
    init::kaiming_uniform_(w, a, gen);
    const double bound = std::sqrt(2.0 / (1.0 + a * a)) * std::sqrt(3.0 / 192.0);
    Moments m = moments(w);
    CHECK(m.max_abs <= bound);
    CHECK(std::abs(m.var / (bound * bound / 3.0) - 1.0) < 0.02);
  }
}

TEST_CASE("init: xavier_normal_, kaiming_normal_ and normal_ have the requested spread") {
  Generator gen(13);
  Tensor w = empty({300, 500});
  init::xavier_normal_(w, 2.0, gen);
  CHECK(std::abs(std::sqrt(moments(w).var) / (2.0 * std::sqrt(2.0 / 800.0)) - 1.0) < 0.02);
  init::kaiming_normal_(w, 0.0, gen);
  CHECK(std::abs(std::sqrt(moments(w).var) / std::sqrt(2.0 / 500.0) - 1.0) < 0.02);
  init::normal_(w, 3.0, 0.5, gen);
  Moments m = moments(w);
  CHECK(std::abs(m.mean - 3.0) < 0.01);
  CHECK(std::abs(std::sqrt(m.var) - 0.5) < 0.01);
}

TEST_CASE("init: constants, seeding, float64, bad arguments") {
  Tensor t = empty({3, 4}, Dtype::Float64);
  init::constant_(t, 2.5);
  for (double v : t.to_vector()) CHECK(v == 2.5);
  init::zeros_(t);
  for (double v : t.to_vector()) CHECK(v == 0.0);
  init::ones_(t);
  for (double v : t.to_vector()) CHECK(v == 1.0);
  Tensor a = empty({50, 20}), b = empty({50, 20});
  Generator g1(5), g2(5);
  init::uniform_(a, -1, 1, g1);
  init::uniform_(b, -1, 1, g2);
  CHECK(a.to_vector() == b.to_vector());
  init::uniform_(b, -1, 1, g2);
  CHECK(a.to_vector() != b.to_vector());
  CHECK_THROWS_AS(init::uniform_(a, 1.0, -1.0), Error);
  CHECK_THROWS_AS(init::normal_(a, 0.0, -1.0), Error);
  Tensor idx = from_indices({1, 2}, {2});
  CHECK_THROWS_WITH_AS(init::ones_(idx), doctest::Contains("int64"), Error);
}

// ----- Linear -----

TEST_CASE("Linear: forward over a 3-D input equals x W^T + b computed by loops") {
  Linear lin(LinearOptions(4, 3));
  CHECK(lin.weight.shape() == Shape{3, 4});
  CHECK(lin.bias.shape() == Shape{3});
  CHECK(lin.weight.dtype() == Dtype::Float32);
  Tensor x = randn({2, 5, 4});
  Tensor y = lin(x);
  REQUIRE(y.shape() == Shape{2, 5, 3});
  auto xv = x.to_vector(), wv = lin.weight.to_vector(), bv = lin.bias.to_vector(), yv = y.to_vector();
  for (std::size_t r = 0; r < 10; ++r)
    for (std::size_t o = 0; o < 3; ++o) {
      double s = bv[o];
      for (std::size_t i = 0; i < 4; ++i) s += xv[r * 4 + i] * wv[o * 4 + i];
      CHECK(yv[r * 3 + o] == doctest::Approx(s).epsilon(1e-5));
    }
  // A single vector is a batch of one.
  Tensor y1 = lin(reshape(narrow(reshape(x, {10, 4}), 0, 0, 1), {4}));
  REQUIRE(y1.shape() == Shape{3});
  for (std::size_t o = 0; o < 3; ++o) CHECK(y1.flat(o) == doctest::Approx(yv[o]).epsilon(1e-6));
}

TEST_CASE("Linear: torch initialisation bounds 1/sqrt(in_features)") {
  Linear lin(LinearOptions(64, 500));
  const double bound = 1.0 / std::sqrt(64.0);
  Moments mw = moments(lin.weight), mb = moments(lin.bias);
  CHECK(mw.max_abs <= bound);
  CHECK(mw.max_abs > 0.98 * bound);
  CHECK(std::abs(mw.var / (bound * bound / 3.0) - 1.0) < 0.03);
  CHECK(mb.max_abs <= bound);
  Generator g1(3), g2(3);
  lin.reset_parameters(g1);
  auto w1 = lin.weight.to_vector();
  lin.reset_parameters(g2);
  CHECK(lin.weight.to_vector() == w1);
}

TEST_CASE("Linear: gradcheck for input, weight and bias with a 3-D input") {
  auto lin = std::make_shared<Linear>(LinearOptions(4, 3));
  lin->to(Dtype::Float64);
  std::vector<Tensor> in{randn64({2, 3, 4}, 1).requires_grad_(), lin->weight, lin->bias};
  auto r = gradcheck(
      [lin](const std::vector<Tensor>& t) {
        lin->weight = t[1];
        lin->bias = t[2];
        return lin->forward(t[0]);
      },
      in);
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("Linear: without bias, and errors name the shapes") {
  Linear lin(LinearOptions(5, 2).bias(false));
  CHECK_FALSE(lin.bias.defined());
  CHECK(lin.named_parameters().size() == 1);
  CHECK(lin.num_parameters() == 10);
  CHECK_THROWS_WITH_AS(lin(randn({3, 4})), doctest::Contains("(3, 4)"), Error);
  CHECK_THROWS_WITH_AS(lin(randn({3, 4})), doctest::Contains("in_features=5"), Error);
  CHECK_THROWS_WITH_AS(lin(randn({3, 5}, Dtype::Float64)), doctest::Contains("float64"), Error);
  CHECK(lin.pretty_print() == "Linear(in_features=5, out_features=2, bias=False)");
}

// ----- LayerNorm -----

TEST_CASE("LayerNorm: rows come out with mean 0 and biased variance 1 / (1 + eps / var)") {
  LayerNorm ln(LayerNormOptions(6));
  CHECK(ln.weight.to_vector() == std::vector<double>(6, 1.0));
  CHECK(ln.bias.to_vector() == std::vector<double>(6, 0.0));
  ln.to(Dtype::Float64);
  Tensor x = randn64({4, 6}, 2) * 3.0 + 1.0;
  Tensor y = ln(x);
  auto xv = x.to_vector(), yv = y.to_vector();
  for (std::size_t r = 0; r < 4; ++r) {
    double mx = 0, vx = 0, my = 0, vy = 0;
    for (std::size_t k = 0; k < 6; ++k) mx += xv[r * 6 + k] / 6, my += yv[r * 6 + k] / 6;
    for (std::size_t k = 0; k < 6; ++k)
      vx += (xv[r * 6 + k] - mx) * (xv[r * 6 + k] - mx) / 6, vy += (yv[r * 6 + k] - my) * (yv[r * 6 + k] - my) / 6;
    CHECK(std::abs(my) < 1e-12);
    CHECK(vy == doctest::Approx(vx / (vx + 1e-5)).epsilon(1e-12));
  }
  CHECK_THROWS_WITH_AS(ln(randn64({4, 5}, 3)), doctest::Contains("normalized_size=6"), Error);
}

TEST_CASE("LayerNorm: gradcheck with and without elementwise affine") {
  SUBCASE("affine") {
    auto ln = std::make_shared<LayerNorm>(LayerNormOptions(5).eps(1e-3));
    ln->to(Dtype::Float64);
    // Non-trivial affine parameters, so a backward that ignores them fails.
    std::vector<Tensor> in{randn64({3, 2, 5}, 4).requires_grad_(), randn64({5}, 5).requires_grad_(),
                           randn64({5}, 6).requires_grad_()};
    auto r = gradcheck(
        [ln](const std::vector<Tensor>& t) {
          ln->weight = t[1];
          ln->bias = t[2];
          return ln->forward(t[0]);
        },
        in);
    INFO(r.report);
    CHECK(r.ok);
  }
  SUBCASE("no affine") {
    auto ln = std::make_shared<LayerNorm>(LayerNormOptions(7).elementwise_affine(false));
    CHECK(ln->named_parameters().empty());
    auto r = gradcheck([ln](const std::vector<Tensor>& t) { return ln->forward(t[0]); },
                       {randn64({4, 7}, 7).requires_grad_()});
    INFO(r.report);
    CHECK(r.ok);
  }
}

// ----- Conv1d -----

TEST_CASE("Conv1d: forward equals the direct cross-correlation loop") {
  auto conv = std::make_shared<Conv1d>(Conv1dOptions(3, 4, 3).stride(2).padding(2).dilation(2));
  conv->to(Dtype::Float64);
  Tensor x = randn64({2, 3, 9}, 8);
  Tensor y = conv->forward(x);
  const std::size_t L = 9, Lout = (L + 4 - 2 * 2 - 1) / 2 + 1;
  REQUIRE(y.shape() == Shape{2, 4, Lout});
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t o = 0; o < 4; ++o)
      for (std::size_t l = 0; l < Lout; ++l) {
        double s = conv->bias.flat(o);
        for (std::size_t c = 0; c < 3; ++c)
          for (std::size_t k = 0; k < 3; ++k) {
            const long pos = static_cast<long>(l * 2 + k * 2) - 2;
            if (pos >= 0 && pos < static_cast<long>(L))
              s += conv->weight.at({o, c, k}) * x.at({n, c, static_cast<std::size_t>(pos)});
          }
        CHECK(y.at({n, o, l}) == doctest::Approx(s).epsilon(1e-12));
      }
}

TEST_CASE("Conv1d: gradcheck over stride, padding and dilation") {
  struct Cfg {
    std::size_t stride, padding, dilation;
    bool bias;
  };
  for (Cfg c : {Cfg{1, 0, 1, true}, Cfg{2, 1, 1, true}, Cfg{1, 2, 2, false}, Cfg{3, 1, 2, true}}) {
    CAPTURE(c.stride);
    CAPTURE(c.padding);
    CAPTURE(c.dilation);
    auto conv = std::make_shared<Conv1d>(
        Conv1dOptions(2, 3, 3).stride(c.stride).padding(c.padding).dilation(c.dilation).bias(c.bias));
    conv->to(Dtype::Float64);
    std::vector<Tensor> in{randn64({2, 2, 8}, 9).requires_grad_(), conv->weight};
    if (c.bias) in.push_back(conv->bias);
    auto r = gradcheck(
        [conv](const std::vector<Tensor>& t) {
          conv->weight = t[1];
          if (t.size() > 2) conv->bias = t[2];
          return conv->forward(t[0]);
        },
        in);
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("Conv1d: torch init, printing and errors") {
  Conv1d conv(Conv1dOptions(16, 300, 5));
  const double bound = 1.0 / std::sqrt(80.0);
  CHECK(moments(conv.weight).max_abs <= bound);
  CHECK(std::abs(moments(conv.weight).var / (bound * bound / 3.0) - 1.0) < 0.03);
  CHECK(moments(conv.bias).max_abs <= bound);
  CHECK(conv.pretty_print() == "Conv1d(16, 300, kernel_size=(5,), stride=(1,))");
  Conv1d c2(Conv1dOptions(2, 3, 3).stride(2).padding(1).dilation(2).bias(false));
  CHECK(c2.pretty_print() == "Conv1d(2, 3, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), bias=False)");
  CHECK_THROWS_WITH_AS(conv(randn({1, 15, 20})), doctest::Contains("(1, 15, 20)"), Error);
  CHECK_THROWS_WITH_AS(Conv1d(Conv1dOptions(2, 3, 3).stride(0)), doctest::Contains("stride=0"), Error);
}

// ----- Embedding -----

TEST_CASE("Embedding: rows are looked up, weight ~ N(0, 1), gradients add up for repeated indices") {
  auto emb = std::make_shared<Embedding>(EmbeddingOptions(10, 4));
  Tensor idx = from_indices({3, 0, 3, 9, 1, 3}, {2, 3});
  Tensor y = emb->forward(idx);
  REQUIRE(y.shape() == Shape{2, 3, 4});
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(y.at({0, 0, k}) == emb->weight.at({3, k}));
    CHECK(y.at({1, 0, k}) == emb->weight.at({9, k}));
  }
  Embedding big(EmbeddingOptions(1000, 100));
  Moments m = moments(big.weight);
  CHECK(std::abs(m.mean) < 0.02);
  CHECK(std::abs(m.var - 1.0) < 0.03);

  emb->to(Dtype::Float64);
  auto r = gradcheck(
      [emb](const std::vector<Tensor>& t) {
        emb->weight = t[0];
        return emb->forward(t[1]);
      },
      {emb->weight, idx});
  INFO(r.report);
  CHECK(r.ok);
  CHECK_THROWS_WITH_AS(emb->forward(randn({2})), doctest::Contains("Int64"), Error);
  CHECK_THROWS_AS(emb->forward(from_indices({10}, {1})), Error);
}

TEST_CASE("Embedding: padding_idx row starts at zero, is read as is, and gets no gradient") {
  auto emb = std::make_shared<Embedding>(EmbeddingOptions(6, 3).padding_idx(-2));  // row 4
  CHECK(emb->pretty_print() == "Embedding(6, 3, padding_idx=-2)");
  for (std::size_t k = 0; k < 3; ++k) CHECK(emb->weight.at({4, k}) == 0.0);
  CHECK(emb->weight.at({3, 0}) != 0.0);
  emb->to(Dtype::Float64);
  {
    NoGrad ng;
    emb->weight.fill_(0.5);  // a padding row set by hand is still read (torch)
  }
  Tensor idx = from_indices({4, 1, 4, 2}, {4});
  Tensor y = emb->forward(idx);
  CHECK(y.at({0, 1}) == 0.5);
  Tensor g = randn64({4, 3}, 21);
  y.backward(g);
  Tensor gw = emb->weight.grad();
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(gw.at({4, k}) == 0.0);
    CHECK(gw.at({1, k}) == g.at({1, k}));
    CHECK(gw.at({2, k}) == g.at({3, k}));
  }
  // The padding row's gradient is zero by design, not by derivative: check the other five rows, with
  // the padding row held constant inside the function.
  Tensor pad_row = full({1, 3}, 0.5, Dtype::Float64);
  auto r = gradcheck(
      [emb, pad_row](const std::vector<Tensor>& t) {
        emb->weight = concat({narrow(t[0], 0, 0, 4), pad_row, narrow(t[0], 0, 4, 1)}, 0);
        return emb->forward(t[1]);
      },
      {randn64({5, 3}, 22).requires_grad_(), idx});
  INFO(r.report);
  CHECK(r.ok);
  CHECK_THROWS_WITH_AS(Embedding(EmbeddingOptions(6, 3).padding_idx(6)), doctest::Contains("padding_idx=6"), Error);
}

// ----- Dropout -----

TEST_CASE("Dropout: identity in eval, zero fraction about p in training, seeded and reproducible") {
  Dropout d(DropoutOptions().p(0.3).seed(42));
  Tensor x = ones({20000});
  Tensor y = d(x);
  std::size_t zeros_n = 0;
  for (double v : y.to_vector()) {
    if (v == 0.0) ++zeros_n;
    else CHECK(v == doctest::Approx(1.0 / 0.7));
  }
  // Binomial(20000, 0.3): std 65, so +-1% is 3 standard deviations.
  CHECK(std::abs(static_cast<double>(zeros_n) / 20000.0 - 0.3) < 0.01);
  Dropout same(DropoutOptions(0.3).seed(42));
  CHECK(same(x).to_vector() == y.to_vector());
  d.eval();
  CHECK(d(x).to_vector() == x.to_vector());

  // Unseeded layers draw their seed from the default generator: distinct streams, fixed by manual_seed.
  manual_seed(7);
  Dropout a(0.5), b(0.5);
  auto ya = a(x).to_vector();
  CHECK(ya != b(x).to_vector());
  manual_seed(7);
  Dropout a2(0.5);
  CHECK(a2(x).to_vector() == ya);
  CHECK_THROWS_WITH_AS(Dropout(1.5), doctest::Contains("p=1.5"), Error);
  CHECK(Dropout(0.1).pretty_print() == "Dropout(p=0.1)");
}

TEST_CASE("default_generator is per thread: a worker starts at seed 0 and its manual_seed stays its own") {
  // Worker threads build modules (whose constructors draw from default_generator) concurrently; a
  // shared generator was a data race. Here the main thread's seed must not reach the worker, and the
  // worker's must not come back.
  Generator fresh(0), seeded(5);
  const std::vector<double> expect_worker = {fresh.uniform(), fresh.uniform()};
  manual_seed(5);
  const double main_first = default_generator().uniform();
  std::vector<double> worker;
  std::thread t([&] {
    worker = {default_generator().uniform(), default_generator().uniform()};
    manual_seed(99);
  });
  t.join();
  CHECK(worker == expect_worker);
  CHECK(main_first == seeded.uniform());
  CHECK(default_generator().uniform() == seeded.uniform());  // the worker's manual_seed(99) did not touch it
}

// ----- activations and Sequential -----

TEST_CASE("activation modules compute their functions") {
  Tensor x = from_vector(std::vector<double>{-2.0, -0.5, 0.0, 0.5, 2.0}, {5}, Dtype::Float64);
  auto xv = x.to_vector();
  auto check_fn = [&](UnaryModule& m, auto f) {
    auto yv = m(x).to_vector();
    for (std::size_t i = 0; i < xv.size(); ++i) CHECK(yv[i] == doctest::Approx(f(xv[i])).epsilon(1e-12));
  };
  ReLU relu_m;
  check_fn(relu_m, [](double v) { return v > 0 ? v : 0.0; });
  Tanh tanh_m;
  check_fn(tanh_m, [](double v) { return std::tanh(v); });
  Sigmoid sig_m;
  check_fn(sig_m, [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
  GELU gelu_m;
  check_fn(gelu_m, [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); });
  SELU selu_m;
  const double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
  check_fn(selu_m, [&](double v) { return scale * (v > 0 ? v : alpha * (std::exp(v) - 1.0)); });
  LeakyReLU leaky(LeakyReLUOptions().negative_slope(0.2));
  check_fn(leaky, [](double v) { return v > 0 ? v : 0.2 * v; });
  CHECK(ReLU().pretty_print() == "ReLU()");
}

TEST_CASE("Sequential(Linear, Tanh, Linear): names, forward chain, gradcheck") {
  auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
      std::make_shared<Linear>(LinearOptions(4, 6)), std::make_shared<Tanh>(),
      std::make_shared<Linear>(LinearOptions(6, 2))});
  std::vector<std::string> names;
  for (auto& [n, t] : net->named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  net->to(Dtype::Float64);
  Tensor x = randn64({3, 4}, 10);
  auto l0 = net->at<Linear>(0), l2 = net->at<Linear>(2);
  Tensor manual = l2->forward(tanh(l0->forward(x)));
  CHECK(net->forward(x).to_vector() == manual.to_vector());

  std::vector<Tensor> in{x.requires_grad_()};
  for (auto& p : net->parameters()) in.push_back(p);
  auto r = gradcheck(
      [l0, l2, net](const std::vector<Tensor>& t) {
        l0->weight = t[1];
        l0->bias = t[2];
        l2->weight = t[3];
        l2->bias = t[4];
        return net->forward(t[0]);
      },
      in);
  INFO(r.report);
  CHECK(r.ok);
  CHECK_THROWS_WITH_AS(net->at<Linear>(1), doctest::Contains("Tanh"), Error);
  CHECK_THROWS_WITH_AS((*net)[3], doctest::Contains("index 3"), Error);
  Sequential empty_seq;
  CHECK(empty_seq.forward(x).same(x));
}
