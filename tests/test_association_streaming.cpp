// The streaming association core (issue 20): outputs and all gradients against the dense core
// (association_probs + associate) with float64 relative error <= 1e-12 and float32 <= 1e-5 (a saturated
// float32 softmax: q/k gradients within 1e-4 of float64, see that case), over heads,
// beta, padding / boolean / float association masks, zero association, batch-shared q / k / v and chunk
// sizes that split S unevenly; a float64 finite-difference gradcheck; the streamed stopping statistic
// against association_change; and the Hopfield modules with streaming forced on against forced off
// (masks, heads, update steps with per-head stopping, pooling and layer), plus the automatic choice.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/engine/association.h"
#include "hopfield/engine/association_streaming.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/gradcheck.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/memory.h"
#include "hopfield/report/process.h"

using namespace hf;

namespace {

Tensor rnd(const Shape& s, std::uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  return mul(randn(s, Dtype::Float64, g), scale);
}

// max|a - b| / max|b|: the relative error of a against the reference b (both defined, same shape).
double rel_err(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double num = 0, den = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    num = std::max(num, std::abs(va[i] - vb[i]));
    den = std::max(den, std::abs(vb[i]));
  }
  return den == 0 ? num : num / den;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double x : t.to_vector()) m = std::max(m, std::abs(x));
  return m;
}

double tol_of(Dtype dtype) { return dtype == Dtype::Float64 ? 1e-12 : 1e-5; }

struct CoreCase {
  std::string name;
  Shape q, k, v;
  std::size_t heads;
  double beta;
  bool zero;
  int mask;  // 0 none, 1 padding + 2-D bool, 2 3-D float mask with -inf entries, 3 padding masking a whole row
};

AssociationMasks masks_for(const CoreCase& c, std::size_t n, std::size_t l, std::size_t s) {
  AssociationMasks m;
  if (c.mask == 1 || c.mask == 3) {
    Tensor pad = zeros({n, s}, Dtype::Bool);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < s; ++j)
        if ((i + 2 * j) % 5 == 1 || (c.mask == 3 && i == 0)) pad.data<std::uint8_t>()[i * s + j] = 1;
    m.stored_pattern_padding_mask = pad;
  }
  if (c.mask == 1) {
    Tensor am = zeros({l, s}, Dtype::Bool);
    for (std::size_t i = 0; i < l; ++i)
      for (std::size_t j = 0; j < s; ++j)
        if ((3 * i + j) % 4 == 0) am.data<std::uint8_t>()[i * s + j] = 1;
    m.association_mask = am;
  }
  if (c.mask == 2) {
    Tensor fm = rnd({n * c.heads, l, s}, 77, 0.5);
    for (std::size_t i = 0; i < fm.numel(); i += 7) fm.data<double>()[i] = -INFINITY;
    m.association_mask = fm;
  }
  return m;
}

std::vector<CoreCase> core_cases() {
  return {
      {"one head, no mask", {2, 3, 4}, {2, 9, 4}, {2, 9, 5}, 1, 0.7, false, 0},
      {"two heads, padding + bool mask", {2, 4, 6}, {2, 11, 6}, {2, 11, 4}, 2, 1.3, false, 1},
      {"three heads, 3-D float mask, zero association", {2, 3, 6}, {2, 10, 6}, {2, 10, 9}, 3, 0.9, true, 2},
      {"shared k and v (folded rows), padding + bool mask", {3, 4, 4}, {1, 13, 4}, {1, 13, 6}, 2, 2.0, true, 1},
      {"shared q (pooling), per-batch k and v", {1, 2, 4}, {3, 8, 4}, {3, 8, 2}, 1, 1.1, false, 1},
      {"a fully masked batch entry", {2, 3, 4}, {2, 7, 4}, {2, 7, 4}, 2, 0.8, false, 3},
      {"fully masked rows with zero association", {2, 3, 4}, {2, 7, 4}, {2, 7, 3}, 1, 0.8, true, 3},
      {"large beta (saturated softmax)", {2, 5, 8}, {2, 17, 8}, {2, 17, 8}, 2, 40.0, false, 1},
  };
}

