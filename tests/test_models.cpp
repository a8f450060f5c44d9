// The reusable models of layers/models/ that the repertoire and demonstration programs train: RepertoireNet
// (hopfield-repertoire) and DemoNet (hopfield-bit-pattern, hopfield-latch). MilNet and TabularHopfieldNet:
// test_trainer.cpp.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hopfield/datasets/repertoire.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/models/demo_net.h"
#include "hopfield/layers/models/demo_runs.h"
#include "hopfield/layers/models/repertoire_net.h"
#include "hopfield/layers/models/uci_members.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/optim/repertoire_batches.h"
#include "datasets_support.h"

using namespace hf;

namespace {

Repertoire repertoire_of(const std::vector<std::string>& sequences) {
  Repertoire r;
  r.sequences = sequences;
  r.counts.assign(sequences.size(), 1.0);
  return r;
}

std::vector<double> row(const Tensor& t, std::size_t i) {
  const std::vector<double> v = t.to_vector();
  const std::size_t n = t.size(1);
  return {v.begin() + static_cast<std::ptrdiff_t>(i * n), v.begin() + static_cast<std::ptrdiff_t>((i + 1) * n)};
}

// GSA as a k-mer (three consecutive letters).
Kmer gsa() {
  Kmer k;
  k.offsets = {0, 1, 2};
  for (char c : std::string("GSA")) k.letters.push_back(static_cast<int>(kAminoAcids.find(c)));
  return k;
}

}  // namespace

TEST_CASE("models: RepertoireNet embeds a sequence alone as in any batch and is drawn once from its generator") {
  const RepertoireNetOptions o = RepertoireNetOptions().num_filters(6).kernel_size(5);
  Generator g1(7), g2(7);
  RepertoireNet a(o, g1), b(o, g2);
  for (const auto& [k, t] : a.state_dict()) CHECK(t.to_vector() == b.state_dict().at(k).to_vector());
  CHECK(g1.next_u64() == g2.next_u64());
  CHECK(a.key != nullptr);
  CHECK_FALSE(RepertoireNet(RepertoireNetOptions(o).key_network(false), g1).key);
  // A short sequence (shorter than the kernel) and a long one: the short one's embedding does not see the
  // long one's extra windows.
  const Repertoire both = repertoire_of({"CAS", "CASSLGQGAYEQYF"}), alone = repertoire_of({"CAS"});
  NoGrad ng;
  const Tensor h2 = a.embed(encode_repertoires({&both})), h1 = a.embed(encode_repertoires({&alone}));
  CHECK(h2.shape() == Shape{2, 6});
  const std::vector<double> r2 = row(h2, 0), r1 = row(h1, 0);
  for (std::size_t f = 0; f < 6; ++f) CHECK(r2[f] == doctest::Approx(r1[f]).epsilon(1e-6));  // up to gemm blocking
  CHECK(a.logit(h2).numel() == 1);
  CHECK_THROWS_WITH_AS(RepertoireNet(RepertoireNetOptions().num_filters(0)), doctest::Contains("num_filters=0"), Error);
}

TEST_CASE("models: RepertoireNet's k-mer detectors fire on their k-mer only and the attention starts on them") {
  Generator g(3);
  RepertoireNet net(RepertoireNetOptions().num_filters(6).kernel_size(5), g);
  net.init_kmer_filters({gsa()});
  net.init_attention_on_detectors(3);
  // Sequence 1 holds GSA; the others miss one letter of it at most.
  const Repertoire rep = repertoire_of({"CASGTAKFLV", "CASGSAKFLV", "CAWGSTKFLV", "CAKKKKKFLV"});
  const RepertoireBatch b = encode_repertoires({&rep});
  const double selu_half = 1.0507009873554805 * 0.5;
  {
    NoGrad ng;
    const Tensor h = net.embed(b);
    for (std::size_t f = 0; f < 3; ++f) {
      CHECK(row(h, 1)[f] == doctest::Approx(selu_half).epsilon(1e-6));  // all three placements see GSA
      CHECK(row(h, 0)[f] < 0);                                           // GTA: one mismatch
    }
    for (std::size_t f = 3; f < 6; ++f) CHECK(row(h, 1)[f] < 0);  // the other filters are off
    const std::vector<double> att = net.attention(h);
    CHECK(att[1] > 0.99);
  }
  // Training forward: half of the sequences, the most attended first; the logit is that of those kept.
  const RepertoireForward f = net.forward_top(b, 0.5);
  REQUIRE(f.kept.size() == 2);
  CHECK(f.kept[0] == 1);
  CHECK(f.logit.requires_grad());
  std::vector<std::size_t> rows = f.kept;
  std::sort(rows.begin(), rows.end());
  NoGrad ng;
  CHECK(f.logit.item() == net.logit(net.embed(unfold_windows(b, rows, 5))).item());
  CHECK(net.forward_top(b, 0.01).kept.size() == 1);  // at least one sequence
  CHECK_THROWS_WITH_AS(net.forward_top(b, 0.0), doctest::Contains("keep_fraction"), Error);
  CHECK(top_k_indices({0.1, 0.5, 0.5, 0.2}, 3) == std::vector<std::size_t>{1, 2, 3});
}

