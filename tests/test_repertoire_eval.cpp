// Chunked evaluation of whole repertoires (issue 20): ChunkedPooling and pool_repertoire against the
// unchunked HopfieldPooling forward over all sequences at once, and the streaming cohort writer.
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "datasets_support.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/chunked_pooling.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/models/repertoire_eval.h"
#include "support.h"

using namespace hf;

namespace {

// A small DeepRC-shaped network: h = SELU(Linear(sum over positions of the 23-channel encoding)), keys
// SELU(Linear(h)), HopfieldPooling, all float64 or float32. Sequences are embedded independently.
struct SmallNet {
  std::shared_ptr<Linear> embed, key;
  std::shared_ptr<HopfieldPooling> pooling;
  Dtype dtype;

  SmallNet(const HopfieldOptions& ho, std::size_t quantity, Dtype dt, std::uint64_t seed) : dtype(dt) {
    Generator g(seed);
    const std::size_t F = ho.input_size();
    embed = std::make_shared<Linear>(LinearOptions(kRepertoireChannels, F));
    embed->reset_parameters(g);
    key = std::make_shared<Linear>(LinearOptions(F, ho.stored_pattern_size().value_or(F)));
    key->reset_parameters(g);
    pooling = std::make_shared<HopfieldPooling>(HopfieldPoolingOptions(ho).quantity(quantity), g);
    // Pooling patterns of norm ~ sqrt(F) instead of hflayers' N(0, 0.02^2): a peaked attention, so a wrong
    // normaliser or a wrong rescaling between chunks shows in the result.
    init::normal_(pooling->pooling_weights, 0.0, 1.0, g);
    for (Module* m : {static_cast<Module*>(embed.get()), static_cast<Module*>(key.get()), static_cast<Module*>(pooling.get())})
      m->to(dt);
    pooling->eval();
  }
  Tensor h(const Repertoire& chunk) const {
    const RepertoireBatch b = encode_repertoires({&chunk}, RepertoireBatchOptions().dtype(dtype));
    return selu(embed->forward(sum(b.x, {1})));
  }
  Tensor keys(const Tensor& h) const { return selu(key->forward(h)); }
  // The unchunked reference: every sequence at once through HopfieldPooling.
  HopfieldResult dense(const Repertoire& rep) {
    NoGrad ng;
    const Tensor hh = h(rep);
    return pooling->forward_with_details(unsqueeze(keys(hh), 0), unsqueeze(hh, 0));
  }
};

Repertoire sample_repertoire(std::size_t n, std::uint64_t seed) {
  auto reps = implanted_repertoires(ImplantedRepertoireOptions(2).min_sequences(n).max_sequences(n).seed(seed)
                                        .fraction_positive(1.0).witness_rate(0.1));
  return reps[0].repertoire;
}

std::vector<HopfieldOptions> configurations() {
  return {
      // hopfield-repertoire's default: static attention, beta 1.
      HopfieldOptions(8).hidden_size(8).stored_pattern_as_static(true).state_pattern_as_static(true).scaling(1.0),
      // Projected heads with the zero association, Hopfield-space LayerNorm, input LayerNorms, an activation.
      HopfieldOptions(8).num_heads(2).hidden_size(3).pattern_size(5).scaling(0.7).add_zero_association(true)
          .normalize_hopfield_space(true).normalize_hopfield_space_affine(true).association_activation("tanh"),
      // Keys of another size than the values, no input LayerNorms, no out projection.
      HopfieldOptions(8).stored_pattern_size(6).num_heads(3).hidden_size(2).normalize_stored_pattern(false)
          .normalize_stored_pattern_affine(false).normalize_state_pattern(false).normalize_state_pattern_affine(false)
          .normalize_pattern_projection(false).normalize_pattern_projection_affine(false).disable_out_projection(true).scaling(2.0),
  };
}

}  // namespace