// The dense reference: out = associate(association_probs(q, k), v), and its gradients for a random dout.
struct Run {
  Tensor out, dq, dk, dv;
};

Run run_core(bool streaming, const CoreCase& c, Dtype dtype, std::size_t chunk) {
  Tensor q = rnd(c.q, 1).to(dtype).requires_grad_(), k = rnd(c.k, 2).to(dtype).requires_grad_();
  Tensor v = rnd(c.v, 3).to(dtype).requires_grad_();
  const std::size_t n = std::max({c.q[0], c.k[0], c.v[0]});
  AssociationMasks m = masks_for(c, n, c.q[1], c.k[1]);
  if (m.association_mask.defined() && is_floating(m.association_mask.dtype()))
    m.association_mask = m.association_mask.to(dtype);
  Tensor out = streaming ? association_streaming(q, k, v, c.heads, c.beta, m, c.zero, chunk)
                         : associate(association_probs(q, k, c.heads, c.beta, m, c.zero), v, c.heads);
  Tensor dout = rnd(out.shape(), 5).to(dtype);
  out.backward(dout);
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

// A small Hopfield input set: stored (N, S, D), state (N, L, D), projection (N, S, D).
struct ModuleInputs {
  Tensor stored, state, projection;
};

}  // namespace

TEST_CASE("association_streaming: output and gradients equal the dense core in float64 and float32") {
  for (const CoreCase& c : core_cases())
    for (Dtype dtype : {Dtype::Float64, Dtype::Float32})
      for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{0}}) {
        INFO(c.name << " in " << std::string(dtype_name(dtype)) << " with chunk " << chunk);
        const Run dense = run_core(false, c, dtype, 0), stream = run_core(true, c, dtype, chunk);
        CHECK(rel_err(stream.out, dense.out) <= tol_of(dtype));
        if (dtype == Dtype::Float32 && c.beta > 10) {
          // A saturated float32 softmax: dS = P (dP - D) cancels for the dominant entry, and the dense core's
          // own q/k gradients are off by about 1e-5 from the exact (float64) ones. The streaming core takes
          // D = rowsum(dO * O) (FlashAttention's form, equal in exact arithmetic), whose rounding does not
          // cancel with that of dP, so its error is a few times larger: both are checked against float64.
          const Run exact = run_core(false, c, Dtype::Float64, 0);
          const double dense_q = rel_err(dense.dq.to(Dtype::Float64), exact.dq), dense_k = rel_err(dense.dk.to(Dtype::Float64), exact.dk);
          const double stream_q = rel_err(stream.dq.to(Dtype::Float64), exact.dq), stream_k = rel_err(stream.dk.to(Dtype::Float64), exact.dk);
          MESSAGE(c.name << ", float32, chunk " << chunk << ": error against float64 of dq dense " << dense_q << ", streaming "
                         << stream_q << "; of dk dense " << dense_k << ", streaming " << stream_k);
          CHECK(dense_q > 1e-6);  // the case is as hard for the dense core
          CHECK(stream_q <= 1e-4);
          CHECK(stream_k <= 1e-4);
        } else {
          CHECK(rel_err(stream.dq, dense.dq) <= tol_of(dtype));
          CHECK(rel_err(stream.dk, dense.dk) <= tol_of(dtype));
        }
        CHECK(rel_err(stream.dv, dense.dv) <= tol_of(dtype));
      }
}

TEST_CASE("association_streaming: a fully masked row gives zero output and zero gradient, not NaN") {
  const CoreCase c{"masked", {2, 3, 4}, {2, 7, 4}, {2, 7, 3}, 1, 0.8, false, 3};
  const Run r = run_core(true, c, Dtype::Float64, 2);
  for (std::size_t i = 0; i < 3 * 3; ++i) CHECK(r.out.flat(i) == 0.0);  // batch entry 0: every pattern padded
  for (double g : r.dq.to_vector()) CHECK(std::isfinite(g));
  for (std::size_t i = 0; i < 3 * 4; ++i) CHECK(r.dq.flat(i) == 0.0);
}

