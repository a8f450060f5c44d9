// Golden-vector check of Hopfield, HopfieldPooling and HopfieldLayer against hflayers 1.0.2
// (../shared/reference/hopfield, README there). Every sub-folder holding a case.json is one case: the module
// is built from constructor_args, the parameters are loaded by their state-dict names, and output,
// association matrix, projected patterns and the gradients of sum(output * G) are compared with
// max|a - b| <= tol * max(1, max|ref|): tol 1e-10 in float64, 1e-4 in float32 (module and inputs cast).
// Nothing here names a case: any folder in the same format runs unchanged.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hopfield/engine/association_streaming.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/hopfield.h"
#include "hopfield/layers/hopfield_layer.h"
#include "hopfield/layers/hopfield_pooling.h"
#include "support.h"

using namespace hf;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Applies every constructor argument; an unknown key fails the case (a new option must not pass silently).
bool apply_arg(HopfieldOptions& o, const std::string& key, const json& v) {
  auto opt_size = [&](const json& j) { return j.is_null() ? std::optional<std::size_t>() : j.get<std::size_t>(); };
  if (key == "input_size") o.input_size(v.get<std::size_t>());
  else if (key == "hidden_size") o.hidden_size(opt_size(v));
  else if (key == "output_size") o.output_size(opt_size(v));
  else if (key == "pattern_size") o.pattern_size(opt_size(v));
  else if (key == "num_heads") o.num_heads(v.get<std::size_t>());
  else if (key == "scaling") o.scaling(v.is_null() ? std::optional<double>() : v.get<double>());
  else if (key == "update_steps_max") o.update_steps_max(v.is_null() ? std::optional<int>() : v.get<int>());
  else if (key == "update_steps_eps") o.update_steps_eps(v.get<double>());
  else if (key == "normalize_stored_pattern") o.normalize_stored_pattern(v.get<bool>());
  else if (key == "normalize_stored_pattern_affine") o.normalize_stored_pattern_affine(v.get<bool>());
  else if (key == "normalize_stored_pattern_eps") o.normalize_stored_pattern_eps(v.get<double>());
  else if (key == "normalize_state_pattern") o.normalize_state_pattern(v.get<bool>());
  else if (key == "normalize_state_pattern_affine") o.normalize_state_pattern_affine(v.get<bool>());
  else if (key == "normalize_state_pattern_eps") o.normalize_state_pattern_eps(v.get<double>());
  else if (key == "normalize_pattern_projection") o.normalize_pattern_projection(v.get<bool>());
  else if (key == "normalize_pattern_projection_affine") o.normalize_pattern_projection_affine(v.get<bool>());
  else if (key == "normalize_pattern_projection_eps") o.normalize_pattern_projection_eps(v.get<double>());
  else if (key == "normalize_hopfield_space") o.normalize_hopfield_space(v.get<bool>());
  else if (key == "normalize_hopfield_space_affine") o.normalize_hopfield_space_affine(v.get<bool>());
  else if (key == "normalize_hopfield_space_eps") o.normalize_hopfield_space_eps(v.get<double>());
  else if (key == "stored_pattern_as_static") o.stored_pattern_as_static(v.get<bool>());
  else if (key == "state_pattern_as_static") o.state_pattern_as_static(v.get<bool>());
  else if (key == "pattern_projection_as_static") o.pattern_projection_as_static(v.get<bool>());
  else if (key == "pattern_projection_as_connected") o.pattern_projection_as_connected(v.get<bool>());
  else if (key == "stored_pattern_size") o.stored_pattern_size(opt_size(v));
  else if (key == "pattern_projection_size") o.pattern_projection_size(opt_size(v));
  else if (key == "batch_first") o.batch_first(v.get<bool>());
  else if (key == "association_activation") o.association_activation(v.is_null() ? "" : v.get<std::string>());
  else if (key == "dropout") o.dropout(v.get<double>());
  else if (key == "input_bias") o.input_bias(v.get<bool>());
  else if (key == "concat_bias_pattern") o.concat_bias_pattern(v.get<bool>());
  else if (key == "add_zero_association") o.add_zero_association(v.get<bool>());
  else if (key == "disable_out_projection") o.disable_out_projection(v.get<bool>());
  else return false;
  return true;
}

