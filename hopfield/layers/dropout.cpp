// Dropout module: the dropout op driven by the module's training flag and its own generator.
#include "hopfield/layers/dropout.h"

#include <sstream>

#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"

namespace hf {

Dropout::Dropout(const DropoutOptions& options)
    : options_(options), gen_(options.seed() ? *options.seed() : default_generator().next_u64()) {
  HF_CHECK(options_.p() >= 0.0 && options_.p() <= 1.0, "Dropout",
           "p=" << options_.p() << " must be a probability in [0, 1]");
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, options_.p(), is_training(), gen_); }

std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << options_.p();
  return os.str();
}

}  // namespace hf
