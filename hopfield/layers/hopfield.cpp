// Hopfield module: option validation, parameter layout and the retrieval loop with the per-head,
// batch-coupled stopping rule (reference README, sections 3.0 - 3.9).
//
// N batch, L state patterns, S stored patterns (S' = S + 1 with zero association), D / Dk / Dv feature
// sizes of state / stored / projection inputs, H heads, hd association size and pd pattern size per head.
#include "hopfield/layers/hopfield.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/layers/init.h"

namespace hf {

namespace {

const char* kActivations[] = {"tanh", "sigmoid", "relu", "selu", "gelu", "exp", "abs"};

bool known_activation(const std::string& a) {
  if (a.empty()) return true;
  for (const char* k : kActivations)
    if (a == k) return true;
  return false;
}

std::string shape_or_undefined(const Tensor& t) { return t.defined() ? shape_str(t.shape()) : "undefined"; }

// The same static pattern for every head: (.., F) -> (.., H*F).
Tensor repeat_heads(const Tensor& x, std::size_t heads) {
  return heads == 1 ? x : concat(std::vector<Tensor>(heads, x), -1);
}

}  // namespace

// ----- HopfieldCore -----
HopfieldCore::HopfieldCore(const HopfieldOptions& o, std::size_t hd, std::size_t pd, bool packed, init::Deferred) {
  const std::size_t h = o.num_heads(), d = o.input_size();
  const std::size_t dk = o.stored_pattern_size().value_or(d), dv = o.pattern_projection_size().value_or(d);
  const bool qs = o.state_pattern_as_static(), ks = o.stored_pattern_as_static(), vs = o.pattern_projection_as_static();
  const std::size_t non_static = (qs ? 0 : 1) + (ks ? 0 : 1) + (vs ? 0 : 1);
  if (o.normalize_hopfield_space_affine()) {
    p_norm_weight = register_parameter("p_norm_weight", zeros({hd}));
    p_norm_bias = register_parameter("p_norm_bias", zeros({hd}));
  }
  if (packed) {
    if (non_static > 0)
      in_proj_weight = register_parameter(
          "in_proj_weight", zeros({(qs ? 0 : h * hd) + (ks ? 0 : h * hd) + (vs ? 0 : h * pd), d}));
  } else {
    if (!qs) q_proj_weight = register_parameter("q_proj_weight", zeros({h * hd, d}));
    if (!ks) k_proj_weight = register_parameter("k_proj_weight", zeros({h * hd, dk}));
    if (!vs)
      v_proj_weight = register_parameter(
          "v_proj_weight", zeros({h * pd, o.pattern_projection_as_connected() ? h * hd : dv}));
  }
  // hflayers always reserves the value part of the bias, even for a static projection (then unused).
  if (o.input_bias() && non_static > 0)
    in_proj_bias = register_parameter("in_proj_bias", zeros({(qs ? 0 : h * hd) + (ks ? 0 : h * hd) + h * pd}));
  if (!o.disable_out_projection())
    out_proj = register_module(
        "out_proj", std::make_shared<Linear>(LinearOptions(h * pd, o.output_size().value_or(d)).bias(o.input_bias()), init::deferred));
}

void HopfieldCore::reset_parameters(Generator& gen) {
  if (p_norm_weight.defined()) {
    init::ones_(p_norm_weight);
    init::zeros_(p_norm_bias);
  }
  for (Tensor* w : {&in_proj_weight, &q_proj_weight, &k_proj_weight, &v_proj_weight})
    if (w->defined()) init::normal_(*w, 0.0, 0.02, gen);
  if (in_proj_bias.defined()) init::zeros_(in_proj_bias);
  if (out_proj) {
    init::normal_(out_proj->weight, 0.0, 0.02, gen);
    if (out_proj->bias.defined()) init::zeros_(out_proj->bias);
  }
}

// ----- Hopfield: construction and validation -----
Hopfield::Hopfield(const HopfieldOptions& o, Generator& gen) : Hopfield(o, init::deferred) { reset_parameters(gen); }

Hopfield::Hopfield(const HopfieldOptions& o, init::Deferred) : options_(o) {
  const char* op = "Hopfield";
  const std::size_t d = o.input_size(), h = o.num_heads();
  HF_CHECK(o.batch_first(), op, "batch_first=false is not supported: pass batch-first (N, L, D) tensors");
  HF_CHECK(d > 0, op, "input_size must be positive");
  HF_CHECK(h > 0, op, "num_heads must be positive");
  HF_CHECK(!o.concat_bias_pattern(), op,
           "concat_bias_pattern=true is not supported (hflayers' own forward never concatenates the bias pattern)");
  HF_CHECK(!o.hidden_size() || *o.hidden_size() > 0, op, "hidden_size must be positive");
  HF_CHECK(!o.pattern_size() || *o.pattern_size() > 0, op, "pattern_size must be positive");
  HF_CHECK(!o.stored_pattern_size() || *o.stored_pattern_size() > 0, op, "stored_pattern_size must be positive");
  HF_CHECK(!o.pattern_projection_size() || *o.pattern_projection_size() > 0, op,
           "pattern_projection_size must be positive");
  HF_CHECK(o.disable_out_projection() || !o.output_size() || *o.output_size() > 0, op, "output_size must be positive");
  HF_CHECK(!o.update_steps_max() || *o.update_steps_max() >= 0, op,
           "update_steps_max=" << *o.update_steps_max() << " must be >= 0 (or nullopt for 'until convergence')");
  HF_CHECK(o.update_steps_eps() > 0 && std::isfinite(o.update_steps_eps()), op,
           "update_steps_eps=" << o.update_steps_eps() << " must be a positive threshold");
  HF_CHECK(o.dropout() >= 0 && o.dropout() < 1, op, "dropout=" << o.dropout() << " must be in [0, 1)");
  HF_CHECK(!o.scaling() || std::isfinite(*o.scaling()), op, "scaling must be finite");
  HF_CHECK(known_activation(o.association_activation()), op,
           "association_activation='" << o.association_activation()
                                      << "' is unknown (tanh, sigmoid, relu, selu, gelu, exp, abs or empty)");
  HF_CHECK(!o.normalize_stored_pattern_affine() || o.normalize_stored_pattern(), op,
           "normalize_stored_pattern_affine=true needs normalize_stored_pattern=true");
  HF_CHECK(!o.normalize_state_pattern_affine() || o.normalize_state_pattern(), op,
           "normalize_state_pattern_affine=true needs normalize_state_pattern=true");
  HF_CHECK(!o.normalize_pattern_projection_affine() || o.normalize_pattern_projection(), op,
           "normalize_pattern_projection_affine=true needs normalize_pattern_projection=true");
  HF_CHECK(!o.normalize_hopfield_space_affine() || o.normalize_hopfield_space(), op,
           "normalize_hopfield_space_affine=true needs normalize_hopfield_space=true");

  const bool qs = o.state_pattern_as_static(), ks = o.stored_pattern_as_static(), vs = o.pattern_projection_as_static();
  stored_dim_ = o.stored_pattern_size().value_or(d);
  projection_dim_ = o.pattern_projection_size().value_or(d);
  static_execution_ = qs && ks && vs && !o.pattern_projection_as_connected() && !o.normalize_hopfield_space() &&
                      o.disable_out_projection();
  if (static_execution_) {
    // No projection at all: the patterns are compared as they are (hflayers' static execution).
    head_dim_ = d;
    pattern_dim_ = projection_dim_;
    HF_CHECK(stored_dim_ == d, op,
             "static execution compares state and stored patterns directly: stored_pattern_size=" << stored_dim_
                                                                                                   << " must equal input_size=" << d);
  } else {
    if (o.hidden_size()) {
      head_dim_ = *o.hidden_size();
    } else {
      HF_CHECK(d % h == 0, op,
               "input_size=" << d << " must be divisible by num_heads=" << h << " (or set hidden_size)");
      head_dim_ = d / h;
    }
    pattern_dim_ = o.pattern_size().value_or(head_dim_);
    HF_CHECK(!qs || d == head_dim_, op,
             "state_pattern_as_static needs input_size=" << d << " equal to the head size hd=" << head_dim_);
    HF_CHECK(!ks || stored_dim_ == head_dim_, op,
             "stored_pattern_as_static needs stored_pattern_size=" << stored_dim_ << " equal to hd=" << head_dim_);
    HF_CHECK(!vs || o.pattern_projection_as_connected() || projection_dim_ == pattern_dim_, op,
             "pattern_projection_as_static needs pattern_projection_size=" << projection_dim_
                                                                          << " equal to pattern_size pd=" << pattern_dim_);
  }
  if (o.pattern_projection_as_connected()) {
    HF_CHECK(stored_dim_ == projection_dim_, op,
             "pattern_projection_as_connected needs stored_pattern_size=" << stored_dim_
                                                                         << " equal to pattern_projection_size="
                                                                         << projection_dim_);
    HF_CHECK(pattern_dim_ == head_dim_, op,
             "pattern_projection_as_connected needs pattern_size=" << pattern_dim_ << " equal to hidden_size=" << head_dim_);
    HF_CHECK(!ks, op, "pattern_projection_as_connected cannot be combined with stored_pattern_as_static");
  }
  scaling_ = o.scaling().value_or(static_execution_ ? 1.0 : 1.0 / std::sqrt(static_cast<double>(head_dim_)));
  // hflayers packs [Wq; Wk; Wv] into one matrix only when all inputs have size D, pattern_size was not
  // given and the projection is not connected.
  packed_ = stored_dim_ == d && projection_dim_ == d && !o.pattern_size() && !o.pattern_projection_as_connected();

  association_core = register_module("association_core",
                                     std::make_shared<HopfieldCore>(o, head_dim_, pattern_dim_, packed_, init::deferred));
  if (o.normalize_stored_pattern())
    norm_stored_pattern = register_module(
        "norm_stored_pattern",
        std::make_shared<LayerNorm>(LayerNormOptions(stored_dim_)
                                        .eps(o.normalize_stored_pattern_eps())
                                        .elementwise_affine(o.normalize_stored_pattern_affine())));
  if (o.normalize_state_pattern())
    norm_state_pattern = register_module(
        "norm_state_pattern",
        std::make_shared<LayerNorm>(
            LayerNormOptions(d).eps(o.normalize_state_pattern_eps()).elementwise_affine(o.normalize_state_pattern_affine())));
  if (o.normalize_pattern_projection())
    norm_pattern_projection = register_module(
        "norm_pattern_projection",
        std::make_shared<LayerNorm>(LayerNormOptions(projection_dim_)
                                        .eps(o.normalize_pattern_projection_eps())
                                        .elementwise_affine(o.normalize_pattern_projection_affine())));
  if (o.dropout() > 0) dropout_gen_.seed(default_generator().next_u64());
}

void Hopfield::reset_parameters(Generator& gen) {
  association_core->reset_parameters(gen);
  for (auto* n : {&norm_stored_pattern, &norm_state_pattern, &norm_pattern_projection})
    if (*n) (*n)->reset_parameters();
}

std::size_t Hopfield::output_dim() const {
  return options_.disable_out_projection() ? options_.num_heads() * pattern_dim_
                                           : options_.output_size().value_or(options_.input_size());
}

std::string Hopfield::extra_repr() const {
  std::ostringstream os;
  os << "input_size=" << options_.input_size() << ", num_heads=" << options_.num_heads() << ", hidden_size=" << head_dim_
     << ", pattern_size=" << pattern_dim_ << ", output_size=" << output_dim() << ", scaling=" << scaling_
     << ", update_steps_max=";
  if (options_.update_steps_max()) os << *options_.update_steps_max();
  else os << "None";
  os << ", update_steps_eps=" << options_.update_steps_eps();
  return os.str();
}

// ----- projections (README 3.3, 3.4) -----
// Bias layout [bq | bk | bv] with the static parts absent; packed weight rows likewise.
Tensor Hopfield::project_rows(const Tensor& input, const LayerNorm* folded, const Tensor& weight, std::size_t row,
                              std::size_t rows, std::size_t bias_off) const {
  const Tensor& bias = association_core->in_proj_bias;
  return folded ? affine_row_projection(input, folded->weight, folded->bias, weight, row, rows, bias, bias_off)
                : row_projection(input, weight, row, rows, bias, bias_off);
}

Tensor Hopfield::project_state(const Tensor& r, const LayerNorm* folded) const {
  const std::size_t hhd = options_.num_heads() * head_dim_;
  if (options_.state_pattern_as_static()) return repeat_heads(r, options_.num_heads());
  const HopfieldCore& c = *association_core;
  return project_rows(r, folded, packed_ ? c.in_proj_weight : c.q_proj_weight, 0, hhd, 0);
}

Tensor Hopfield::project_stored(const Tensor& y, const LayerNorm* folded) const {
  const std::size_t hhd = options_.num_heads() * head_dim_;
  if (options_.stored_pattern_as_static()) return repeat_heads(y, options_.num_heads());
  const HopfieldCore& c = *association_core;
  const std::size_t off = options_.state_pattern_as_static() ? 0 : hhd;
  return packed_ ? project_rows(y, folded, c.in_proj_weight, off, hhd, off) : project_rows(y, folded, c.k_proj_weight, 0, hhd, off);
}

Tensor Hopfield::project_projection(const Tensor& x, const LayerNorm* folded) const {
  const std::size_t h = options_.num_heads(), hhd = h * head_dim_, hpd = h * pattern_dim_;
  const HopfieldCore& c = *association_core;
  const std::size_t off = (options_.state_pattern_as_static() ? 0 : hhd) + (options_.stored_pattern_as_static() ? 0 : hhd);
  Tensor base = x;
  if (options_.pattern_projection_as_connected()) {
    // V = (X~ Wk^T + bk) Wv^T + bv: the stored-pattern map first (README 3.3).
    base = project_stored(x, folded);
    folded = nullptr;
  } else if (options_.pattern_projection_as_static()) {
    return repeat_heads(x, h);
  }
  if (options_.pattern_projection_as_static()) return base;
  return packed_ ? project_rows(base, folded, c.in_proj_weight, off, hpd, off)
                 : project_rows(base, folded, c.v_proj_weight, 0, hpd, off);
}

// Whether the input LayerNorms' affines go into the projections after them (affine_row_projection): when
// every input is projected (a static pattern is used as it is, so its LayerNorm output is needed).
bool Hopfield::folds_input_norms() const {
  const HopfieldOptions& o = options_;
  return !o.stored_pattern_as_static() && !o.state_pattern_as_static() && !o.pattern_projection_as_static();
}

// LayerNorm over each head's block of hd features with one gain/bias shared by all heads (README 3.4).
Tensor Hopfield::normalize_hopfield_space(const Tensor& p) const {
  const std::int64_t n = static_cast<std::int64_t>(p.size(0)), l = static_cast<std::int64_t>(p.size(1));
  const std::int64_t h = static_cast<std::int64_t>(options_.num_heads()), hd = static_cast<std::int64_t>(head_dim_);
  Tensor y = layer_norm(reshape(p, {n, l, h, hd}), 1, association_core->p_norm_weight, association_core->p_norm_bias,
                        options_.normalize_hopfield_space_eps());
  return reshape(y, {n, l, h * hd});
}

Tensor Hopfield::activate(const Tensor& y) const {
  const std::string& a = options_.association_activation();
  if (a.empty()) return y;
  if (a == "tanh") return tanh(y);
  if (a == "sigmoid") return sigmoid(y);
  if (a == "relu") return relu(y);
  if (a == "selu") return selu(y);
  if (a == "gelu") return gelu(y);
  if (a == "exp") return exp(y);
  return abs(y);
}

// Out projection and activation after the association (N, L, H*pd).
Tensor Hopfield::finish_output(const Tensor& associated) const {
  Tensor out = association_core->out_proj ? association_core->out_proj->forward(associated) : associated;
  return activate(out);
}

// The projected patterns (Nv, S, H*pd) as hflayers returns them: (N, H, S', pd), without gradient.
Tensor Hopfield::projected_patterns_of(const Tensor& v, std::size_t n) const {
  Tensor pp = split_heads_copy(v.detach(), options_.num_heads(), options_.add_zero_association() ? 1 : 0);
  if (pp.size(0) != n) pp = expand(pp, {n, pp.size(1), pp.size(2), pp.size(3)}).detach();
  return pp;
}

// Whether the association runs re-associated (pooled_association): where it gives the same result as the
// general path, as the option asks, or else when it takes fewer multiply-adds.
// q, y, x: the state, stored and projection inputs (only their sizes are read).
bool Hopfield::use_pooled_association(const Tensor& q, const Tensor& y, const Tensor& x) const {
  const HopfieldOptions& o = options_;
  const auto& wish = o.reassociate_projections();
  if (wish && !*wish) return false;
  const bool applies = o.update_steps_max() && *o.update_steps_max() == 0 && !o.normalize_hopfield_space() &&
                       !o.stored_pattern_as_static() && !o.state_pattern_as_static() &&
                       !o.pattern_projection_as_static() && !o.pattern_projection_as_connected() &&
                       !(is_training() && o.dropout() > 0);
  if (!applies) return false;
  if (wish) return true;
  // Stored patterns shared by a batch (HopfieldLayer's lookup patterns): the general path projects them once
  // and runs one gemm per head over the whole batch, while pooled_association works batch entry by batch
  // entry; multiply-adds alone would pick the slower one (uci-lookup: 3.3 ms against 7.3 ms).
  if (y.size(0) == 1 && std::max(q.size(0), x.size(0)) > 1) return false;
  // Multiply-adds of the two paths (q is projected either way).
  const double n = static_cast<double>(std::max({q.size(0), y.size(0), x.size(0)})), l = static_cast<double>(q.size(1)),
               s = static_cast<double>(y.size(1)), h = static_cast<double>(o.num_heads()),
               hd = static_cast<double>(head_dim_), pd = static_cast<double>(pattern_dim_),
               dk = static_cast<double>(stored_dim_), dv = static_cast<double>(projection_dim_);
  const double general = static_cast<double>(y.size(0)) * s * h * hd * dk + static_cast<double>(x.size(0)) * s * h * pd * dv +
                          n * l * s * h * (hd + pd);
  const double pooled = static_cast<double>(q.size(0)) * l * h * hd * dk + n * l * h * pd * dv + n * l * s * h * (dk + dv);
  return pooled < general;
}

Tensor Hopfield::pooled_association_output(const Tensor& q, const Tensor& y, const Tensor& x,
                                           const AssociationMasks& masks, Tensor* xi) const {
  const std::size_t h = options_.num_heads(), hhd = h * head_dim_;
  const HopfieldCore& c = *association_core;
  const std::size_t k_off = hhd, v_off = 2 * hhd;  // [bq | bk | bv]: no static parts on this path
  Tensor out = packed_ ? pooled_association(q, y, x, c.in_proj_weight, k_off, c.in_proj_bias, k_off, c.in_proj_weight,
                                            v_off, c.in_proj_bias, v_off, h, pattern_dim_, scaling_, masks,
                                            options_.add_zero_association(), xi)
                       : pooled_association(q, y, x, c.k_proj_weight, 0, c.in_proj_bias, k_off, c.v_proj_weight, 0,
                                            c.in_proj_bias, v_off, h, pattern_dim_, scaling_, masks,
                                            options_.add_zero_association(), xi);
  return finish_output(out);
}

// ----- forward -----
Tensor Hopfield::forward(const Tensor& x) { return run(x, x, x, AssociationMasks(), false).output; }

Tensor Hopfield::forward(const Tensor& x, const Tensor& padding_mask, const Tensor& association_mask) {
  return run(x, x, x, AssociationMasks{padding_mask, association_mask}, false).output;
}

Tensor Hopfield::forward(const Tensor& stored, const Tensor& state, const Tensor& projection, const Tensor& padding_mask,
                         const Tensor& association_mask) {
  return run(stored, state, projection, AssociationMasks{padding_mask, association_mask}, false).output;
}

HopfieldResult Hopfield::forward_with_details(const Tensor& stored, const Tensor& state, const Tensor& projection,
                                              const Tensor& padding_mask, const Tensor& association_mask) {
  return run(stored, state, projection, AssociationMasks{padding_mask, association_mask}, true);
}

HopfieldResult Hopfield::run(const Tensor& stored, const Tensor& state, const Tensor& projection,
                             const AssociationMasks& masks, bool want_projected_patterns) {
  const char* op = "Hopfield";
  const std::size_t h = options_.num_heads();
  HF_CHECK(stored.defined() && state.defined() && projection.defined() && stored.dim() == 3 && state.dim() == 3 &&
               projection.dim() == 3,
           op, "stored, state and projection must be batch-first 3-D tensors (N, S, Dk), (N, L, D), (N, S, Dv); got stored "
                   << shape_or_undefined(stored) << ", state " << shape_or_undefined(state) << ", projection "
                   << shape_or_undefined(projection));
  HF_CHECK(stored.size(2) == stored_dim_ && state.size(2) == options_.input_size() && projection.size(2) == projection_dim_,
           op,
           "feature sizes: stored " << shape_str(stored.shape()) << " (Dk=" << stored_dim_ << "), state "
                                    << shape_str(state.shape()) << " (D=" << options_.input_size() << "), projection "
                                    << shape_str(projection.shape()) << " (Dv=" << projection_dim_ << ")");
  HF_CHECK(stored.size(1) == projection.size(1), op,
           "stored " << shape_str(stored.shape()) << " and projection " << shape_str(projection.shape())
                     << " need the same number of patterns S");
  const std::size_t n = std::max({stored.size(0), state.size(0), projection.size(0)});
  for (const Tensor* t : {&stored, &state, &projection})
    HF_CHECK(t->size(0) == 1 || t->size(0) == n, op,
             "batch sizes differ: stored " << shape_str(stored.shape()) << ", state " << shape_str(state.shape())
                                           << ", projection " << shape_str(projection.shape()) << " (1 = shared)");

  const bool zero = options_.add_zero_association();
  const bool streaming = streams_association(n, state.size(1), stored.size(1), state.dtype());
  if (!streaming && use_pooled_association(state, stored, projection)) {
    // 3.2 input LayerNorms, 3.3 the state projection; then the same result as the steps below with
    // update_steps_max 0, for few state patterns (see the option).
    Tensor y = norm_stored_pattern ? norm_stored_pattern->forward(stored) : stored;                  // (N, S, Dk)
    Tensor r = norm_state_pattern ? norm_state_pattern->forward(state) : state;                      // (N, L, D)
    Tensor x = norm_pattern_projection ? norm_pattern_projection->forward(projection) : projection;  // (N, S, Dv)
    Tensor q = project_state(r);  // (N, L, H*hd)
    HopfieldResult result;
    result.output = pooled_association_output(q, y, x, masks, &result.association_matrix);
    result.update_steps.assign(h, 0);
    if (want_projected_patterns) {  // only for inspection: the values this path never forms
      NoGrad ng;
      result.projected_patterns = projected_patterns_of(project_projection(x), result.association_matrix.size(0));
    }
    return result;
  }
  // 3.2 input LayerNorms and 3.3 projections. With folded norms each input is normalised without the affine
  // (once per distinct input tensor and eps: self-association normalises one tensor, not three) and the
  // affine goes into its projection.
  const bool fold = folds_input_norms();
  std::vector<std::pair<std::pair<const TensorImpl*, double>, Tensor>> normalised;
  auto norm_input = [&](const Tensor& t, const std::shared_ptr<LayerNorm>& ln) -> Tensor {
    if (!ln) return t;
    if (!fold) return ln->forward(t);
    const std::pair<const TensorImpl*, double> key{t.impl().get(), ln->options().eps()};
    for (const auto& [k, xhat] : normalised)
      if (k == key) return xhat;
    normalised.emplace_back(key, layer_norm(t, 1, Tensor(), Tensor(), ln->options().eps()));
    return normalised.back().second;
  };
  auto folded = [&](const std::shared_ptr<LayerNorm>& ln) -> const LayerNorm* {
    return fold && ln && ln->weight.defined() ? ln.get() : nullptr;
  };
  Tensor q = project_state(norm_input(state, norm_state_pattern), folded(norm_state_pattern));             // (N, L, H*hd)
  Tensor k = project_stored(norm_input(stored, norm_stored_pattern), folded(norm_stored_pattern));         // (N, S, H*hd)
  Tensor v = project_projection(norm_input(projection, norm_pattern_projection), folded(norm_pattern_projection));  // (N, S, H*pd)
  // 3.4 Hopfield-space LayerNorm.
  if (options_.normalize_hopfield_space()) {
    q = normalize_hopfield_space(q);
    k = normalize_hopfield_space(k);
  }
  HopfieldResult result;
  Tensor out;
  const auto& max_steps = options_.update_steps_max();
  const bool dropping = is_training() && options_.dropout() > 0;
  if (streaming) {
    out = stream_association(q, k, v, masks, want_projected_patterns, result);
  } else if (!want_projected_patterns && max_steps && *max_steps == 0 && !dropping && q.size(0) == n &&
             k.size(0) == n && v.size(0) == n) {
    // One association without update steps, its matrix not returned (a plain forward): the fused op gives
    // the same result as the steps below and keeps each block's association matrix in cache.
    out = fused_association(q, k, v, h, scaling_, masks, zero);
    result.update_steps.assign(h, 0);
  } else {
    // 3.7 / 3.8 first association and update steps. Candidates are computed for every head (the
    // computation is batched); a stopped head keeps its own last matrix through select_heads.
    std::vector<Tensor> xis{association_probs(q, k, h, scaling_, masks, zero)};  // each (N, H, L, S')
    std::vector<std::size_t> steps(h, 0);
    std::vector<bool> active(h, !max_steps || *max_steps > 0);
    for (std::size_t t = 1; std::find(active.begin(), active.end(), true) != active.end(); ++t) {
      Tensor z = associate(xis.back(), k, h);  // new state xi K (N, L, H*hd)
      xis.push_back(association_probs(z, k, h, scaling_, masks, zero));
      const std::vector<double> d = association_change(xis[t], xis[t - 1]);  // control flow only
      for (std::size_t i = 0; i < h; ++i) {
        if (!active[i]) continue;
        steps[i] = t;
        active[i] = (!max_steps || static_cast<long long>(t) < *max_steps) && d[i] > options_.update_steps_eps();
      }
    }
    const bool uniform = std::all_of(steps.begin(), steps.end(), [&](std::size_t s) { return s == steps[0]; });
    Tensor xi = uniform ? xis[steps[0]] : select_heads(xis, steps);  // (N, H, L, S')

    // 3.9 output.
    Tensor xi_used = dropping ? dropout(xi, options_.dropout(), true, dropout_gen_) : xi;
    out = associate(xi_used, v, h);  // (N, L, H*pd)
    result.association_matrix = xi;
    result.update_steps = steps;
  }
  result.output = finish_output(out);
  if (want_projected_patterns) result.projected_patterns = projected_patterns_of(v, result.association_matrix.size(0));
  return result;
}

}  // namespace hf