struct Built {
  std::shared_ptr<Module> module;
  std::function<HopfieldResult(const std::map<std::string, Tensor>&, const Tensor&, const Tensor&)> run;
  // The plain forward (output only): where it applies, the association runs as one fused op (fused_association).
  std::function<Tensor(const std::map<std::string, Tensor>&, const Tensor&, const Tensor&)> plain;
  Hopfield* hopfield = nullptr;
};

Built build(const json& c, std::string& error, bool reassociate, std::optional<bool> streaming) {
  const std::string kind = c.at("module").get<std::string>();
  const json& args = c.at("constructor_args");
  HopfieldOptions o(args.at("input_size").get<std::size_t>());
  o.streaming(streaming);
  std::size_t quantity = 1;
  bool trainable = true, separated = false, targets_trainable = true;
  for (const auto& [key, v] : args.items()) {
    if (apply_arg(o, key, v)) continue;
    if (key == "quantity" && kind != "Hopfield") quantity = v.get<std::size_t>();
    else if (key == "trainable" && kind != "Hopfield") trainable = v.get<bool>();
    else if (key == "lookup_weights_as_separated" && kind == "HopfieldLayer") separated = v.get<bool>();
    else if (key == "lookup_targets_as_trainable" && kind == "HopfieldLayer") targets_trainable = v.get<bool>();
    else error += "unknown constructor argument '" + key + "' for " + kind + "; ";
  }
  if (reassociate) o.reassociate_projections(true);
  const std::string form = c.at("input_form").get<std::string>();
  Built b;
  if (kind == "Hopfield") {
    auto m = std::make_shared<Hopfield>(o);
    b.module = m;
    b.hopfield = m.get();
    b.run = [m, form](const std::map<std::string, Tensor>& in, const Tensor& pad, const Tensor& assoc) {
      if (form == "single") return m->forward_with_details(in.at("x"), in.at("x"), in.at("x"), pad, assoc);
      return m->forward_with_details(in.at("stored"), in.at("state"), in.at("projection"), pad, assoc);
    };
    b.plain = [m, form](const std::map<std::string, Tensor>& in, const Tensor& pad, const Tensor& assoc) {
      if (form == "single") return m->forward(in.at("x"), in.at("x"), in.at("x"), pad, assoc);
      return m->forward(in.at("stored"), in.at("state"), in.at("projection"), pad, assoc);
    };
  } else if (kind == "HopfieldPooling") {
    auto m = std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(o).quantity(quantity).trainable(trainable));
    b.module = m;
    b.hopfield = m->hopfield.get();
    b.run = [m, form](const std::map<std::string, Tensor>& in, const Tensor& pad, const Tensor& assoc) {
      if (form == "single") return m->forward_with_details(in.at("x"), in.at("x"), pad, assoc);
      return m->forward_with_details(in.at("stored"), in.at("projection"), pad, assoc);
    };
    b.plain = [m, form](const std::map<std::string, Tensor>& in, const Tensor& pad, const Tensor& assoc) {
      if (form == "single") return m->forward(in.at("x"), pad, assoc);
      return m->forward(in.at("stored"), in.at("projection"), pad, assoc);
    };
  } else if (kind == "HopfieldLayer") {
    auto m = std::make_shared<HopfieldLayer>(HopfieldLayerOptions(o)
                                                 .quantity(quantity)
                                                 .trainable(trainable)
                                                 .lookup_weights_as_separated(separated)
                                                 .lookup_targets_as_trainable(targets_trainable));
    b.module = m;
    b.hopfield = m->hopfield.get();
    b.run = [m](const std::map<std::string, Tensor>& in, const Tensor& pad, const Tensor& assoc) {
      return m->forward_with_details(in.at("x"), pad, assoc);
    };
    b.plain = [m](const std::map<std::string, Tensor>& in, const Tensor& pad, const Tensor& assoc) {
      return m->forward(in.at("x"), pad, assoc);
    };
  } else {
    error += "unknown module '" + kind + "'; ";
  }
  return b;
}