TEST_CASE("association_streaming: gradcheck with masks, heads, zero association and shared patterns") {
  for (const CoreCase& c : core_cases()) {
    INFO(c.name);
    Tensor q = rnd(c.q, 11).requires_grad_(), k = rnd(c.k, 12).requires_grad_(), v = rnd(c.v, 13).requires_grad_();
    const std::size_t n = std::max({c.q[0], c.k[0], c.v[0]});
    const AssociationMasks m = masks_for(c, n, c.q[1], c.k[1]);
    const double beta = std::min(c.beta, 2.0);  // keep finite differences well conditioned
    GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& t) { return association_streaming(t[0], t[1], t[2], c.heads, beta, m, c.zero, 3); },
        {q, k, v});
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE("association_streaming: the same keys as values give the dense update step xi K") {
  Tensor q = rnd({2, 3, 6}, 21).requires_grad_(), k = rnd({2, 9, 6}, 22).requires_grad_();
  Tensor dense = associate(association_probs(q, k, 2, 0.6), k, 2);
  Tensor stream = association_streaming(q, k, k, 2, 0.6, AssociationMasks(), false, 4);
  CHECK(rel_err(stream, dense) <= 1e-12);
  GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& t) { return association_streaming(t[0], t[1], t[1], 2, 0.6, AssociationMasks(), true, 2); },
      {q, k});
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("association_change_streaming equals association_change of the dense matrices") {
  for (const CoreCase& c : core_cases())
    for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
      INFO(c.name << " in " << std::string(dtype_name(dtype)));
      Tensor qa = rnd(c.q, 31).to(dtype), k = rnd(c.k, 32).to(dtype);
      Tensor qb = add(qa, rnd(c.q, 33, 0.05).to(dtype));
      const std::size_t n = std::max(c.q[0], c.k[0]);
      if (qa.size(0) != n) {  // both states per batch entry, as in the update loop
        qa = expand(qa, {n, qa.size(1), qa.size(2)});
        qb = add(qa, rnd(qa.shape(), 34, 0.05).to(dtype));
      }
      AssociationMasks m = masks_for(c, n, c.q[1], c.k[1]);
      if (m.association_mask.defined() && is_floating(m.association_mask.dtype()))
        m.association_mask = m.association_mask.to(dtype);
      const auto dense = association_change(association_probs(qa, k, c.heads, c.beta, m, c.zero),
                                            association_probs(qb, k, c.heads, c.beta, m, c.zero));
      const auto stream = association_change_streaming(qa, qb, k, c.heads, c.beta, m, c.zero, 3);
      REQUIRE(stream.size() == dense.size());
      for (std::size_t h = 0; h < dense.size(); ++h)
        CHECK(std::abs(stream[h] - dense[h]) <= (dtype == Dtype::Float64 ? 1e-13 : 1e-6) * std::max(1.0, dense[h]));
    }
}

TEST_CASE("association_streaming: bad shapes and dtypes throw naming the op") {
  Tensor q = rnd({2, 3, 4}, 1), k = rnd({2, 5, 4}, 2), v = rnd({2, 5, 4}, 3);
  CHECK_THROWS_WITH_AS(association_streaming(q, rnd({2, 5, 6}, 2), v, 1, 1.0), doctest::Contains("association_streaming"),
                       Error);
  CHECK_THROWS_WITH_AS(association_streaming(q, k, rnd({2, 6, 4}, 3), 1, 1.0), doctest::Contains("v (2, 6, 4)"), Error);
  CHECK_THROWS_WITH_AS(association_streaming(q, k, v, 3, 1.0), doctest::Contains("num_heads=3"), Error);
  CHECK_THROWS_WITH_AS(association_streaming(q, rnd({3, 5, 4}, 2), v, 1, 1.0), doctest::Contains("must be 1 or N"), Error);
  CHECK_THROWS_AS(association_streaming(q, k.to(Dtype::Float32), v, 1, 1.0), Error);
  CHECK_THROWS_WITH_AS(association_streaming(q, k, v, 1, 1.0, AssociationMasks{zeros({2, 4}, Dtype::Bool), Tensor()}),
                       doctest::Contains("stored_pattern_padding_mask"), Error);
  CHECK_THROWS_WITH_AS(association_change_streaming(q, rnd({2, 4, 4}, 4), k, 1, 1.0),
                       doctest::Contains("association_change_streaming"), Error);
}