TEST_CASE("pool_repertoire in chunks equals HopfieldPooling over all sequences at once (float64 1e-12, float32 1e-5)") {
  const Repertoire rep = sample_repertoire(53, 5);
  std::size_t config = 0;
  for (const HopfieldOptions& ho : configurations()) {
    ++config;
    for (Dtype dt : {Dtype::Float64, Dtype::Float32}) {
      const double tol = dt == Dtype::Float64 ? 1e-12 : 1e-5;
      for (std::size_t quantity : {1, 3}) {
        SmallNet net(ho, quantity, dt, 100 + config);
        const HopfieldResult d = net.dense(rep);
        // Mean attention over heads and pooling patterns, from the dense association matrix (1, H, q, S).
        // With the zero association each row has S + 1 entries, the last one the zero association's.
        const std::vector<double> a = d.association_matrix.to_vector();
        const std::size_t width = d.association_matrix.size(3), rows = a.size() / width;
        REQUIRE(width == rep.sequences.size() + (ho.add_zero_association() ? 1 : 0));
        std::vector<double> att(rep.sequences.size(), 0.0);
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t s = 0; s < att.size(); ++s) att[s] += a[r * width + s] / static_cast<double>(rows);
        for (std::size_t chunk : {1, 7, 16, 53, 1000}) {
          INFO("configuration " << config << " " << dtype_name(dt) << " quantity " << quantity << " chunk " << chunk);
          const PooledRepertoire p = pool_repertoire(
              rep, [&](const Repertoire& c) { return net.h(c); }, [&](const Tensor& h) { return net.keys(h); },
              *net.pooling, RepertoireEvalOptions().chunk(chunk).attention(true).sequences(true));
          CHECK(p.num_sequences == rep.sequences.size());
          CHECK(p.chunks == (rep.sequences.size() + chunk - 1) / chunk);
          CHECK(p.sequences == rep.sequences);
          CHECK(p.pooled.dtype() == dt);
          CHECK(test::scaled_error(p.pooled.to(Dtype::Float64), d.output.to(Dtype::Float64)) <= tol);
          REQUIRE(p.attention.size() == att.size());
          double err = 0;
          for (std::size_t s = 0; s < att.size(); ++s) err = std::max(err, std::abs(p.attention[s] - att[s]));
          CHECK(err <= tol);
        }
      }
    }
  }
}

TEST_CASE("pool_repertoire_file reads the file in chunks and gives what the repertoire in memory gives") {
  test::TempDir dir("repertoire_eval");
  const Repertoire rep = sample_repertoire(41, 9);
  const std::string path = (dir.path / "rep.tsv").string();
  write_repertoire_file(path, rep);
  SmallNet net(configurations()[1], 2, Dtype::Float64, 7);
  const auto embed = [&](const Repertoire& c) { return net.h(c); };
  const auto keys = [&](const Tensor& h) { return net.keys(h); };
  const PooledRepertoire f = pool_repertoire_file(path, RepertoireOptions(), embed, keys, *net.pooling,
                                                  RepertoireEvalOptions().chunk(6).attention(true));
  const HopfieldResult d = net.dense(rep);
  CHECK(f.num_sequences == 41);
  CHECK(f.chunks == 7);
  CHECK(f.sequences.empty());  // not asked for
  CHECK(test::scaled_error(f.pooled, d.output) <= 1e-12);
  // An empty repertoire file names itself.
  const std::string empty = dir.write("empty.tsv", "amino_acid\ttemplates\n");
  CHECK_THROWS_WITH(pool_repertoire_file(empty, RepertoireOptions(), embed, keys, *net.pooling),
                    doctest::Contains("empty.tsv"));
}

TEST_CASE("ChunkedPooling refuses update steps and association dropout in training, naming the option") {
  {
    HopfieldPooling pooling(HopfieldPoolingOptions(HopfieldOptions(4).update_steps_max(2)));
    CHECK_THROWS_WITH_AS(ChunkedPooling{pooling}, doctest::Contains("update_steps_max=2"), Error);
  }
  {
    HopfieldPooling pooling(HopfieldPoolingOptions(HopfieldOptions(4).dropout(0.1)));
    CHECK_THROWS_WITH_AS(ChunkedPooling{pooling}, doctest::Contains("dropout"), Error);
    pooling.eval();
    ChunkedPooling ok(pooling);
    CHECK_THROWS_WITH_AS(ok.output(), doctest::Contains("no stored pattern"), Error);
    CHECK_THROWS_WITH_AS(ok.add(zeros({1, 3, 4}), zeros({1, 2, 4})), doctest::Contains("same S_c"), Error);
  }
}

TEST_CASE("write_implanted_dataset from options streams the files the vector version writes") {
  const ImplantedRepertoireOptions o = deeprc_scale_cohort(4, 6, 300);
  CHECK(o.min_sequences() == 300);
  CHECK(o.max_sequences() == 300);
  CHECK(o.motifs() == random_motif_cohort(4, 6).motifs());
  test::TempDir a("cohort_vector"), b("cohort_stream");
  write_implanted_dataset(a.path.string(), implanted_repertoires(o));
  write_implanted_dataset(b.path.string(), o);
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  };
  CHECK(slurp(a.path / "metadata.tsv") == slurp(b.path / "metadata.tsv"));
  for (const char* id : {"rep_0000", "rep_0005"}) {
    const std::string rel = std::string("repertoires/") + id + ".tsv";
    CHECK(slurp(a.path / rel).size() > 300 * 10);
    CHECK(slurp(a.path / rel) == slurp(b.path / rel));
  }
}
