// The association core (float64 gradchecks with masks, zero association and batch-shared K/V, forward
// values against plain loops), the Hopfield modules (finite-difference checks through every parameter
// and input in several configurations) and option validation.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "hopfield/engine/association.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/hopfield_transformer.h"
#include "support.h"

using namespace hf;

namespace {

Tensor rnd(const Shape& s, std::uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  return mul(randn(s, Dtype::Float64, g), scale);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// Finite differences through a module's own parameters and the given inputs (all float64): the loss is
// sum(f() * dout) with a random dout; up to `probes` entries per tensor are perturbed in place (the module
// holds its parameters by shared storage, so perturbing the registered tensor changes the forward).
// Returns the worst relative error ||g - g_num|| / max(||g + g_num||, 1e-3) over the tensors.
double module_grad_error(Module& m, const std::vector<Tensor>& inputs, const std::function<Tensor()>& f,
                         std::size_t probes = 12) {
  std::vector<Tensor> ts = inputs;
  for (Tensor& p : m.parameters())
    if (p.requires_grad()) ts.push_back(p);
  m.zero_grad();
  for (Tensor& t : ts) t.zero_grad();
  Tensor out = f();
  Tensor dout = rnd(out.shape(), 99);
  out.backward(dout);
  auto loss = [&] {
    NoGrad ng;
    Tensor o = f();
    return sum(mul(o, dout)).item();
  };
  double worst = 0;
  Generator pick(7);
  for (Tensor& t : ts) {
    Tensor g = t.grad().defined() ? t.grad() : zeros(t.shape(), Dtype::Float64);
    double* p = t.data<double>();
    double num2 = 0, den2 = 0;
    for (std::size_t k = 0; k < std::min(probes, t.numel()); ++k) {
      const std::size_t i = t.numel() <= probes ? k : pick.below(t.numel());
      const double old = p[i], eps = 1e-6;
      p[i] = old + eps;
      const double lp = loss();
      p[i] = old - eps;
      const double lm = loss();
      p[i] = old;
      const double gn = (lp - lm) / (2 * eps), ga = g.flat(i);
      num2 += (ga - gn) * (ga - gn);
      den2 += (ga + gn) * (ga + gn);
    }
    worst = std::max(worst, std::sqrt(num2) / std::max(std::sqrt(den2), 1e-3));
  }
  return worst;
}

}  // namespace

// ----- the core -----

TEST_CASE("association_probs: forward equals a plain masked softmax of beta * q k^T") {
  const std::size_t n = 2, h = 2, l = 3, s = 4, hd = 2;
  Tensor q = rnd({n, l, h * hd}, 1), k = rnd({n, s, h * hd}, 2);
  Tensor pad = from_mask({false, true, false, false, false, false, false, true}, {n, s});
  Tensor xi = association_probs(q, k, h, 0.7, AssociationMasks{pad, Tensor()}, true);  // zero association
  REQUIRE(xi.shape() == Shape{n, h, l, s + 1});
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t hh = 0; hh < h; ++hh)
      for (std::size_t i = 0; i < l; ++i) {
        std::vector<double> z(s + 1, 0.0);
        double total = 0;
        for (std::size_t j = 0; j <= s; ++j) {
          if (j < s) {
            for (std::size_t c = 0; c < hd; ++c) z[j] += 0.7 * q.at({b, i, hh * hd + c}) * k.at({b, j, hh * hd + c});
            if (pad.at({b, j}) != 0) continue;
          }
          total += std::exp(z[j]);
        }
        for (std::size_t j = 0; j <= s; ++j) {
          const bool masked = j < s && pad.at({b, j}) != 0;
          const double want = masked ? 0.0 : std::exp(z[j]) / total;
          CHECK(xi.at({b, hh, i, j}) == doctest::Approx(want).epsilon(1e-12));
        }
      }
}

