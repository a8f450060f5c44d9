// The Module system: dotted names and registration order through nested modules, counting, train/eval,
// zero_grad, dtype conversion seen through member handles, state dicts, .npz save/load and its errors,
// and torch-like printing.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "hopfield/engine/check.h"
#include "hopfield/engine/npz.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/layers.h"

using namespace hf;

namespace {

// A nested module: own parameter and buffer first, then children, like a small transformer block.
class Block : public UnaryModule {
 public:
  Block() {
    scale = register_parameter("scale", ones({3}));
    running = register_buffer("running", zeros({3}));
    proj = register_module("proj", std::make_shared<Linear>(LinearOptions(3, 3)));
    drop = register_module("drop", std::make_shared<Dropout>(DropoutOptions(0.5).seed(1)));
    norm = register_module("norm", std::make_shared<LayerNorm>(LayerNormOptions(3)));
  }
  Tensor forward(const Tensor& x) override { return norm->forward(drop->forward(proj->forward(x)) * scale); }
  std::string name() const override { return "Block"; }

  Tensor scale, running;
  std::shared_ptr<Linear> proj;
  std::shared_ptr<Dropout> drop;
  std::shared_ptr<LayerNorm> norm;
};

class Net : public UnaryModule {
 public:
  Net() {
    block = register_module("block", std::make_shared<Block>());
    head = register_module("head", std::make_shared<Linear>(LinearOptions(3, 2)));
    frozen = register_parameter("frozen", zeros({4}), /*requires_grad=*/false);
  }
  Tensor forward(const Tensor& x) override { return head->forward(block->forward(x)); }
  std::string name() const override { return "Net"; }

  std::shared_ptr<Block> block;
  std::shared_ptr<Linear> head;
  Tensor frozen;
};

std::vector<std::string> names_of(const NamedTensors& nt) {
  std::vector<std::string> out;
  for (auto& [n, t] : nt) out.push_back(n);
  return out;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((std::filesystem::temp_directory_path() / ("hf_test_module_" + name)).string()) {}
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("Module: named_parameters gives dotted names in registration order") {
  Net net;
  // Own parameters come before children's, children in registration order (torch's order too).
  CHECK(names_of(net.named_parameters()) ==
        std::vector<std::string>{"frozen", "block.scale", "block.proj.weight", "block.proj.bias", "block.norm.weight",
                                 "block.norm.bias", "head.weight", "head.bias"});
  CHECK(names_of(net.named_parameters(false)) == std::vector<std::string>{"frozen"});
  CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"block.running"});
  auto sd = net.state_dict();
  CHECK(sd.size() == 9);
  CHECK(sd.count("block.running") == 1);
  // Registry and members share storage: what an optimizer writes, forward reads.
  auto params = net.parameters();
  REQUIRE(params.size() == 8);
  CHECK(params[2].same(net.block->proj->weight));
  params[6].fill_(0.25);
  CHECK(net.head->weight.to_vector() == std::vector<double>(6, 0.25));
}

TEST_CASE("Module: parameter counts, trainable only") {
  Net net;
  // 4 frozen + 3 scale + 12 proj + 6 norm + 8 head
  CHECK(net.num_parameters() == 33);
  CHECK(net.num_parameters(true) == 29);
}

TEST_CASE("Module: train() and eval() reach nested children") {
  Net net;
  CHECK(net.block->drop->is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.block->is_training());
  CHECK_FALSE(net.block->drop->is_training());
  Tensor x = randn({4, 3});
  // In eval mode dropout is off, so the output is deterministic.
  CHECK(net(x).to_vector() == net(x).to_vector());
  net.train();
  CHECK(net.block->drop->is_training());
  CHECK(net.head->is_training());
}

TEST_CASE("Module: zero_grad clears every parameter's gradient") {
  Net net;
  net.eval();
  sum(net(randn({4, 3}))).backward();
  CHECK(net.head->weight.grad().defined());
  CHECK(net.block->proj->weight.grad().defined());
  net.zero_grad();
  for (auto& [n, t] : net.named_parameters()) {
    CAPTURE(n);
    CHECK_FALSE(t.grad().defined());
  }
}