// ----- the modules: streaming forced on against forced off -----

namespace {

struct ModuleCase {
  std::string name;
  HopfieldOptions options;
  std::size_t n, l, s;
  int mask;  // 0 none, 1 padding + 2-D bool, 2 3-D float
};

// Output and the gradients of sum(out * G) w.r.t. the inputs and every parameter, for one setting.
std::vector<std::pair<std::string, Tensor>> module_run(const ModuleCase& c, bool streaming, Dtype dtype,
                                                       HopfieldResult* details = nullptr) {
  manual_seed(3);
  Hopfield m(HopfieldOptions(c.options).streaming(streaming));
  m.to(dtype);
  m.eval();
  const std::size_t d = c.options.input_size();
  Tensor stored = rnd({c.n, c.s, d}, 41).to(dtype).requires_grad_();
  Tensor state = rnd({c.n, c.l, d}, 42).to(dtype).requires_grad_();
  Tensor proj = rnd({c.n, c.s, d}, 43).to(dtype).requires_grad_();
  CoreCase cc{"", {}, {}, {}, c.options.num_heads(), 1.0, false, c.mask};
  AssociationMasks mk = masks_for(cc, c.n, c.l, c.s);
  if (mk.association_mask.defined() && is_floating(mk.association_mask.dtype()))
    mk.association_mask = mk.association_mask.to(dtype);
  HopfieldResult r = details ? m.forward_with_details(stored, state, proj, mk.stored_pattern_padding_mask, mk.association_mask)
                             : HopfieldResult{m.forward(stored, state, proj, mk.stored_pattern_padding_mask, mk.association_mask),
                                              Tensor(), Tensor(), {}};
  if (details) *details = r;
  Tensor out = r.output;
  out.backward(rnd(out.shape(), 44).to(dtype));
  std::vector<std::pair<std::string, Tensor>> all{{"output", out.detach()},
                                                  {"grad stored", stored.grad()},
                                                  {"grad state", state.grad()},
                                                  {"grad projection", proj.grad()}};
  for (auto& [name, p] : m.named_parameters()) all.emplace_back("grad " + name, p.grad().defined() ? p.grad() : zeros(p.shape(), dtype));
  return all;
}

std::vector<ModuleCase> module_cases() {
  return {
      {"defaults", HopfieldOptions(8), 2, 3, 7, 0},
      {"two heads, masks, beta 2", HopfieldOptions(8).num_heads(2).scaling(2.0), 2, 4, 9, 1},
      {"3 update steps, zero association, 3-D float mask",
       HopfieldOptions(6).num_heads(3).update_steps_max(3).add_zero_association(true), 2, 3, 8, 2},
      {"until convergence with per-head stopping",
       HopfieldOptions(8).num_heads(2).hidden_size(3).scaling(4.0).update_steps_max(std::nullopt).update_steps_eps(1e-3),
       2, 5, 11, 1},
      {"separate sizes, tanh, hopfield-space norm",
       HopfieldOptions(6).hidden_size(5).pattern_size(3).num_heads(2).association_activation("tanh").normalize_hopfield_space(true)
           .normalize_hopfield_space_affine(true).update_steps_max(2),
       3, 2, 6, 0},
  };
}

}  // namespace