TEST_CASE("association_probs: gradcheck with padding and boolean association masks") {
  Tensor pad = from_mask({false, false, true, false, true, false, false, false, false, false}, {2, 5});
  Tensor assoc = from_mask({false, true, false, false, false, false, false, false, true, false, true, false, false, false, false},
                    {3, 5});
  auto r = gradcheck(
      [&](const std::vector<Tensor>& t) { return association_probs(t[0], t[1], 2, 0.9, AssociationMasks{pad, assoc}); },
      {rnd({2, 3, 6}, 3).requires_grad_(), rnd({2, 5, 6}, 4).requires_grad_()});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("association_probs: gradcheck with a 3-D float mask, zero association and batch-shared keys") {
  Tensor fmask = rnd({2 * 2, 3, 5}, 5, 0.5);  // (N*H, L, S)
  auto r = gradcheck(
      [&](const std::vector<Tensor>& t) {
        return association_probs(t[0], t[1], 2, 1.3, AssociationMasks{Tensor(), fmask}, true);
      },
      {rnd({2, 3, 4}, 6).requires_grad_(), rnd({1, 5, 4}, 7).requires_grad_()});
  INFO(r.report);
  CHECK(r.ok);
  // Shared queries (pooling patterns) against per-batch keys.
  auto r2 = gradcheck(
      [&](const std::vector<Tensor>& t) { return association_probs(t[0], t[1], 1, 0.8); },
      {rnd({1, 2, 3}, 8).requires_grad_(), rnd({3, 4, 3}, 9).requires_grad_()});
  INFO(r2.report);
  CHECK(r2.ok);
}

TEST_CASE("association_probs: a fully masked row gives zeros and zero gradient, not NaN") {
  Tensor pad = from_mask({true, true, true, false, false, false}, {2, 3});
  Tensor q = rnd({2, 2, 2}, 10).requires_grad_(), k = rnd({2, 3, 2}, 11);
  Tensor xi = association_probs(q, k, 1, 1.0, AssociationMasks{pad, Tensor()});
  for (std::size_t i = 0; i < 6; ++i) CHECK(xi.flat(i) == 0.0);
  CHECK(xi.flat(6) > 0.0);
  xi.backward(rnd(xi.shape(), 12));
  for (std::size_t i = 0; i < 4; ++i) CHECK(q.grad().flat(i) == 0.0);
}

TEST_CASE("associate: forward against loops, gradcheck with per-batch and batch-shared patterns") {
  Tensor xi = rnd({2, 2, 3, 5}, 13), v = rnd({1, 4, 6}, 14);  // S' = 5 > S = 4 (zero association column)
  Tensor out = associate(xi, v, 2);
  REQUIRE(out.shape() == Shape{2, 3, 6});
  double want = 0;
  for (std::size_t s = 0; s < 4; ++s) want += xi.at({1, 1, 2, s}) * v.at({0, s, 3 + 1});
  CHECK(out.at({1, 2, 4}) == doctest::Approx(want).epsilon(1e-12));
  for (std::size_t nv : {1, 2}) {
    auto r = gradcheck([&](const std::vector<Tensor>& t) { return associate(t[0], t[1], 2); },
                       {rnd({2, 2, 3, 5}, 15).requires_grad_(), rnd({nv, 4, 6}, 16).requires_grad_()});
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("fused_association: gradcheck with masks and zero association, equal to association_probs then associate") {
  // N=2, L=3, S=5 (S' = 6 with zero association), H=2, hd=3, pd=2 (v has a different per-head size).
  Tensor pad = from_mask({false, false, true, false, true, false, false, false, false, false}, {2, 5});
  Tensor assoc = from_mask({false, true, false, false, false, false, false, false, true, false, true, false, false, false, false},
                           {3, 5});
  Tensor fmask = rnd({2 * 2, 3, 5}, 60, 0.5);  // (N*H, L, S)
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    const AssociationMasks masks = variant == 0   ? AssociationMasks()
                                   : variant == 1 ? AssociationMasks{pad, assoc}
                                                  : AssociationMasks{pad, fmask};
    const bool zero = variant != 1;
    auto r = gradcheck(
        [&](const std::vector<Tensor>& t) { return fused_association(t[0], t[1], t[2], 2, 0.9, masks, zero); },
        {rnd({2, 3, 6}, 61).requires_grad_(), rnd({2, 5, 6}, 62).requires_grad_(), rnd({2, 5, 4}, 63).requires_grad_()});
    INFO(r.report);
    CHECK(r.ok);
    // Against the two ops it fuses: output, association matrix and every gradient.
    auto run = [&](bool fused) {
      std::vector<Tensor> t{rnd({2, 3, 6}, 64).requires_grad_(), rnd({2, 5, 6}, 65).requires_grad_(),
                            rnd({2, 5, 4}, 66).requires_grad_()};
      Tensor xi;
      Tensor out = fused ? fused_association(t[0], t[1], t[2], 2, 0.9, masks, zero, &xi)
                         : associate(xi = association_probs(t[0], t[1], 2, 0.9, masks, zero), t[2], 2);
      sum(mul(out, rnd(out.shape(), 67))).backward();
      t.push_back(out.detach());
      t.push_back(xi.detach());
      return t;
    };
    const std::vector<Tensor> a = run(true), b = run(false);
    CHECK(max_abs_diff(a[3], b[3]) < 1e-12);
    CHECK(max_abs_diff(a[4], b[4]) < 1e-12);
    for (std::size_t i = 0; i < 3; ++i) {
      INFO("input " << i);
      CHECK(max_abs_diff(a[i].grad(), b[i].grad()) < 1e-12);
    }
  }
  // Operands shared by the batch are the separate ops' case.
  CHECK_THROWS_AS(fused_association(rnd({2, 3, 4}, 1), rnd({1, 5, 4}, 2), rnd({2, 5, 4}, 3), 2, 1.0), Error);
  CHECK_THROWS_AS(fused_association(rnd({2, 3, 4}, 1), rnd({2, 5, 4}, 2), rnd({2, 4, 4}, 3), 2, 1.0), Error);
}

TEST_CASE("row_projection and select_heads: gradcheck") {
  auto r = gradcheck(
      [](const std::vector<Tensor>& t) { return row_projection(t[0], t[1], 2, 3, t[2], 4); },
      {rnd({2, 3, 4}, 17).requires_grad_(), rnd({6, 4}, 18).requires_grad_(), rnd({8}, 19).requires_grad_()});
  INFO(r.report);
  CHECK(r.ok);
  auto r2 = gradcheck(
      [](const std::vector<Tensor>& t) { return select_heads({t[0], t[1], t[2]}, {2, 0, 1}); },
      {rnd({2, 3, 2, 2}, 20).requires_grad_(), rnd({2, 3, 2, 2}, 21).requires_grad_(),
       rnd({2, 3, 2, 2}, 22).requires_grad_()});
  INFO(r2.report);
  CHECK(r2.ok);
  CHECK_THROWS_AS(row_projection(rnd({2, 3}, 1), rnd({4, 2}, 2), 0, 2), Error);
  CHECK_THROWS_AS(association_probs(rnd({2, 3, 4}, 1), rnd({2, 3, 5}, 2), 1, 1.0), Error);
}

TEST_CASE("affine_row_projection: gradcheck, and equal to layer_norm then row_projection") {
  // xhat (2, 3, 4) against rows [2, 5) of a (6, 4) weight and bias entries [4, 7) of an (8) bias.
  auto r = gradcheck(
      [](const std::vector<Tensor>& t) { return affine_row_projection(t[0], t[1], t[2], t[3], 2, 3, t[4], 4); },
      {rnd({2, 3, 4}, 40).requires_grad_(), rnd({4}, 41).requires_grad_(), rnd({4}, 42).requires_grad_(),
       rnd({6, 4}, 43).requires_grad_(), rnd({8}, 44).requires_grad_()});
  INFO(r.report);
  CHECK(r.ok);
  auto r2 = gradcheck([](const std::vector<Tensor>& t) { return affine_row_projection(t[0], t[1], Tensor(), t[2], 0, 6); },
                      {rnd({5, 4}, 45).requires_grad_(), rnd({4}, 46).requires_grad_(), rnd({6, 4}, 47).requires_grad_()});
  INFO(r2.report);
  CHECK(r2.ok);
  // Against the composition it replaces: outputs and every gradient, with x itself needing a gradient.
  const std::vector<Tensor> base{rnd({2, 3, 4}, 50), rnd({4}, 51), rnd({4}, 52), rnd({6, 4}, 53), rnd({8}, 54)};
  auto run = [&](bool fused) {
    std::vector<Tensor> t;
    for (const Tensor& b : base) t.push_back(b.clone().requires_grad_());
    Tensor y = fused ? affine_row_projection(layer_norm(t[0], 1, Tensor(), Tensor()), t[1], t[2], t[3], 2, 3, t[4], 4)
                     : row_projection(layer_norm(t[0], 1, t[1], t[2]), t[3], 2, 3, t[4], 4);
    sum(mul(y, rnd(y.shape(), 55))).backward();
    t.push_back(y.detach());
    return t;
  };
  const std::vector<Tensor> a = run(true), b = run(false);
  CHECK(max_abs_diff(a[5], b[5]) < 1e-12);
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("input " << i);
    CHECK(max_abs_diff(a[i].grad(), b[i].grad()) < 1e-12);
  }
  CHECK_THROWS_AS(affine_row_projection(rnd({2, 4}, 1), rnd({3}, 2), Tensor(), rnd({6, 4}, 3), 0, 2), Error);
  CHECK_THROWS_AS(affine_row_projection(rnd({2, 4}, 1), rnd({4}, 2), Tensor(), rnd({6, 4}, 3), 4, 3), Error);
}

TEST_CASE("pooled_association: gradcheck with masks, zero association, packed weights and shared queries") {
  // q (1, L=2, H*hd = 2*2) shared by the batch; y (3, S=4, Dk=3), x (3, 4, Dv=5); weight rows as in the
  // packed in_proj_weight (Wk and Wv from one tensor: its gradient gets both blocks).
  Tensor pad = from_mask({false, true, false, false, false, false, false, false, true, true, true, true}, {3, 4});
  Tensor fmask = rnd({3 * 2, 2, 4}, 30, 0.5);  // (N*H, L, S)
  for (bool zero : {false, true}) {
    auto r = gradcheck(
        [&](const std::vector<Tensor>& t) {
          return pooled_association(t[0], t[1], t[2], t[3], 1, t[4], 2, t[5], 0, t[4], 6, 2, 3, 0.8,
                                    AssociationMasks{pad, zero ? fmask : Tensor()}, zero);
        },
        {rnd({1, 2, 4}, 31).requires_grad_(), rnd({3, 4, 3}, 32).requires_grad_(), rnd({3, 4, 5}, 33).requires_grad_(),
         rnd({6, 3}, 34).requires_grad_(), rnd({12}, 35).requires_grad_(), rnd({6, 5}, 36).requires_grad_()});
    INFO(r.report);
    CHECK(r.ok);
  }
  // Per-batch queries, one weight tensor for both projections, no biases, y shared by the batch.
  auto r2 = gradcheck(
      [&](const std::vector<Tensor>& t) {
        return pooled_association(t[0], t[1], t[2], t[3], 0, Tensor(), 0, t[3], 2, Tensor(), 0, 1, 2, 1.1);
      },
      {rnd({2, 3, 2}, 37).requires_grad_(), rnd({1, 5, 4}, 38).requires_grad_(), rnd({2, 5, 4}, 39).requires_grad_(),
       rnd({4, 4}, 40).requires_grad_()});
  INFO(r2.report);
  CHECK(r2.ok);
  CHECK_THROWS_AS(pooled_association(rnd({1, 2, 4}, 1), rnd({2, 3, 3}, 2), rnd({2, 4, 3}, 3), rnd({4, 3}, 4), 0, Tensor(),
                                     0, rnd({4, 3}, 5), 0, Tensor(), 0, 2, 2, 1.0),
                  Error);  // S differs between y and x
}

TEST_CASE("pooled_association equals row projections + association_probs + associate (float64 and float32)") {
  for (Dtype dt : {Dtype::Float64, Dtype::Float32}) {
    const double tol = dt == Dtype::Float64 ? 1e-12 : 1e-5;
    Tensor pad = from_mask({false, false, true, false, false, true, false, false}, {2, 4});
    Tensor assoc = from_mask({false, true, false, false, false, false, true, false, false, false, false, false}, {3, 4});
    for (bool zero : {false, true}) {
      // Two copies of every input: one through each path.
      std::vector<Tensor> a{rnd({1, 3, 6}, 41), rnd({2, 4, 5}, 42), rnd({2, 4, 7}, 43), rnd({6, 5}, 44),
                            rnd({6, 7}, 45), rnd({12}, 46)};
      std::vector<Tensor> b;
      for (Tensor& t : a) {
        t = t.to(dt).requires_grad_();
        b.push_back(t.detach().clone().requires_grad_());
      }
      const AssociationMasks m{pad, assoc};
      Tensor p = pooled_association(a[0], a[1], a[2], a[3], 0, a[5], 0, a[4], 0, a[5], 6, 2, 3, 0.9, m, zero);
      Tensor k = row_projection(b[1], b[3], 0, 6, b[5], 0), v = row_projection(b[2], b[4], 0, 6, b[5], 6);
      Tensor d = associate(association_probs(b[0], k, 2, 0.9, m, zero), v, 2);
      CHECK(test::scaled_error(p.to(Dtype::Float64), d.to(Dtype::Float64)) <= tol);
      Tensor g = rnd(p.shape(), 47).to(dt);
      p.backward(g);
      d.backward(g);
      for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("input " << i << " zero association " << zero << " " << std::string(dtype_name(dt)));
        CHECK(test::scaled_error(a[i].grad().to(Dtype::Float64), b[i].grad().to(Dtype::Float64)) <= tol);
      }
    }
  }
}

