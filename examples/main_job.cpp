// Placeholder main job until the examples land: fits a two-layer network y = W2 relu(W1 x + b1) + b2
// to a synthetic regression target with the autograd tape and plain gradient descent, printing the
// loss as it falls.
#include <cstdio>

#include "engine/ops.h"
#include "engine/random.h"

int main() {
  using namespace hf;
  Generator gen(7);
  const std::size_t n = 256, d = 8, h = 32;
  Tensor x = randn({n, d}, Dtype::Float32, gen);
  Tensor w_true = randn({d, 1}, Dtype::Float32, gen);
  Tensor y = tanh(matmul(x, w_true));  // (n, 1) nonlinear target
  Tensor w1 = mul(randn({d, h}, Dtype::Float32, gen), 0.3).detach().requires_grad_();
  Tensor b1 = zeros({h}).requires_grad_();
  Tensor w2 = mul(randn({h, 1}, Dtype::Float32, gen), 0.3).detach().requires_grad_();
  Tensor b2 = zeros({1}).requires_grad_();
  const double lr = 0.05;
  for (int step = 0; step <= 300; ++step) {
    Tensor pred = add(matmul(relu(add(matmul(x, w1), b1)), w2), b2);
    Tensor loss = mean(pow(sub(pred, y), 2.0));
    loss.backward();
    if (step % 30 == 0) std::printf("step %3d  loss %.6f\n", step, loss.item());
    for (Tensor* p : {&w1, &b1, &w2, &b2}) {
      p->copy_(sub(p->detach(), mul(p->grad(), lr)));
      p->zero_grad();
    }
  }
  return 0;
}