TEST_CASE("models: score_repertoire reads a repertoire in chunks and scores all of its sequences") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("hf_models_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::vector<std::string> seqs{"CASSLGQGAYEQYF", "CASGSAKF", "CAWSVGGNTEAFF", "CASKEYV", "CSARDGTGNGYTF"};
  std::ofstream(dir / "r.tsv") << "amino_acid\ttemplates\n" << seqs[0] << "\t1\n" << seqs[1] << "\t2\n" << seqs[2]
                               << "\t1\n" << seqs[3] << "\t1\n" << seqs[4] << "\t1\n";
  std::ofstream(dir / "empty.tsv") << "amino_acid\ttemplates\n";
  Generator g(5);
  RepertoireNet net(RepertoireNetOptions().num_filters(8).kernel_size(4), g);
  const RepertoireScore s = score_repertoire(net, (dir / "r.tsv").string(), 2, RepertoireOptions(), true);
  CHECK(s.sequences == seqs);
  REQUIRE(s.attention.size() == 5);
  double mass = 0;
  for (double a : s.attention) mass += a;
  CHECK(mass == doctest::Approx(1.0).epsilon(1e-5));
  const Repertoire all = repertoire_of(seqs);
  NoGrad ng;
  const double z = net.logit(net.embed(encode_repertoires({&all}))).item();
  CHECK(s.probability == doctest::Approx(1.0 / (1.0 + std::exp(-z))).epsilon(1e-5));
  CHECK(score_repertoire(net, (dir / "r.tsv").string(), 100, RepertoireOptions(), false).sequences.empty());
  CHECK_THROWS_WITH_AS(score_repertoire(net, (dir / "empty.tsv").string(), 2, RepertoireOptions(), false),
                       doctest::Contains("empty.tsv"), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("models: DemoNet gives one logit per bag for the three Hopfield modules, adapted or not") {
  Generator gx(1);
  const Tensor x = randn({3, 4, 5}, Dtype::Float32, gx);
  for (DemoKind kind : {DemoKind::Association, DemoKind::Pooling, DemoKind::Lookup})
    for (bool adapted : {false, true}) {
      CAPTURE(static_cast<int>(kind));
      CAPTURE(adapted);
      const DemoNetOptions o = DemoNetOptions(kind, 5, 4).lookup_quantity(7).adapted(adapted);
      Generator g1(2), g2(2);
      DemoNet a(o, g1), b(o, g2);
      a.eval();
      b.eval();
      const Tensor z = a.forward(x);
      CHECK(z.shape() == Shape{3});
      CHECK(z.to_vector() == b.forward(x).to_vector());
      CHECK(a.hopfield_options().num_heads() == (adapted && kind != DemoKind::Lookup ? 8u : 1u));
      if (kind == DemoKind::Lookup) {
        CHECK(a.lookup->lookup_weights.size(1) == 7);
        // The adapted lookup keeps its targets fixed.
        CHECK((a.num_parameters(true) < a.num_parameters()) == adapted);
      }
    }
  DemoNet embedded(DemoNetOptions(DemoKind::Pooling, 5, 4).embedding(16));
  CHECK(embedded.embed != nullptr);
  CHECK(embedded.hopfield_options().input_size() == 16);
  CHECK(embedded.forward(x).shape() == Shape{3});
  CHECK_THROWS_WITH_AS(embedded.forward(randn({3, 4, 6}, Dtype::Float32, gx)), doctest::Contains("DemoNet.forward"), Error);
  CHECK_THROWS_WITH_AS(DemoNet(DemoNetOptions(DemoKind::Lookup, 0, 4)), doctest::Contains("num_features=0"), Error);
}

TEST_CASE("models: RepertoireBatches orders repertoires by class, keeps the top fraction after warm-up, scales by group") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("hf_batches_" + std::to_string(::getpid()));
  write_implanted_dataset(dir.string(), implanted_repertoires(ImplantedRepertoireOptions(8).min_sequences(30).max_sequences(40).seed(2)));
  const RepertoireDataset ds(dir.string(), RepertoireOptions().target_column("label"));
  std::vector<std::int64_t> y;
  for (std::int64_t l : ds.labels()) y.push_back(ds.classes()[static_cast<std::size_t>(l)] == "1" ? 1 : 0);
  const std::vector<std::size_t> train{0, 1, 2, 3, 4, 5, 6};
  // Balanced: positive, negative, ... alternate while both last.
  const std::vector<std::size_t> order = repertoire_order(train, y, 3, 1, true);
  CHECK(order.size() == 7);
  for (std::size_t k = 0; k + 1 < order.size() && k < 6; k += 2) CHECK(y[order[k]] != y[order[k + 1]]);
  CHECK(repertoire_order(train, y, 3, 1, true) == order);
  CHECK(repertoire_order(train, y, 3, 2, true) != order);

  Generator g(1);
  RepertoireNet net(RepertoireNetOptions().num_filters(6).kernel_size(5), g);
  RepertoireBatches b(net, ds, train, y, RepertoireBatchesOptions().subsample(20).keep(0.25).warmup_epochs(1).batch_size(3).seed(3));
  std::vector<std::size_t> kept;
  b.observer([&](std::size_t, const Repertoire& sub, const RepertoireForward& f) {
    CHECK(sub.sequences.size() == 20);
    kept.push_back(f.kept.size());
  });
  REQUIRE(b.begin_epoch(1) == 7);
  double sum = 0;
  const Trainer::GradHook hook = b.grad_hook();
  for (std::size_t k = 0; k < 7; ++k) {
    const BatchLoss l = b.loss(k);
    sum += l.loss.item() * (k < 6 ? 3.0 : 1.0);  // groups of 3, 3 and the last one alone
    if (k == 2 || k == 5 || k == 6) hook(net);    // the Trainer's accumulate(3) calls it there
  }
  CHECK(b.train_loss() == doctest::Approx(sum / 7).epsilon(1e-12));
  CHECK(kept == std::vector<std::size_t>(7, 20));  // warm-up: every sequence
  kept.clear();
  b.begin_epoch(2);
  b.loss(0);
  CHECK(kept == std::vector<std::size_t>{5});  // then ceil(0.25 * 20)
  // Without grad_hook() the step's gradient would never reach the parameters: the next group refuses to start.
  b.loss(1);
  b.loss(2);
  CHECK_THROWS_WITH_AS(b.loss(3), doctest::Contains("grad_hook"), Error);
  CHECK_THROWS_WITH_AS(RepertoireBatches(net, ds, train, {0, 1}), doctest::Contains("2 labels"), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("models: run_demo_variants trains the chosen notebook variants, repeats a seed exactly, writes its files") {
  const MilDataset ds = bit_pattern_bags(BitPatternOptions(64, 4, 1).num_bits(4)).bags;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("hf_demo_runs_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  DemoRunOptions o;
  o.epochs = 2;
  o.quiet = true;
  o.variants = "hopfield_pooling,hopfield_lookup_adapted";
  o.out_dir = dir.string();
  const nlohmann::json a = run_demo_variants("test-demo", ds, 250, 250, o);
  CHECK(a.at("train_samples").get<std::size_t>() == 48);  // the first and last eighth (8 + 8 of 64) held out
  CHECK(a.at("eval_samples").get<std::size_t>() == 16);
  REQUIRE(a.at("variants").size() == 2);
  for (const char* name : {"hopfield_pooling", "hopfield_lookup_adapted"}) {
    const nlohmann::json& v = a.at("variants").at(name);
    CHECK(v.at("epochs").get<std::size_t>() == 2);  // o.epochs overrides the notebook's 250
    CHECK(v.at("eval_accuracy_per_epoch").size() == 2);
    const double acc = v.at("final_eval_accuracy");
    CHECK(acc >= 0.0);
    CHECK(acc <= 1.0);
    CHECK(v.at("best_eval_accuracy").get<double>() >= acc);
    CHECK(v.at("parameters").get<std::size_t>() > 0);
  }
  // metrics.csv: a header and one row per variant and epoch; the last variant's two plots.
  std::ifstream csv(dir / "metrics.csv");
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(csv, line)) rows.push_back(line);
  REQUIRE(rows.size() == 5);
  CHECK(rows[0] == "variant,epoch,train_loss,train_accuracy,eval_loss,eval_accuracy");
  CHECK(rows[1].rfind("hopfield_pooling,1,", 0) == 0);
  CHECK(std::filesystem::exists(dir / "hopfield_lookup_adapted_accuracy.svg"));
  CHECK(std::filesystem::exists(dir / "results.json"));
  // The same seed gives the same run; a variant keeps its seed when chosen alone.
  o.out_dir.clear();
  const nlohmann::json b = run_demo_variants("test-demo", ds, 250, 250, o);
  CHECK(b.at("variants").at("hopfield_pooling").at("eval_accuracy_per_epoch") ==
        a.at("variants").at("hopfield_pooling").at("eval_accuracy_per_epoch"));
  o.variants = "hopfield_lookup_adapted";
  const nlohmann::json c = run_demo_variants("test-demo", ds, 250, 250, o);
  CHECK(c.at("variants").at("hopfield_lookup_adapted").at("final_eval_accuracy_per_seed") ==
        a.at("variants").at("hopfield_lookup_adapted").at("final_eval_accuracy_per_seed"));
  o.variants = "hopfield,nonsense";
  CHECK_THROWS_WITH_AS(run_demo_variants("test-demo", ds, 250, 250, o), doctest::Contains("unknown variant 'nonsense'"),
                       Error);
  CHECK(select_demo_variants(demo_variants(3, 4), "all", "x").size() == 6);
  CHECK(demo_variants(3, 4).back().epochs == 4);  // the lookup variants take lookup_epochs
  std::filesystem::remove_all(dir);
}

TEST_CASE("models: a UCI member trains on a split, repeats its seed, and the retrieval member separates clusters") {
  const UciDataset ds = test::separated_uci(80);
  UciMemberConfig c;
  c.epochs = 3;
  c.min_epoch_rows = 64;
  c.bins = 4;
  const UciSplitResult a = train_uci_member(ds, 1, c, 7);
  CHECK(a.test_accuracy >= 0.9);  // the clusters are 20 standard deviations apart
  CHECK(a.history.size() == 3);
  CHECK(a.best_epoch >= 1);
  REQUIRE(a.test_prob.size() == 20 * 2);  // (test rows, C)
  for (std::size_t r = 0; r < 20; ++r) CHECK(a.test_prob[2 * r] + a.test_prob[2 * r + 1] == doctest::Approx(1.0));
  const UciSplitResult b = train_uci_member(ds, 1, c, 7);
  CHECK(b.test_prob == a.test_prob);
  CHECK(b.val_loss == a.val_loss);
  c.model = "memory";
  CHECK(train_uci_member(ds, 2, c, 7).test_accuracy >= 0.9);
  const UciSplitResult r = run_uci_retrieval(ds, 0);
  CHECK(r.test_accuracy == 1.0);
  CHECK(r.history.empty());  // nothing trained
  CHECK(r.beta == kUciRetrievalB[0]);  // every b separates the clusters on validation: the smallest is kept
  UciDataset no_test = ds;
  for (std::size_t i = 0; i < ds.num_samples; ++i) no_test.test_mask[i * UciDataset::num_splits] = 0;
  CHECK_THROWS_WITH_AS(train_uci_member(no_test, 0, c, 7), doctest::Contains("separated split 0"), Error);
}