TEST_CASE("Hopfield with streaming forced equals the dense association: outputs and all gradients") {
  set_default_association_chunk(3);  // several chunks, the last one partial
  for (const ModuleCase& c : module_cases())
    for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
      INFO(c.name << " in " << std::string(dtype_name(dtype)));
      HopfieldResult rd, rs;
      const auto dense = module_run(c, false, dtype, &rd), stream = module_run(c, true, dtype, &rs);
      REQUIRE(dense.size() == stream.size());
      // A gradient that is zero in exact arithmetic (norm_stored_pattern.bias: shifting every key adds one
      // constant per softmax row) holds only rounding noise; it is compared on the largest gradient's scale.
      double scale = 0;
      for (std::size_t i = 1; i < dense.size(); ++i) scale = std::max(scale, max_abs(dense[i].second));
      for (std::size_t i = 0; i < dense.size(); ++i) {
        INFO(dense[i].first);
        const bool noise = i > 0 && max_abs(dense[i].second) < 1e-6 * scale;
        CHECK((noise ? max_abs(sub(stream[i].second, dense[i].second)) / scale : rel_err(stream[i].second, dense[i].second)) <=
              tol_of(dtype));
      }
      CHECK(rs.update_steps == rd.update_steps);
      CHECK(rel_err(rs.association_matrix, rd.association_matrix) <= tol_of(dtype));
      CHECK(rel_err(rs.projected_patterns, rd.projected_patterns) <= tol_of(dtype));
      const auto plain = module_run(c, true, dtype);  // forward() alone
      CHECK(rel_err(plain[0].second, dense[0].second) <= tol_of(dtype));
    }
  set_default_association_chunk(0);
}

TEST_CASE("the per-head stopping case really stops heads at different steps") {
  HopfieldResult r;
  module_run(module_cases()[3], true, Dtype::Float64, &r);
  REQUIRE(r.update_steps.size() == 2);
  CHECK(r.update_steps[0] != r.update_steps[1]);
}

TEST_CASE("HopfieldPooling and HopfieldLayer with streaming forced equal the dense association") {
  set_default_association_chunk(2);
  for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
    for (bool pooling : {true, false}) {
      INFO((pooling ? "HopfieldPooling" : "HopfieldLayer") << " in " << std::string(dtype_name(dtype)));
      std::vector<std::vector<double>> res[2];
      for (int s = 0; s < 2; ++s) {
        manual_seed(5);
        const HopfieldOptions o = HopfieldOptions(8).num_heads(2).update_steps_max(2).streaming(s == 1);
        std::shared_ptr<UnaryModule> m;
        if (pooling) m = std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(o).quantity(3));
        else m = std::make_shared<HopfieldLayer>(HopfieldLayerOptions(o).quantity(7));
        m->to(dtype);
        Tensor x = rnd({3, 5, 8}, 51).to(dtype).requires_grad_();
        Tensor y = m->forward(x);
        y.backward(rnd(y.shape(), 52).to(dtype));
        res[s].push_back(y.to_vector());
        res[s].push_back(x.grad().to_vector());
        for (Tensor& p : m->parameters()) res[s].push_back(p.grad().to_vector());
      }
      REQUIRE(res[0].size() == res[1].size());
      for (std::size_t i = 0; i < res[0].size(); ++i) {
        Tensor a = from_vector(res[1][i], {res[1][i].size()}, Dtype::Float64);
        Tensor b = from_vector(res[0][i], {res[0][i].size()}, Dtype::Float64);
        CHECK(rel_err(a, b) <= tol_of(dtype));
      }
    }
  }
  set_default_association_chunk(0);
}