TEST_CASE("Module: to(Float64) converts in place and members see it") {
  Net net;
  net.eval();
  auto before = net.state_dict();
  std::map<std::string, std::vector<double>> values;
  for (auto& [n, t] : before) values[n] = t.to_vector();
  Tensor x = randn({2, 3});
  auto y32 = net(x).to_vector();
  sum(net(x)).backward();
  net.to(Dtype::Float64);
  CHECK(net.dtype() == Dtype::Float64);
  CHECK(net.head->weight.dtype() == Dtype::Float64);
  CHECK(net.block->running.dtype() == Dtype::Float64);
  CHECK(net.block->proj->bias.dtype() == Dtype::Float64);
  CHECK_FALSE(net.head->weight.grad().defined());  // gradients are dropped
  for (auto& [n, t] : net.state_dict()) {
    CAPTURE(n);
    CHECK(t.dtype() == Dtype::Float64);
    CHECK(t.to_vector() == values[n]);  // float32 -> float64 is exact
  }
  auto y64 = net(x.to(Dtype::Float64)).to_vector();
  for (std::size_t i = 0; i < y64.size(); ++i) CHECK(y64[i] == doctest::Approx(y32[i]).epsilon(1e-5));
  // The converted parameters still train.
  sum(net(x.to(Dtype::Float64))).backward();
  CHECK(net.head->weight.grad().dtype() == Dtype::Float64);
  CHECK_THROWS_AS(net(x), Error);  // float32 input into a float64 module
  CHECK_THROWS_WITH_AS(net.to(Dtype::Int64), doctest::Contains("int64"), Error);
}

TEST_CASE("Module: save then load into a fresh module gives identical values") {
  TempFile f("roundtrip.npz");
  manual_seed(100);
  Net a;
  a.block->running.fill_(0.75);
  a.save(f.path);
  REQUIRE(std::filesystem::exists(f.path));
  manual_seed(200);
  Net b;
  CHECK(b.head->weight.to_vector() != a.head->weight.to_vector());
  b.load(f.path);
  for (auto& [n, t] : a.state_dict()) {
    CAPTURE(n);
    CHECK(b.state_dict().at(n).to_vector() == t.to_vector());
  }
  CHECK(b.block->running.to_vector() == std::vector<double>(3, 0.75));
  // float64 values survive exactly too, and a float32 file loads into a float64 module (cast).
  Net c;
  c.to(Dtype::Float64);
  c.load(f.path);
  CHECK(c.head->weight.dtype() == Dtype::Float64);
  CHECK(c.head->weight.to_vector() == a.head->weight.to_vector());
}

