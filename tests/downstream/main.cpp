// A user's first program against the installed package: only the umbrella header, a Hopfield pooling
// model trained for a few steps on planted MIL bags, saved and reloaded. Exit 0 when the loss went down
// and the reloaded model answers exactly like the trained one (and the distributed calls, outside mpirun,
// see one process).
#include <hopfield/hopfield.h>

#include <cstdio>
#include <iostream>
#include <memory>

int main() {
  hf::Generator gen(7);
  const hf::Tensor x = hf::randn({8, 5, 4}, hf::Dtype::Float32, gen);  // 8 bags of 5 instances, 4 features
  const hf::Tensor y = hf::from_vector({1, 0, 1, 0, 1, 0, 1, 0}, {8, 1});
  // Bags labelled 1 get a shifted first instance: something to learn.
  hf::Tensor xs = hf::add(x, hf::mul(hf::reshape(y, {8, 1, 1}), hf::from_vector({3, 0, 0, 0}, {1, 1, 4})));

  auto make_model = [] {
    return std::make_shared<hf::HopfieldPooling>(
        hf::HopfieldPoolingOptions(hf::HopfieldOptions(4).hidden_size(4).output_size(1)).quantity(1));
  };
  auto model = make_model();
  hf::Adam opt(*model, hf::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    hf::Tensor loss = hf::binary_cross_entropy_with_logits(model->forward(xs), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  const std::string path = "downstream_model.npz";
  model->save(path);
  auto reloaded = make_model();
  reloaded->load(path);
  std::remove(path.c_str());
  model->eval();
  reloaded->eval();
  const double diff = hf::max(hf::abs(hf::sub(model->forward(xs), reloaded->forward(xs)))).item();
  // The distributed module links (against MPI when the library was built with it); outside mpirun a world of one.
  const double summed = hf::distributed::all_reduce(last);
  std::cout << "hopfield downstream: loss " << first << " -> " << last << ", reload difference " << diff << ", "
            << hf::distributed::get_world_size() << " process(es)\n";
  return (last < first && diff == 0.0 && summed == last && hf::distributed::get_world_size() == 1) ? 0 : 1;
}