// Runs one case in one dtype; every comparison is a CHECK carrying the case, the tensor and the error.
// reassociate: reassociate_projections forced; streaming: the association path (nullopt = the automatic choice,
// true = forced streaming); plain: through the plain forward, which returns the output alone (its auxiliary
// outputs are then not compared).
void run_case(const fs::path& dir, Dtype dtype, bool reassociate, std::optional<bool> streaming = std::nullopt,
              bool plain = false) {
  const double tol = dtype == Dtype::Float64 ? 1e-10 : 1e-4;
  std::ifstream f(dir / "case.json");
  const json c = json::parse(f);
  const std::string name = c.value("name", dir.filename().string());
  // Strings, not char pointers: INFO captures its operands and would print a char pointer as an address.
  const std::string where = "case " + name + " in " + dtype_name(dtype) + (reassociate ? ", reassociate_projections" : "") +
                            (streaming.value_or(false) ? " (streaming)" : "") + (plain ? " (plain forward)" : "");
  INFO(where);
  std::string error;
  Built b = build(c, error, reassociate, streaming);
  REQUIRE_MESSAGE(error.empty(), error);
  b.module->eval();
  b.module->to(dtype);

  // Resolved sizes must agree with ours (a cheap first pointer to a mismatch).
  const json& res = c.at("resolved");
  CHECK(b.hopfield->head_dim() == res.at("head_dim").get<std::size_t>());
  CHECK(b.hopfield->pattern_dim() == res.at("pattern_dim").get<std::size_t>());
  CHECK(b.hopfield->scaling() == doctest::Approx(res.at("scaling").get<double>()).epsilon(1e-15));
  CHECK(b.hopfield->packed_projection() == (res.at("projection_layout").get<std::string>() == "packed in_proj_weight"));

  std::map<std::string, Tensor> params;
  for (auto& [pname, t] : b.module->named_parameters()) params[pname] = t;
  std::set<std::string> loaded;
  std::map<std::string, Tensor> inputs;
  Tensor pad, assoc, G;
  std::vector<std::pair<std::string, Tensor>> expect;  // (what, reference)
  for (const json& file : c.at("files")) {
    const std::string role = file.at("role").get<std::string>();
    const std::string fname = file.at("file").get<std::string>();
    Tensor t = load_npy((dir / fname).string());
    if (role == "param") {
      const std::string pname = file.at("name").get<std::string>();
      auto it = params.find(pname);
      CHECK_MESSAGE(it != params.end(), "the module has no parameter " << pname);
      if (it == params.end()) continue;
      CHECK_MESSAGE(it->second.shape() == t.shape(), pname << ": module " << shape_str(it->second.shape())
                                                             << " vs file " << shape_str(t.shape()));
      if (it->second.shape() != t.shape()) continue;
      it->second.copy_(t);
      CHECK_MESSAGE(it->second.requires_grad() == file.value("requires_grad", true), pname << " requires_grad differs");
      loaded.insert(pname);
    } else if (role == "input") {
      inputs[file.at("name").get<std::string>()] = t.to(dtype).requires_grad_();
    } else if (role == "mask") {
      Tensor m = is_floating(t.dtype()) ? t.to(dtype) : t;
      if (file.at("name").get<std::string>() == "stored_pattern_padding_mask") pad = m;
      else assoc = m;
    } else if (role == "G") {
      G = t.to(dtype);
    } else if (role == "output") {
      expect.emplace_back("output", t);
    } else if (role == "aux") {
      expect.emplace_back("aux." + file.at("name").get<std::string>(), t);
    } else if (role == "grad_input") {
      expect.emplace_back("grad.input." + file.at("name").get<std::string>(), t);
    } else if (role == "grad_param") {
      expect.emplace_back("grad.param." + file.at("name").get<std::string>(), t);
    }
  }
  for (auto& [pname, t] : params) CHECK_MESSAGE(loaded.count(pname) == 1, "parameter " << pname << " has no file");
  REQUIRE(G.defined());

  HopfieldResult r;
  if (plain) r.output = b.plain(inputs, pad, assoc);
  else r = b.run(inputs, pad, assoc);
  r.output.backward(G);
  int compared = 0;
  for (auto& [what, ref] : expect) {
    if (plain && what.rfind("aux.", 0) == 0) continue;
    Tensor mine;
    if (what == "output") mine = r.output;
    else if (what == "aux.association_matrix") mine = r.association_matrix;
    else if (what == "aux.projected_patterns") mine = r.projected_patterns;
    else if (what.rfind("grad.input.", 0) == 0) mine = inputs.at(what.substr(11)).grad();
    else if (what.rfind("grad.param.", 0) == 0) mine = params.count(what.substr(11)) ? params.at(what.substr(11)).grad() : Tensor();
    if (!mine.defined() && what.rfind("grad.", 0) == 0 && params.count(what.substr(11))) mine = zeros(ref.shape(), dtype);
    CHECK_MESSAGE(mine.defined(), what << " not produced");
    if (!mine.defined()) continue;
    const double err = test::scaled_error(mine.to(Dtype::Float64), ref);
    CHECK_MESSAGE(err <= tol, what << ": scaled error " << err << " > " << tol << " (shape " << shape_str(mine.shape())
                                   << " vs " << shape_str(ref.shape()) << ")");
    ++compared;
  }
  CHECK(compared >= 3);
}