TEST_CASE("Module: load_state_dict errors name the key and both shapes - a failed load changes nothing") {
  Net net;
  auto original = net.state_dict();
  std::map<std::string, std::vector<double>> values;
  for (auto& [n, t] : original) values[n] = t.to_vector();
  auto unchanged = [&] {
    for (auto& [n, t] : net.state_dict()) {
      CAPTURE(n);
      CHECK(t.to_vector() == values[n]);
    }
  };
  // A state whose entries are all valid but different values, so any partial copy would show.
  std::map<std::string, Tensor> good;
  for (auto& [n, t] : original) good[n] = full(t.shape(), 9.0);

  SUBCASE("missing key") {
    auto s = good;
    s.erase("block.norm.bias");
    CHECK_THROWS_WITH_AS(net.load_state_dict(s), doctest::Contains("missing key 'block.norm.bias'"), Error);
    CHECK_THROWS_WITH_AS(net.load_state_dict(s), doctest::Contains("(3,)"), Error);
    unchanged();
  }
  SUBCASE("unknown key") {
    auto s = good;
    s["block.extra"] = zeros({2, 2});
    CHECK_THROWS_WITH_AS(net.load_state_dict(s), doctest::Contains("unknown key 'block.extra'"), Error);
    unchanged();
  }
  SUBCASE("shape mismatch") {
    auto s = good;
    s["head.weight"] = zeros({3, 2});  // the module's is (2, 3)
    try {
      net.load_state_dict(s);
      FAIL("no error");
    } catch (const Error& e) {
      std::string msg = e.what();
      CHECK(msg.find("head.weight") != std::string::npos);
      CHECK(msg.find("(2, 3)") != std::string::npos);
      CHECK(msg.find("(3, 2)") != std::string::npos);
    }
    unchanged();
    // Not strict: missing and unknown keys pass, a shape mismatch still throws.
    CHECK_THROWS_AS(net.load_state_dict(s, false), Error);
    unchanged();
  }
  SUBCASE("non-strict partial load") {
    std::map<std::string, Tensor> s{{"head.bias", full({2}, 4.0)}, {"nobody", zeros({1})}};
    net.load_state_dict(s, false);
    CHECK(net.head->bias.to_vector() == std::vector<double>{4.0, 4.0});
    CHECK(net.head->weight.to_vector() == values["head.weight"]);
  }
  SUBCASE("from a file: the error also names the file") {
    TempFile f("mismatch.npz");
    Linear other(LinearOptions(3, 5));
    std::map<std::string, Tensor> s{{"weight", other.weight}, {"bias", zeros({2})}};  // only the weight is off
    save_npz(f.path, s);
    Linear lin(LinearOptions(3, 2));
    auto w = lin.weight.to_vector();
    try {
      lin.load(f.path);
      FAIL("no error");
    } catch (const Error& e) {
      std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("weight") != std::string::npos);
      CHECK(msg.find("(2, 3)") != std::string::npos);
      CHECK(msg.find("(5, 3)") != std::string::npos);
      CHECK(msg.find(f.path) != std::string::npos);
    }
    CHECK(lin.weight.to_vector() == w);
    CHECK_THROWS_AS(lin.load(f.path + ".absent"), std::exception);
  }
}

TEST_CASE("Module: registration errors") {
  struct Bad : Module {
    void dup() {
      register_parameter("w", zeros({1}));
      register_parameter("w", zeros({1}));
    }
    void dotted() { register_parameter("a.b", zeros({1})); }
    void int_param() { register_parameter("i", from_indices({1}, {1})); }
  };
  Bad b;
  CHECK_THROWS_WITH_AS(b.dup(), doctest::Contains("'w' is already registered"), Error);
  CHECK_THROWS_WITH_AS(b.dotted(), doctest::Contains("'a.b'"), Error);
  CHECK_THROWS_WITH_AS(b.int_param(), doctest::Contains("float"), Error);
}

TEST_CASE("Module: pretty_print reads like torch's repr") {
  CHECK(Linear(LinearOptions(5, 2)).pretty_print() == "Linear(in_features=5, out_features=2, bias=True)");
  CHECK(LayerNorm(LayerNormOptions(6)).pretty_print() == "LayerNorm((6,), eps=1e-05, elementwise_affine=True)");
  CHECK(Embedding(EmbeddingOptions(10, 4)).pretty_print() == "Embedding(10, 4)");
  Sequential seq;
  seq.push_back(std::make_shared<Linear>(LinearOptions(4, 8)));
  seq.push_back(std::make_shared<ReLU>());
  seq.push_back("out", std::make_shared<Linear>(LinearOptions(8, 1).bias(false)));
  CHECK(seq.pretty_print() ==
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): ReLU()\n"
        "  (out): Linear(in_features=8, out_features=1, bias=False)\n"
        ")");
  CHECK(names_of(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "out.weight"});
  Net net;
  CHECK(net.pretty_print() ==
        "Net(\n"
        "  (block): Block(\n"
        "    (proj): Linear(in_features=3, out_features=3, bias=True)\n"
        "    (drop): Dropout(p=0.5)\n"
        "    (norm): LayerNorm((3,), eps=1e-05, elementwise_affine=True)\n"
        "  )\n"
        "  (head): Linear(in_features=3, out_features=2, bias=True)\n"
        ")");
}