// ----- modules -----

TEST_CASE("Hopfield: finite differences through parameters and inputs in several configurations") {
  struct Config {
    const char* what;
    HopfieldOptions o;
    bool pad;
  };
  std::vector<Config> configs{
      {"two heads, hidden_size 3", HopfieldOptions(4).num_heads(2).hidden_size(3), false},
      {"two update steps", HopfieldOptions(4).num_heads(2).scaling(1.5).update_steps_max(2), false},
      {"zero association + padding + tanh, no bias",
       HopfieldOptions(4).add_zero_association(true).association_activation("tanh").input_bias(false), true},
      {"Hopfield-space LayerNorm, separate weights",
       HopfieldOptions(4).num_heads(2).pattern_size(3).normalize_hopfield_space(true).normalize_hopfield_space_affine(true),
       false},
      {"connected projection, sizes", HopfieldOptions(4).stored_pattern_size(3).pattern_projection_size(3)
                                          .pattern_projection_as_connected(true).output_size(2), false},
      {"static state, no out projection",
       HopfieldOptions(2).num_heads(2).hidden_size(2).state_pattern_as_static(true).disable_out_projection(true), false},
  };
  for (auto& c : configs) {
    INFO(std::string(c.what));
    Hopfield m(c.o);
    m.to(Dtype::Float64);
    Generator g(3);
    for (Tensor& p : m.parameters()) {
      NoGrad ng;
      p.copy_(add(p, mul(randn(p.shape(), Dtype::Float64, g), 0.5)));
    }
    const std::size_t d = c.o.input_size();
    Tensor y = rnd({2, 4, m.stored_pattern_dim()}, 30).requires_grad_();
    Tensor r = rnd({2, 3, d}, 31).requires_grad_();
    Tensor x = rnd({2, 4, m.pattern_projection_dim()}, 32).requires_grad_();
    Tensor pad = c.pad ? from_mask({false, true, false, false, false, false, false, true}, {2, 4}) : Tensor();
    const double err = module_grad_error(m, {y, r, x}, [&] { return m.forward(y, r, x, pad); });
    // Central differences in float64 with eps 1e-6 leave ~1e-9 absolute noise; a wrong term gives O(1).
    CHECK(err < 1e-5);
  }
}