std::vector<fs::path> case_dirs(const std::string& root) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && fs::exists(e.path() / "case.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace

TEST_CASE("hopfield reference cases match hflayers in float64 and float32") {
  auto root = test::shared_dir("HOPFIELD_REFERENCE_DIR", "reference/hopfield", "Hopfield reference vectors");
  if (!root) return;
  const auto dirs = case_dirs(*root);
  REQUIRE_MESSAGE(!dirs.empty(), "no case folders (with case.json) in " << *root);
  // Each case also with reassociate_projections forced: where it applies (no update steps, ...) the
  // association then runs through pooled_association and must match the same vectors. And each through the
  // plain forward: where it applies the association then runs through fused_association.
  for (const fs::path& dir : dirs) {
    for (bool reassociate : {false, true}) {
      run_case(dir, Dtype::Float64, reassociate);
      run_case(dir, Dtype::Float32, reassociate);
    }
    run_case(dir, Dtype::Float64, false, std::nullopt, true);
    run_case(dir, Dtype::Float32, false, std::nullopt, true);
  }
  MESSAGE("ran " << dirs.size() << " Hopfield reference cases in float64 and float32, each also with "
                 << "reassociate_projections and through the plain forward, from " << *root);
}

// The same cases through the streaming association (issue 20), in chunks of 2 stored patterns so that
// every case streams over several chunks; same tolerances.
TEST_CASE("hopfield reference cases match hflayers through the streaming association") {
  auto root = test::shared_dir("HOPFIELD_REFERENCE_DIR", "reference/hopfield", "Hopfield reference vectors");
  if (!root) return;
  const auto dirs = case_dirs(*root);
  REQUIRE_MESSAGE(!dirs.empty(), "no case folders (with case.json) in " << *root);
  set_default_association_chunk(2);
  for (const fs::path& dir : dirs) {
    run_case(dir, Dtype::Float64, false, true);
    run_case(dir, Dtype::Float32, false, true);
  }
  set_default_association_chunk(0);
  MESSAGE("ran " << dirs.size() << " Hopfield reference cases through the streaming association from " << *root);
}