TEST_CASE("Hopfield chooses the streaming association by the memory budget, and not for association dropout") {
  Hopfield m(HopfieldOptions(4));
  // 2 x 1 head x 3 states x 1000 stored patterns x 4 bytes = 24,000 bytes.
  CHECK(m.streams_association(2, 3, 1000, Dtype::Float32) == (24000 > default_association_memory_budget()));
  Hopfield small(HopfieldOptions(4).association_memory_budget(23999));
  CHECK(small.streams_association(2, 3, 1000, Dtype::Float32));
  CHECK_FALSE(small.streams_association(2, 3, 1000 - 1, Dtype::Float32));
  CHECK(Hopfield(HopfieldOptions(4).add_zero_association(true).association_memory_budget(24000))
            .streams_association(2, 3, 1000, Dtype::Float32));  // S' = S + 1
  CHECK_FALSE(Hopfield(HopfieldOptions(4).streaming(false).association_memory_budget(1))
                  .streams_association(2, 3, 1000, Dtype::Float32));
  CHECK(Hopfield(HopfieldOptions(4).streaming(true)).streams_association(1, 1, 1, Dtype::Float32));
  const std::size_t saved = default_association_memory_budget();
  set_default_association_memory_budget(100);
  CHECK(m.streams_association(1, 1, 26, Dtype::Float32));
  CHECK_FALSE(m.streams_association(1, 1, 25, Dtype::Float32));
  set_default_association_memory_budget(saved);

  Tensor x = rnd({1, 3, 4}, 1).to(Dtype::Float32);
  Hopfield drop(HopfieldOptions(4).dropout(0.5).streaming(true));
  CHECK_THROWS_WITH_AS(drop.forward(x), doctest::Contains("dropout=0.5"), Error);
  drop.eval();
  CHECK(drop.forward(x).shape() == Shape{1, 3, 4});  // no dropout in eval mode
  // Over the budget, the automatic choice stays dense while dropout is active, and streams in eval mode.
  Hopfield auto_drop(HopfieldOptions(4).dropout(0.5).association_memory_budget(0));
  CHECK_FALSE(auto_drop.streams_association(1, 3, 3, Dtype::Float32));
  CHECK(auto_drop.forward(x).shape() == Shape{1, 3, 4});
  auto_drop.eval();
  CHECK(auto_drop.streams_association(1, 3, 3, Dtype::Float32));
  Hopfield dense_drop(HopfieldOptions(4).dropout(0.5).streaming(false));
  CHECK(dense_drop.forward(x).shape() == Shape{1, 3, 4});
}

TEST_CASE("AssociativeMemory::update streamed equals the dense update, with gradients into queries and patterns") {
  for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
    INFO(std::string(dtype_name(dtype)));
    std::vector<std::vector<double>> res[2];
    for (int s = 0; s < 2; ++s) {
      Tensor y = rnd({37, 6}, 61).to(dtype).requires_grad_(), xi = rnd({5, 6}, 62).to(dtype).requires_grad_();
      AssociativeMemory mem(y, MemoryOptions().beta(1.7).streaming(s == 1));
      Tensor out = mem.update(xi);
      CHECK(out.shape() == Shape{5, 6});
      out.backward(rnd(out.shape(), 63).to(dtype));
      res[s] = {out.to_vector(), y.grad().to_vector(), xi.grad().to_vector()};
    }
    for (std::size_t i = 0; i < 3; ++i)
      CHECK(rel_err(from_vector(res[1][i], {res[1][i].size()}, Dtype::Float64),
                    from_vector(res[0][i], {res[0][i].size()}, Dtype::Float64)) <= tol_of(dtype));
  }
  // The automatic choice: (B, N) over the global budget streams; a single query (d) keeps its shape.
  const std::size_t saved = default_association_memory_budget();
  set_default_association_memory_budget(0);
  Tensor y = rnd({9, 4}, 64);
  Tensor one = AssociativeMemory(y, MemoryOptions().beta(2.0)).update(rnd({4}, 65));
  set_default_association_memory_budget(saved);
  Tensor dense = AssociativeMemory(y, MemoryOptions().beta(2.0).streaming(false)).update(rnd({4}, 65));
  CHECK(one.shape() == Shape{4});
  CHECK(rel_err(one, dense) <= 1e-12);
}