TEST_CASE("HopfieldPooling and HopfieldLayer: finite differences, shared patterns get batch-summed gradients") {
  HopfieldPooling pool(HopfieldPoolingOptions(HopfieldOptions(4).num_heads(2).update_steps_max(1)).quantity(2));
  pool.to(Dtype::Float64);
  Tensor x = rnd({3, 5, 4}, 40).requires_grad_();
  Tensor pad = from_mask(std::vector<bool>{false, false, false, false, true, false, false, false, false, false, true, true,
                                           false, false, false},
                         {3, 5});
  Tensor out = pool.forward(x, pad);
  CHECK(out.shape() == Shape{3, 2 * 4});
  CHECK(module_grad_error(pool, {x}, [&] { return pool.forward(x, pad); }) < 1e-5);

  HopfieldLayer lookup(HopfieldLayerOptions(HopfieldOptions(4).num_heads(2)).quantity(6).lookup_weights_as_separated(true));
  lookup.to(Dtype::Float64);
  Tensor s = rnd({3, 2, 4}, 41).requires_grad_();
  CHECK(lookup.forward(s).shape() == Shape{3, 2, 4});
  CHECK(module_grad_error(lookup, {s}, [&] { return lookup.forward(s); }) < 1e-5);
  HopfieldResult res = lookup.forward_with_details(s);
  CHECK(res.association_matrix.shape() == Shape{3, 2, 2, 6});
  CHECK(res.projected_patterns.shape() == Shape{3, 2, 6, 2});
}

