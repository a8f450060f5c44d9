// Hopfield's association operands for chunked callers (see hopfield.h): the same steps as Hopfield::run
// before and after the association, one operand at a time.
#include "hopfield/engine/check.h"
#include "hopfield/layers/hopfield.h"

namespace hf {

Tensor Hopfield::association_queries(const Tensor& state) {
  HF_CHECK(state.defined() && state.dim() == 3 && state.size(2) == options_.input_size(), "Hopfield",
           "association_queries: state must be (N, L, D=" << options_.input_size() << "), got "
                                                          << (state.defined() ? shape_str(state.shape()) : "undefined"));
  Tensor q = project_state(norm_state_pattern ? norm_state_pattern->forward(state) : state);
  return options_.normalize_hopfield_space() ? normalize_hopfield_space(q) : q;
}

Tensor Hopfield::association_keys(const Tensor& stored) {
  HF_CHECK(stored.defined() && stored.dim() == 3 && stored.size(2) == stored_dim_, "Hopfield",
           "association_keys: stored must be (N, S, Dk=" << stored_dim_ << "), got "
                                                        << (stored.defined() ? shape_str(stored.shape()) : "undefined"));
  Tensor k = project_stored(norm_stored_pattern ? norm_stored_pattern->forward(stored) : stored);
  return options_.normalize_hopfield_space() ? normalize_hopfield_space(k) : k;
}

Tensor Hopfield::association_values(const Tensor& projection) {
  HF_CHECK(projection.defined() && projection.dim() == 3 && projection.size(2) == projection_dim_, "Hopfield",
           "association_values: projection must be (N, S, Dv=" << projection_dim_ << "), got "
                                                              << (projection.defined() ? shape_str(projection.shape())
                                                                                       : "undefined"));
  return project_projection(norm_pattern_projection ? norm_pattern_projection->forward(projection) : projection);
}

Tensor Hopfield::association_output(const Tensor& associated) {
  const std::size_t width = options_.num_heads() * pattern_dim_;
  HF_CHECK(associated.defined() && associated.dim() == 3 && associated.size(2) == width, "Hopfield",
           "association_output: input must be (N, L, H*pd=" << width << "), got "
                                                           << (associated.defined() ? shape_str(associated.shape())
                                                                                    : "undefined"));
  return finish_output(associated);
}

}  // namespace hf
