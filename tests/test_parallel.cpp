// parallel_for: every index exactly once, exceptions reach the caller, nesting and concurrent callers run
// inline; and ops that use it give bit-identical results at 1 and 2 threads (the chunking of reductions is
// fixed by the shape, not the thread count).
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hopfield/engine/association.h"
#include "hopfield/engine/association_detail.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/parallel.h"

using namespace hf;

namespace {

struct Threads {  // sets the engine's thread count for a scope
  explicit Threads(int n) : old(blas::num_threads()) { blas::set_num_threads(n); }
  ~Threads() { blas::set_num_threads(old); }
  int old;
};

}  // namespace

TEST_CASE("parallel_for covers every index once, rethrows, and runs nested or concurrent calls inline") {
  Threads t(2);
  for (std::size_t n : {0u, 1u, 7u, 1000u, 100003u}) {
    std::vector<std::atomic<int>> hits(n);
    parallel_for(n, 64, [&](std::size_t b, std::size_t e) {
      CHECK(b < e);
      for (std::size_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
    for (std::size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
  }
  CHECK_THROWS_AS(parallel_for(10000, 10,
                               [](std::size_t b, std::size_t) {
                                 if (b > 0) throw std::runtime_error("chunk failed");
                               }),
                  std::runtime_error);
  std::atomic<long> total{0};
  parallel_for(64, 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) parallel_for(100, 1, [&](std::size_t c, std::size_t d) { total += static_cast<long>(d - c); });
  });
  CHECK(total.load() == 6400);
  std::atomic<long> other{0};
  std::thread th([&] {
    for (int k = 0; k < 50; ++k) parallel_for(1000, 10, [&](std::size_t b, std::size_t e) { other += static_cast<long>(e - b); });
  });
  for (int k = 0; k < 50; ++k) parallel_for(1000, 10, [&](std::size_t b, std::size_t e) { total += static_cast<long>(e - b); });
  th.join();
  CHECK(other.load() == 50000);
  CHECK(total.load() == 6400 + 50000);
}

TEST_CASE("layer_norm, association_probs, associate and fused_association: the same bits at 1 and 2 threads, forward and backward") {
  auto run = [](int threads) {
    Threads t(threads);
    Generator g(5);
    Tensor x = randn({300, 64}, Dtype::Float32, g).requires_grad_();
    Tensor w = randn({64}, Dtype::Float32, g).requires_grad_(), b = randn({64}, Dtype::Float32, g).requires_grad_();
    Tensor q = randn({4, 50, 32}, Dtype::Float32, g).requires_grad_(), k = randn({4, 70, 32}, Dtype::Float32, g).requires_grad_();
    Tensor y = layer_norm(x, 1, w, b, 1e-5);
    Tensor v = randn({4, 70, 32}, Dtype::Float32, g).requires_grad_();
    Tensor xi = association_probs(q, k, 2, 0.3);
    Tensor out = associate(xi, v, 2);  // per-entry blocks: split between the threads (parallel_gemm_for)
    Tensor q2 = randn({4, 50, 32}, Dtype::Float32, g).requires_grad_(), k2 = randn({4, 70, 32}, Dtype::Float32, g).requires_grad_();
    Tensor v2 = randn({4, 70, 48}, Dtype::Float32, g).requires_grad_();
    Tensor xi2;
    Tensor out2 = fused_association(q2, k2, v2, 2, 0.3, AssociationMasks(), true, &xi2);
    Tensor loss = add(add(add(sum(mul(y, y)), sum(mul(xi, xi))), sum(mul(out, out))), sum(mul(out2, out2)));
    loss.backward();
    return std::vector<Tensor>{y,        xi,       out,      x.grad(),  w.grad(),  b.grad(), q.grad(),
                               k.grad(), v.grad(), out2,     xi2,       q2.grad(), k2.grad(), v2.grad()};
  };
  const auto one = run(1), two = run(2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("tensor " << i);
    REQUIRE(one[i].numel() == two[i].numel());
    bool same = true;
    for (std::size_t j = 0; j < one[i].numel(); ++j) same = same && one[i].flat(j) == two[i].flat(j);
    CHECK(same);
  }
}

TEST_CASE("association row kernels: the AVX2 build gives the same bits as the 4-lane build") {
  // Rows of S = 70 (S' = 71): both widths' vector parts and scalar tails. Without AVX2 on this CPU both
  // runs take the 4-lane build and the check is trivial.
  auto run = [](bool avx2) {
    const bool was = detail::use_avx2();
    detail::use_avx2() = avx2 && was;
    Generator g(9);
    Tensor q = randn({3, 40, 16}, Dtype::Float32, g).requires_grad_(), k = randn({3, 70, 16}, Dtype::Float32, g).requires_grad_();
    Tensor v = randn({3, 70, 8}, Dtype::Float32, g).requires_grad_();
    Tensor xi = association_probs(q, k, 2, 0.4, AssociationMasks(), true);
    Tensor xi2;
    Tensor out = fused_association(q, k, v, 2, 0.4, AssociationMasks(), true, &xi2);
    add(sum(mul(xi, xi)), sum(mul(out, out))).backward();
    detail::use_avx2() = was;
    return std::vector<Tensor>{xi, xi2, out, q.grad(), k.grad(), v.grad()};
  };
  const auto wide = run(true), narrow = run(false);
  for (std::size_t i = 0; i < wide.size(); ++i) {
    INFO("tensor " << i);
    bool same = true;
    for (std::size_t j = 0; j < wide[i].numel(); ++j) same = same && wide[i].flat(j) == narrow[i].flat(j);
    CHECK(same);
  }
}