TEST_CASE("Hopfield: update_steps_max=nullopt iterates until every head converged") {
  Hopfield m(HopfieldOptions(4).scaling(3.0).update_steps_max(std::nullopt).update_steps_eps(1e-3));
  m.to(Dtype::Float64);
  Tensor x = rnd({2, 5, 4}, 50);
  HopfieldResult r = m.forward_with_details(x, x, x);
  REQUIRE(r.update_steps.size() == 1);
  CHECK(r.update_steps[0] >= 1);
  // One more step changes the association matrix by less than eps (max over the batch).
  Hopfield capped(HopfieldOptions(4).scaling(3.0).update_steps_max(static_cast<int>(r.update_steps[0]) - 1));
  capped.load_state_dict(m.state_dict());
  capped.to(Dtype::Float64);
  HopfieldResult r0 = capped.forward_with_details(x, x, x);
  const double change = association_change(r.association_matrix, r0.association_matrix)[0];
  CHECK(change <= 1e-3);
}

TEST_CASE("Hopfield options: impossible combinations throw naming the options") {
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(5).num_heads(2)), doctest::Contains("num_heads=2"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).normalize_stored_pattern(false)),
                       doctest::Contains("normalize_stored_pattern_affine"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).stored_pattern_size(3).pattern_projection_as_connected(true)),
                       doctest::Contains("pattern_projection_as_connected"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).batch_first(false)), doctest::Contains("batch_first"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).association_activation("swish")),
                       doctest::Contains("association_activation"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).concat_bias_pattern(true)), doctest::Contains("concat_bias_pattern"),
                       Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).update_steps_eps(0.0)), doctest::Contains("update_steps_eps"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).update_steps_max(-1)), doctest::Contains("update_steps_max"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).dropout(1.0)), doctest::Contains("dropout"), Error);
  CHECK_THROWS_WITH_AS(Hopfield(HopfieldOptions(4).state_pattern_as_static(true).num_heads(2)),
                       doctest::Contains("state_pattern_as_static"), Error);
  CHECK_THROWS_WITH_AS(HopfieldPooling(HopfieldPoolingOptions(4).quantity(0)), doctest::Contains("quantity"), Error);
  Hopfield m(HopfieldOptions(4));
  CHECK_THROWS_WITH_AS(m.forward(randn({2, 3, 5})), doctest::Contains("(2, 3, 5)"), Error);
  CHECK_THROWS_WITH_AS(m.forward(randn({2, 3, 4}), from_mask(std::vector<bool>(4, false), {2, 2})),
                       doctest::Contains("stored_pattern_padding_mask"), Error);
}

