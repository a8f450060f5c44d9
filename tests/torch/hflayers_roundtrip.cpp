// The C++ half of tests/torch/hflayers_roundtrip.py (ctest torch.hflayers_roundtrip): the same small models
// as the Python side, built with our layers. For each model NAME, in the folder given as argument:
//   reads   NAME.data.npz        x (the input) and target (for the training steps)
//           NAME.from_torch.npz  parameters trained by hflayers, converted by scripts/hflayers_convert.py
//   writes  NAME.cpp_forward.npz          y = the loaded model's output on x (eval mode)
//           NAME.cpp_trained.npz          the parameters after 5 Adam steps here (Module::save)
//           NAME.cpp_trained_forward.npz  y = the trained model's output on x (eval mode)
// The Python side compares the outputs with hflayers' (float32, 1e-5). Any error: a message, exit 1.
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hopfield/engine/npz.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/activation.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/sequential.h"
#include "hopfield/optim/adam.h"

using namespace hf;

namespace {

// The four models of hflayers_roundtrip.py's MODELS, with the same constructor arguments.
std::shared_ptr<UnaryModule> make_model(const std::string& name) {
  if (name == "hopfield") return std::make_shared<Hopfield>(HopfieldOptions(6).num_heads(2));
  if (name == "pooling")
    return std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(HopfieldOptions(6).num_heads(2)).quantity(2));
  if (name == "lookup") return std::make_shared<HopfieldLayer>(HopfieldLayerOptions(HopfieldOptions(6)).quantity(5));
  if (name == "mil") {  // torch.nn.Sequential(Linear(5, 8), ReLU(), HopfieldPooling(8, num_heads=2), Linear(8, 1))
    auto seq = std::make_shared<Sequential>();
    seq->push_back(std::make_shared<Linear>(LinearOptions(5, 8)));
    seq->push_back(std::make_shared<ReLU>());
    seq->push_back(std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(HopfieldOptions(8).num_heads(2))));
    seq->push_back(std::make_shared<Linear>(LinearOptions(8, 1)));
    return seq;
  }
  throw Error("hflayers_roundtrip: unknown model '" + name + "'");
}

Tensor eval_forward(UnaryModule& model, const Tensor& x) {
  NoGrad no_tape;
  model.eval();
  Tensor y = model.forward(x);
  model.train();
  return y;
}

void run(const std::string& dir, const std::string& name) {
  const std::string base = dir + "/" + name;
  auto data = load_npz(base + ".data.npz");
  const Tensor x = data.at("x"), target = data.at("target");
  auto model = make_model(name);
  model->load(base + ".from_torch.npz");  // strict: every name and shape must match
  save_npz(base + ".cpp_forward.npz", {{"y", eval_forward(*model, x)}});

  Adam opt(*model, AdamOptions(1e-2));
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    Tensor loss = mse_loss(model->forward(x), target);
    loss.backward();
    opt.step();
  }
  model->save(base + ".cpp_trained.npz");
  save_npz(base + ".cpp_trained_forward.npz", {{"y", eval_forward(*model, x)}});
  std::cout << "hflayers_roundtrip: " << name << " done\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: hflayers_roundtrip DIR NAME...\n";
    return 2;
  }
  try {
    for (int i = 2; i < argc; ++i) run(argv[1], argv[i]);
  } catch (const std::exception& e) {
    std::cerr << "hflayers_roundtrip: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