TEST_CASE("association_streaming: peak memory of forward and backward stays far below the association matrix") {
  // L = 256 states, S = 100,000 stored patterns, float32: the dense path's matrix alone is 102 MB (and as
  // much again for its gradient). The streaming step adds its chunk buffers, the output and the q/k/v
  // gradients (2 x 6.4 MB for k and v): the peak rise must stay under 40 MB.
  const std::size_t l = 256, s = 100000, hd = 16;
  Generator gen(7);
  Tensor q = randn({1, l, hd}, Dtype::Float32, gen).requires_grad_(), k = randn({1, s, hd}, Dtype::Float32, gen).requires_grad_();
  Tensor v = randn({1, s, hd}, Dtype::Float32, gen).requires_grad_();
  Tensor dout = randn({1, l, hd}, Dtype::Float32, gen);
  const bool measured = reset_peak_rss();
  const double before = peak_rss_mb();
  Tensor out = association_streaming(q, k, v, 1, 0.25);
  out.backward(dout);
  const double rise = peak_rss_mb() - before;
  const double matrix_mb = static_cast<double>(association_matrix_bytes(1, 1, l, s, false, Dtype::Float32)) / (1 << 20);
  MESSAGE("streaming forward + backward over " << l << " x " << s << ": peak RSS rise " << rise << " MB; the association matrix "
                                               << matrix_mb << " MB");
  CHECK(k.grad().shape() == k.shape());
#if defined(__SANITIZE_ADDRESS__)
  constexpr bool asan = true;
#else
  constexpr bool asan = false;
#endif
  if (asan) MESSAGE("RSS bound not checked under AddressSanitizer (shadow memory and quarantine)");
  if (measured && !asan) CHECK(rise < 40.0);
}

TEST_CASE("association_streaming: a NaN in the queries gives NaN in its row, as the dense core does") {
  for (Dtype dtype : {Dtype::Float32, Dtype::Float64}) {
    Tensor q = rnd({1, 2, 4}, 71).to(dtype), k = rnd({1, 5, 4}, 72).to(dtype), v = rnd({1, 5, 3}, 73).to(dtype);
    if (dtype == Dtype::Float32) q.data<float>()[1] = NAN;
    else q.data<double>()[1] = NAN;
    Tensor stream = association_streaming(q, k, v, 1, 1.0, AssociationMasks(), false, 2);
    Tensor dense = associate(association_probs(q, k, 1, 1.0), v, 1);
    for (std::size_t i = 0; i < 3; ++i) CHECK(std::isnan(stream.flat(i)) == std::isnan(dense.flat(i)));
    for (std::size_t i = 3; i < 6; ++i) CHECK(std::abs(stream.flat(i) - dense.flat(i)) <= 1e-5 * (1 + std::abs(dense.flat(i))));
  }
}

TEST_CASE("association_streaming_update: the new state and the stopping statistic of one pass equal the separate ones") {
  for (const CoreCase& c : core_cases())
    for (Dtype dtype : {Dtype::Float64, Dtype::Float32}) {
      INFO(c.name << " in " << std::string(dtype_name(dtype)));
      const std::size_t n = std::max(c.q[0], c.k[0]);
      Tensor k = rnd(c.k, 82).to(dtype).requires_grad_();
      Tensor q = expand(rnd(c.q, 81), {n, c.q[1], c.q[2]}).to(dtype).requires_grad_();
      Tensor prev = add(q.detach(), rnd(q.shape(), 83, 0.05).to(dtype));
      AssociationMasks m = masks_for(c, n, c.q[1], c.k[1]);
      if (m.association_mask.defined() && is_floating(m.association_mask.dtype()))
        m.association_mask = m.association_mask.to(dtype);
      std::vector<double> change;
      Tensor fused = association_streaming_update(q, prev, k, c.heads, c.beta, m, c.zero, change, 3);
      const auto dense = association_change(association_probs(q.detach(), k.detach(), c.heads, c.beta, m, c.zero),
                                            association_probs(prev, k.detach(), c.heads, c.beta, m, c.zero));
      Tensor separate = associate(association_probs(q, k, c.heads, c.beta, m, c.zero), k, c.heads);
      CHECK(rel_err(fused.detach(), separate.detach()) <= tol_of(dtype));
      REQUIRE(change.size() == dense.size());
      for (std::size_t h = 0; h < dense.size(); ++h)
        CHECK(std::abs(change[h] - dense[h]) <= (dtype == Dtype::Float64 ? 1e-13 : 1e-6) * std::max(1.0, dense[h]));
      if (dtype == Dtype::Float64) {
        GradcheckResult r = gradcheck(
            [&](const std::vector<Tensor>& t) {
              std::vector<double> ch;
              return association_streaming_update(t[0], prev, t[1], c.heads, std::min(c.beta, 2.0), m, c.zero, ch, 2);
            },
            {q, k});
        CHECK_MESSAGE(r.ok, r.report);
      }
    }
}