TEST_CASE("Hopfield: parameter names are hflayers' state-dict keys") {
  Hopfield packed(HopfieldOptions(6).num_heads(2));
  auto names = packed.state_dict();
  for (const char* k : {"association_core.in_proj_weight", "association_core.in_proj_bias",
                        "association_core.out_proj.weight", "association_core.out_proj.bias", "norm_stored_pattern.weight",
                        "norm_state_pattern.bias", "norm_pattern_projection.weight"})
    CHECK_MESSAGE(names.count(k) == 1, k);
  CHECK(names.at("association_core.in_proj_weight").shape() == Shape{18, 6});
  Hopfield sep(HopfieldOptions(6).pattern_size(3).stored_pattern_size(5));
  CHECK(sep.state_dict().count("association_core.k_proj_weight") == 1);
  CHECK(sep.state_dict().at("association_core.k_proj_weight").shape() == Shape{6, 5});
  HopfieldLayer lookup(HopfieldLayerOptions(6).quantity(7));
  CHECK(lookup.state_dict().at("lookup_weights").shape() == Shape{1, 7, 6});
  CHECK(lookup.state_dict().count("hopfield.association_core.in_proj_weight") == 1);
}

TEST_CASE("HopfieldEncoderLayer / HopfieldDecoderLayer: shapes, eval is deterministic, finite differences") {
  HopfieldEncoderLayer enc(HopfieldEncoderLayerOptions(HopfieldOptions(4).num_heads(2)).dim_feedforward(6).dropout(0.2));
  enc.to(Dtype::Float64);
  enc.eval();
  Tensor x = rnd({2, 3, 4}, 60).requires_grad_();
  Tensor pad = from_mask({false, false, true, false, false, false}, {2, 3});
  CHECK(enc.forward(x, Tensor(), pad).shape() == Shape{2, 3, 4});
  CHECK(module_grad_error(enc, {x}, [&] { return enc.forward(x, Tensor(), pad); }) < 1e-5);

  HopfieldDecoderLayer dec(HopfieldDecoderLayerOptions(HopfieldOptions(4), HopfieldOptions(4).num_heads(2).update_steps_max(1))
                               .dim_feedforward(5)
                               .activation("gelu"));
  dec.to(Dtype::Float64);
  dec.eval();
  Tensor t = rnd({2, 3, 4}, 61).requires_grad_(), mem = rnd({2, 5, 4}, 62).requires_grad_();
  CHECK(dec.forward(t, mem).shape() == Shape{2, 3, 4});
  CHECK(module_grad_error(dec, {t, mem}, [&] { return dec.forward(t, mem); }) < 1e-5);
  CHECK_THROWS_WITH_AS(HopfieldEncoderLayer(HopfieldEncoderLayerOptions(HopfieldOptions(4).output_size(3))),
                       doctest::Contains("output_size"), Error);
  CHECK_THROWS_WITH_AS(HopfieldEncoderLayer(HopfieldEncoderLayerOptions(HopfieldOptions(4)).activation("swish")),
                       doctest::Contains("activation"), Error);
}

TEST_CASE("Hopfield layers refuse a non-3-D input naming the shapes they got") {
  HopfieldLayer layer(HopfieldLayerOptions(HopfieldOptions(3)).quantity(4));
  CHECK_THROWS_WITH_AS(layer.forward(zeros({5, 3})),
                       doctest::Contains("got stored (1, 4, 3), state (5, 3), projection (1, 4, 3)"), Error);
  Hopfield hopfield(HopfieldOptions(3));
  CHECK_THROWS_WITH_AS(hopfield.forward(zeros({2, 3}), zeros({1, 2, 3}), zeros({1, 2, 3}), Tensor(), Tensor()),
                       doctest::Contains("got stored (2, 3), state (1, 2, 3), projection (1, 2, 3)"), Error);
}

// The association dropout draws its masks from a generator seeded at construction from default_generator():
// manual_seed() decides them (same seed, same masks) and different seeds, or two modules built one after the
// other (ensemble members), get different ones. The weights are reset from one fixed Generator in every case,
// so only the masks can make the training-mode outputs differ.
TEST_CASE("Hopfield association dropout: masks follow manual_seed, not a fixed seed") {
  const Tensor x = rnd({3, 5, 4}, 70);
  auto build = [](std::uint64_t seed, int skip) {
    manual_seed(seed);
    for (int i = 0; i < skip; ++i) Hopfield(HopfieldOptions(4).dropout(0.5));  // an earlier ensemble member
    auto h = std::make_shared<Hopfield>(HopfieldOptions(4).num_heads(2).dropout(0.5));
    Generator weights(11);
    h->reset_parameters(weights);
    h->to(Dtype::Float64);
    h->train();
    return h;
  };
  auto train_out = [&](Hopfield& h) { return h.forward(x).to_vector(); };
  auto a = build(1, 0), b = build(1, 0), c = build(2, 0), d = build(1, 1);
  {
    NoGrad ng;
    a->eval(), c->eval();
    CHECK(a->forward(x).to_vector() == c->forward(x).to_vector());  // same weights: eval outputs agree
    a->train(), c->train();
  }
  const std::vector<double> ya = train_out(*a), yb = train_out(*b), yc = train_out(*c), yd = train_out(*d);
  CHECK(ya == yb);
  CHECK(ya != yc);
  CHECK(ya != yd);
  CHECK(train_out(*a) != ya);  // the stream moves on: the next step draws new masks
  // The transformer layers' residual dropout follows the same rule.
  auto layer_out = [&](std::uint64_t seed) {
    manual_seed(seed);
    HopfieldEncoderLayer enc(HopfieldEncoderLayerOptions(HopfieldOptions(4)).dim_feedforward(6).dropout(0.5));
    enc.to(Dtype::Float64);
    Generator weights(12);
    {
      NoGrad ng;
      for (Tensor& p : enc.parameters()) p.copy_(uniform(p.shape(), -0.5, 0.5, Dtype::Float64, weights));
    }
    enc.train();
    return enc.forward(x).to_vector();
  };
  CHECK(layer_out(3) == layer_out(3));
  CHECK(layer_out(3) != layer_out(4));
}
