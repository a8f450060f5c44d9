// hopfield-repertoire: immune repertoire classification in the style of DeepRC (Widrich et al. 2020,
// "Modern Hopfield Networks and Attention for Immune Repertoire Classification").
//
//   one repertoire = S sequences --1-D convolution, SELU, max over positions--> h (S, F)
//   --HopfieldPooling over the S sequences--> (F) --Linear(F, 1)--> one logit; loss: BCE with logits; Adam.
// The model, its attention, its convolution and its initialisations: hopfield/layers/models/repertoire_net.h.
//
// Training (hf::Trainer over hf::RepertoireBatches, one micro-batch per repertoire, --batch-size of them per
// optimizer step) follows DeepRC: every repertoire contributes a random subsample of its sequences per epoch; the attention of the
// pooling is computed for all of them without the tape, only the top 10% by attention go through the
// differentiable forward/backward (RepertoireNet::forward_top). Evaluation uses every sequence of a repertoire,
// read from disk and pooled in chunks (score_repertoire: layers/models/repertoire_eval.h), so memory holds one
// chunk, whatever the repertoire's size. Batches hold as many positive as negative repertoires
// (repertoire_order). --verbose prints per epoch how many motif sequences made it into the kept top fraction and
// the attention mass they get: the measure of whether the model found the signal or memorised the training
// repertoires (both show as a falling training loss). The first --warmup-epochs (3) train on the whole
// subsample, so the attention can find the motif sequences before the reduction to the top 10% can drop them.
//
// Initialisation of the convolution (--no-kmer-init turns it off): before training, each fold screens its
// training repertoires for gapped k-mers (3-6 letters over a span of 3-6 with up to 2 gaps, e.g. GSA, K_YV,
// R_D_WK) held by more positive than negative repertoires, keeps those significant after Tarone's correction
// (one-sided Fisher test; datasets/kmer_enrichment.h), one per motif, and starts filters as detectors of them;
// the other filters start at zero, and the convolution stays fixed (--train-conv fine-tunes it). The screen
// used to know only gapped 3-mers, and a motif of 4+ letters with 2 gaps was not a shape it had (issue 21).
// Why the initialisation: from a random initialisation the network memorised the 96 training repertoires of
// repertoire-implanted (train AUC 1, test ~0.5, attention never on the motif sequences), and PyTorch with the
// same model does the same (bench/repertoire_torch.py). With 0.5% motif sequences a motif letter's
// enrichment is below the repertoire-to-repertoire sampling noise, so the gradient has no first-order signal
// towards a 3-letter conjunction; both learn at 5% motif sequences, both fail at 2%.
// The attention then starts on the detectors (--no-attention-init: random; RepertoireNet::
// init_attention_on_detectors): with uniform attention over ~2000 sequences the loss sat at ln 2, a saddle on
// which whole folds stayed for all epochs. A fold whose training loss never moves is reported as STALLED
// (stdout and JSON stalled_folds), never retried. For every positive test repertoire the share of its 10 most
// attended sequences that carry a motif is printed (JSON top10_motif_fraction); with w motif sequences in a
// repertoire it cannot exceed w / 10.
//
// Without --data the program writes generated repertoires with implanted motifs (datasets/synthetic.h)
// to a temporary folder and reads them back through the same loader; --cohort SEED generates a cohort with
// random motifs instead (random_motif_cohort) and marks its motifs. --checkpoint-dir DIR keeps every finished
// fold; --resume continues a killed run without training those again.
//
// Legend: S sequences of a repertoire (after subsampling), F filters.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hopfield/datasets/cv_split.h"
#include "hopfield/datasets/kmer_enrichment.h"
#include "hopfield/datasets/repertoire.h"
#include "hopfield/datasets/synthetic.h"
#include "hopfield/engine/blas.h"
#include "hopfield/engine/check.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/random.h"
#include "hopfield/layers/models/repertoire_net.h"
#include "hopfield/optim/adam.h"
#include "hopfield/optim/jobs.h"
#include "hopfield/optim/distributed.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/repertoire_batches.h"
#include "hopfield/optim/run_checkpoint.h"
#include "hopfield/optim/trainer.h"
#include "hopfield/report/csv_log.h"
#include "hopfield/report/process.h"
#include "hopfield/report/plot.h"
#include "hopfield/report/progress.h"
#include "hopfield/report/text_table.h"
#include "cli_checks.h"

namespace {

using namespace hf;
namespace fs = std::filesystem;

// The training settings; the model's are RepertoireNetOptions.
struct RepConfig {
  RepertoireNetOptions net;
  std::size_t subsample = 1000;   // sequences per repertoire and epoch in training
  double keep = 0.1;              // fraction of the subsample kept for the gradient step (by attention)
  std::size_t batch_size = 4;     // repertoires per optimizer step
  std::size_t epochs = 20;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  double clip = 1.0;
  std::size_t eval_chunk = 4096;  // sequences per chunk when reading a repertoire for evaluation
  std::size_t warmup_epochs = 3;  // epochs that train on the whole subsample before the top-fraction reduction
  bool balanced = true;           // batches with as many positive as negative repertoires
  bool kmer_init = true;          // conv filters start as detectors of significantly enriched gapped k-mers
  bool train_conv = false;        // with kmer_init: fine-tune the convolution too (else only attention and readout)
  bool attention_init = true;     // with kmer_init: the attention starts on the detectors
  bool verbose = false;           // per-epoch diagnostics on stderr
  std::size_t eval_every = 0;     // with verbose: test AUC every this many epochs (diagnostic only)

  std::string summary() const {
    std::ostringstream s;
    s << "conv " << net.num_filters() << "x" << net.kernel_size()
      << (kmer_init ? (train_conv ? " (k-mer init, trained)" : " (k-mer init, fixed)") : "")
      << (kmer_init && attention_init ? ", attention on the detectors" : "") << " SELU max, HopfieldPooling ";
    if (net.key_network()) s << "keys SELU(Linear(h)), ";
    if (net.static_attention()) s << "static attention";
    else s << "projected attention heads=" << net.num_heads() << " hidden=" << net.hidden_size();
    s << " scaling="
      << (net.scaling() > 0 ? std::to_string(net.scaling()) : std::string(net.static_attention() ? "1" : "1/sqrt(hidden)"))
      << "; subsample=" << subsample << " keep=" << keep << " batch=" << batch_size << " epochs=" << epochs
      << " warmup=" << warmup_epochs << " lr=" << lr << " wd=" << weight_decay;
    return s.str();
  }
  // Everything that changes a fold's result (for the checkpoint directory's run.json).
  nlohmann::json json() const {
    return {{"filters", net.num_filters()}, {"kernel_size", net.kernel_size()}, {"heads", net.num_heads()},
            {"hidden", net.hidden_size()}, {"scaling", net.scaling()}, {"static_attention", net.static_attention()},
            {"key_network", net.key_network()}, {"layer_norm_keys", net.normalize_keys()},
            {"layer_norm_values", net.normalize_values()}, {"conv_init_std", net.conv_init_std()},
            {"conv_bias_init", net.conv_bias_init()}, {"subsample", subsample}, {"keep", keep},
            {"batch_size", batch_size}, {"epochs", epochs}, {"lr", lr}, {"weight_decay", weight_decay}, {"clip", clip},
            {"eval_chunk", eval_chunk}, {"warmup_epochs", warmup_epochs}, {"balanced", balanced},
            {"kmer_init", kmer_init}, {"train_conv", train_conv}, {"attention_init", attention_init}};
  }
};

struct EpochRow {
  std::size_t epoch;
  double train_loss, train_auc, seconds;
};

struct TopSequence {
  std::string sequence;
  double attention;
  bool motif;
};

struct FoldOutcome {
  std::size_t fold = 0;
  double auc = 0, accuracy = 0, seconds = 0;
  double eval_seconds = 0;               // scoring the test repertoires (all their sequences)
  double eval_peak_rss_mb = -1;          // the process's peak while scoring (measured with one fold at a time only)
  double before_eval_peak_rss_mb = -1;   // the process's peak before the scoring started
  double eval_start_rss_mb = -1;         // resident when the scoring started (freed heap of training included)
  std::vector<EpochRow> history;
  bool stalled = false;  // the training loss never moved from where it started (see stalled())
  double top10_motif_fraction = std::nan("");  // mean over positive test repertoires (NaN without motifs)
  std::size_t positives_scored = 0;
  std::string kmers;     // the enriched k-mers that initialised the filters (empty without --kmer-init)
  std::string shown_id;  // the positive test repertoire whose top sequences are shown
  std::size_t shown_size = 0, shown_witnesses = 0;
  std::vector<TopSequence> top;
};

// A finished fold for the checkpoint directory: doubles round-trip exactly, NaN is written as null.

nlohmann::json to_json(const FoldOutcome& o) {
  nlohmann::json h = nlohmann::json::array(), top = nlohmann::json::array();
  for (const EpochRow& e : o.history) h.push_back({e.epoch, json_number(e.train_loss), json_number(e.train_auc), e.seconds});
  for (const TopSequence& t : o.top) top.push_back({t.sequence, t.attention, t.motif});
  return {{"fold", o.fold}, {"auc", json_number(o.auc)}, {"accuracy", o.accuracy}, {"seconds", o.seconds},
          {"history", h}, {"stalled", o.stalled}, {"top10_motif_fraction", json_number(o.top10_motif_fraction)},
          {"positives_scored", o.positives_scored}, {"kmers", o.kmers}, {"shown_id", o.shown_id},
          {"shown_size", o.shown_size}, {"shown_witnesses", o.shown_witnesses}, {"top", top},
          {"eval_seconds", o.eval_seconds}, {"eval_peak_rss_mb", o.eval_peak_rss_mb},
          {"before_eval_peak_rss_mb", o.before_eval_peak_rss_mb}, {"eval_start_rss_mb", o.eval_start_rss_mb}};
}

FoldOutcome fold_from_json(const nlohmann::json& j) {
  FoldOutcome o;
  o.fold = j.at("fold");
  o.auc = number_from_json(j.at("auc"));
  o.accuracy = j.at("accuracy");
  o.seconds = j.at("seconds");
  for (const auto& e : j.at("history"))
    o.history.push_back({e.at(0), number_from_json(e.at(1)), number_from_json(e.at(2)), e.at(3)});
  o.stalled = j.at("stalled");
  o.top10_motif_fraction = number_from_json(j.at("top10_motif_fraction"));
  o.positives_scored = j.at("positives_scored");
  o.kmers = j.at("kmers");
  o.shown_id = j.at("shown_id");
  o.shown_size = j.at("shown_size");
  o.shown_witnesses = j.at("shown_witnesses");
  for (const auto& t : j.at("top")) o.top.push_back({t.at(0), t.at(1), t.at(2)});
  o.eval_seconds = j.at("eval_seconds");
  o.eval_peak_rss_mb = j.at("eval_peak_rss_mb");
  o.before_eval_peak_rss_mb = j.at("before_eval_peak_rss_mb");
  o.eval_start_rss_mb = j.at("eval_start_rss_mb");
  HF_CHECK(!o.history.empty(), "--resume", "a fold result without epochs");
  return o;
}

// Set by main when the folds run one at a time: then the evaluation's own peak RSS can be measured.
bool g_one_fold_at_a_time = false;

bool has_motif(const std::string& seq, const std::vector<std::string>& motifs) {
  for (const auto& m : motifs)
    if (contains_motif(seq, m)) return true;
  return false;
}

// A fold whose training loss never moved away from its first epoch's value (spread over all epochs below
// 1e-3 nats): the model stayed where it started, e.g. at ln 2 with an output that ignores its input. Reported
// per fold (and in the JSON), never retried: the cause is in the initialisation and has to be fixed there.
bool stalled(const std::vector<EpochRow>& history) {
  if (history.size() < 2) return false;
  double lo = history.front().train_loss, hi = lo;
  for (const EpochRow& e : history) lo = std::min(lo, e.train_loss), hi = std::max(hi, e.train_loss);
  return hi - lo < 1e-3;
}

double test_auc(RepertoireNet& net, const RepertoireDataset& ds, const RepertoireOptions& ro, const RepConfig& c,
                const std::vector<std::int64_t>& y, const std::vector<std::size_t>& rows) {
  std::vector<double> p;
  Labels yt;
  for (std::size_t i : rows) {
    p.push_back(score_repertoire(net, ds.path(i), c.eval_chunk, ro, false).probability);
    yt.push_back(y[i]);
  }
  return roc_auc(p, yt);
}

FoldOutcome run_fold(const RepertoireDataset& ds, const RepertoireOptions& ro, const std::vector<std::int64_t>& y,
                     const Fold& fold, std::size_t fold_no, const RepConfig& c, const std::vector<std::string>& motifs,
                     std::uint64_t seed, const std::function<void(const std::string&)>& tick) {
  const Stopwatch watch;
  FoldOutcome out;
  out.fold = fold_no;
  Generator gen(seed);
  RepertoireNet net(c.net, gen);
  bool fixed_conv = false;
  if (c.kmer_init) {
    const std::vector<Kmer> kmers = enriched_kmers(ds, fold.train, y, c.net.num_filters() / 3);
    std::ostringstream v;
    v << "fold " << fold_no << ": " << kmers.size() << " enriched k-mer(s) as initial filters:";
    for (const Kmer& m : kmers) v << " " << m.text() << " (" << m.positives << "+/" << m.negatives << "-)";
    if (kmers.empty()) {
      v << " none significant, random initialisation, convolution trained";  // zero filters would see nothing
    } else {
      net.init_kmer_filters(kmers);
      if (c.attention_init) net.init_attention_on_detectors(std::min(3 * kmers.size(), c.net.num_filters()));
      fixed_conv = !c.train_conv;
    }
    out.kmers = v.str();
    if (c.verbose) std::cerr << out.kmers << "\n";
  }
  if (fixed_conv) {
    net.conv->weight.requires_grad_(false);
    net.conv->bias.requires_grad_(false);
  }
  std::vector<Tensor> params;
  for (const Tensor& t : net.parameters())
    if (t.requires_grad()) params.push_back(t);
  Adam opt(params, AdamOptions(c.lr).weight_decay(c.weight_decay));
  // DeepRC's batches: one micro-batch per repertoire, --batch-size of them per optimizer step.
  RepertoireBatches batches(net, ds, fold.train, y,
                            RepertoireBatchesOptions()
                                .subsample(c.subsample)
                                .keep(c.keep)
                                .warmup_epochs(c.warmup_epochs)
                                .batch_size(c.batch_size)
                                .balanced(c.balanced)
                                .seed(seed));
  // Diagnostics over positive training repertoires: witnesses in the subsample, among the kept ones, the
  // attention mass they receive, the repertoires (summed over the ranks: each observes its own repertoires).
  std::vector<double> wit(4);
  batches.observer([&](std::size_t i, const Repertoire& sub, const RepertoireForward& f) {
    if (motifs.empty() || y[i] != 1) return;
    wit[3] += 1;
    for (std::size_t s = 0; s < f.attention.size(); ++s)
      if (has_motif(sub.sequences[s], motifs)) wit[0] += 1, wit[2] += f.attention[s];
    for (std::size_t s : f.kept) wit[1] += has_motif(sub.sequences[s], motifs) ? 1 : 0;
  });
  const auto validate = [&](std::int64_t epoch) {
    distributed::all_reduce(wit);
    const double train_auc = batches.train_auc(), secs = watch.seconds();
    out.history.push_back({static_cast<std::size_t>(epoch), batches.train_loss(), train_auc, secs});
    std::ostringstream info;
    info << "fold " << out.fold << " epoch " << epoch << " loss " << out.history.back().train_loss;
    if (c.verbose) {
      std::ostringstream v;
      v << info.str() << " train_auc " << train_auc;
      if (wit[3] > 0)
        v << " witnesses kept " << (wit[0] > 0 ? wit[1] / wit[0] : 0.0) << " attention mass " << wit[2] / wit[3];
      if (c.eval_every > 0 && epoch % static_cast<std::int64_t>(c.eval_every) == 0)
        v << " test_auc " << test_auc(net, ds, ro, c, y, fold.test) << " train_auc_all "
          << test_auc(net, ds, ro, c, y, fold.train);
      v << " (" << secs << " s)\n";
      std::cerr << v.str();
    }
    tick(info.str());
    std::fill(wit.begin(), wit.end(), 0.0);
    return EpochMetrics{train_auc, {}};
  };
  Trainer(net, opt,
          TrainerOptions()
              .epochs(static_cast<std::int64_t>(c.epochs))
              .accumulate(static_cast<std::int64_t>(c.batch_size))
              .scale_accumulated(false)
              .clip_grad_norm(c.clip))
      .grad_hook(batches.grad_hook())  // the step's float64 gradient sum (under mpirun: over the ranks' shares)
      .fit_batches([&](std::int64_t e) { return batches.begin_epoch(e); },
                   [&](std::size_t k, const StepInfo&) { return batches.loss(k); }, validate);

  out.stalled = stalled(out.history);
  std::vector<double> p;
  Labels yt;
  bool shown = false;
  double top10_sum = 0;
  // The evaluation's own peak, apart from training's: the peak is the process's, so only when one fold runs
  // at a time (another fold's reset would cut this one's reading).
  out.before_eval_peak_rss_mb = peak_rss_mb();
  const bool measure_peak = g_one_fold_at_a_time && reset_peak_rss();
  out.eval_start_rss_mb = current_rss_mb();
  const auto eval_start = std::chrono::steady_clock::now();
  for (std::size_t i : fold.test) {
    const bool show = !shown && y[i] == 1;
    // Every positive test repertoire's attention, for the share of motif sequences among its 10 most attended.
    RepertoireScore s = score_repertoire(net, ds.path(i), c.eval_chunk, ro, show || (y[i] == 1 && !motifs.empty()));
    if (y[i] == 1 && !motifs.empty()) {
      std::size_t hits = 0;
      const std::vector<std::size_t> top = top_k_indices(s.attention, 10);
      for (std::size_t j : top) hits += has_motif(s.sequences[j], motifs) ? 1 : 0;
      top10_sum += static_cast<double>(hits) / static_cast<double>(top.size());
      out.positives_scored += 1;
    }
    p.push_back(s.probability);
    yt.push_back(y[i]);
    if (c.verbose && !motifs.empty()) {
      std::size_t w = 0;
      for (const auto& q : ds.read(i).sequences) w += has_motif(q, motifs) ? 1 : 0;
      std::ostringstream v;
      v << "fold " << out.fold << " test " << ds.id(i) << " label " << y[i] << " motif sequences " << w
        << " probability " << s.probability << "\n";
      std::cerr << v.str();
    }
    if (show) {
      shown = true;
      out.shown_id = ds.id(i);
      out.shown_size = s.sequences.size();
      for (std::size_t j = 0; j < s.sequences.size(); ++j)
        if (has_motif(s.sequences[j], motifs)) {
          out.shown_witnesses += 1;
          if (c.verbose) {
            std::ostringstream v;
            v << "fold " << out.fold << " " << ds.id(i) << " motif sequence " << s.sequences[j] << " attention "
              << s.attention[j] << "\n";
            std::cerr << v.str();
          }
        }
      for (std::size_t j : top_k_indices(s.attention, 10))
        out.top.push_back({s.sequences[j], s.attention[j], has_motif(s.sequences[j], motifs)});
    }
  }
  out.eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
  if (measure_peak) out.eval_peak_rss_mb = peak_rss_mb();
  if (out.positives_scored > 0) out.top10_motif_fraction = top10_sum / static_cast<double>(out.positives_scored);
  out.auc = roc_auc(p, yt);
  out.accuracy = accuracy_at(p, yt);
  out.seconds = watch.seconds();
  return out;
}

// Deletes the generated data set folder when the program ends (also on errors).
struct TempDir {
  std::string path;
  ~TempDir() {
    if (path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Which target value is the positive class: --positive-value, else a conventional name, else the second level.
std::size_t positive_class(const std::vector<std::string>& classes, const std::string& given) {
  HF_CHECK(classes.size() == 2, "hopfield-repertoire",
           "the target column must have exactly 2 values for binary classification, found " << classes.size());
  if (!given.empty()) {
    for (std::size_t k = 0; k < 2; ++k)
      if (classes[k] == given) return k;
    HF_FAIL("hopfield-repertoire", "--positive-value '" << given << "' is not a target value (values: '" << classes[0]
                                                         << "', '" << classes[1] << "')");
  }
  for (const char* name : {"1", "+", "True", "true", "TRUE", "positive", "yes"})
    for (std::size_t k = 0; k < 2; ++k)
      if (classes[k] == name) return k;
  return 1;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Under mpirun / srun: data-parallel over the repertoires of each step (RepertoireBatches); rank 0 reports.
  distributed::ProcessGroup group(&argc, &argv);
  CLI::App app{"hopfield-repertoire: immune repertoire classification with Hopfield attention pooling (DeepRC style), "
               "k-fold cross-validated ROC AUC"};
  std::string data_dir, metadata, id_column = "ID", target_column, positive_value, out_dir, checkpoint_dir,
      motif_list = "GSA,K?YV";
  std::size_t folds = 5, threads = 2, synthetic_repertoires = 100, only_fold = 0;
  std::uint64_t seed = 1;
  double witness_rate = 0.01;
  bool json = false, resume = false;
  RepConfig c;
  app.add_option("--data", data_dir, "repertoire folder in DeepRC's layout (metadata.tsv + one .tsv per repertoire); "
                                     "default: generated repertoires with implanted motifs");
  app.add_option("--metadata", metadata, "metadata file, relative to --data or absolute (default metadata.tsv)");
  app.add_option("--id-column", id_column, "metadata column naming the repertoire file")->capture_default_str();
  app.add_option("--target-column", target_column, "metadata column with the label (default: first after the ID)");
  app.add_option("--positive-value", positive_value, "target value of the positive class (default: 1, +, True, "
                                                     "else the second value in sorted order)");
  app.add_option("--synthetic-repertoires", synthetic_repertoires, "repertoires generated without --data")
      ->check(CLI::Range(10, 100000))->capture_default_str();
  std::int64_t cohort = -1;
  app.add_option("--cohort", cohort,
                 "without --data: generate a cohort with random motifs from this seed (datasets/synthetic.h "
                 "random_motif_cohort: 160 repertoires of 1600-2400 sequences, 1-3 motifs of length 3-6 with 0-2 gaps, "
                 "witness rate 0.1%-1%); its motifs are then the ones marked")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 62));
  app.add_option("--synthetic-witness-rate", witness_rate, "fraction of motif sequences in generated positive repertoires")
      ->check(hf::cli::between(0.0, 1.0))->capture_default_str();
  app.add_option("--folds", folds, "cross-validation folds")->check(CLI::Range(2, 100))->capture_default_str();
  app.add_option("--only-fold", only_fold, "run just this fold (1-based; 0 = all)")->capture_default_str();
  app.add_option("--seed", seed, "seed of folds, initialisation and subsampling")->capture_default_str();
  app.add_option("--epochs", c.epochs, "training epochs per fold")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--lr", c.lr, "learning rate (Adam)")->check(hf::cli::kPositive)->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "Adam L2 weight decay")->check(hf::cli::between(0.0, 1.0))->capture_default_str();
  app.add_option("--batch-size", c.batch_size, "repertoires per optimizer step")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--subsample", c.subsample, "sequences drawn per repertoire and epoch in training")
      ->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--keep", c.keep, "fraction of the subsample (highest attention) used for the gradient step")
      ->check(hf::cli::between(0.001, 1.0))->capture_default_str();
  app.add_option("--warmup-epochs", c.warmup_epochs, "epochs trained on the whole subsample before keeping only the "
                                                     "top fraction")->capture_default_str();
  app.add_flag("--verbose", c.verbose, "per-epoch diagnostics on stderr (train AUC; witnesses among the kept "
                                       "sequences and their attention mass when --motifs is set)");
  app.add_option("--eval-every", c.eval_every, "with --verbose: also score the test fold every N epochs (diagnostic "
                                               "only, never used for model selection)")->capture_default_str();
  app.add_option("--conv-init-std", c.net.conv_init_std(), "conv weights N(0, std^2) (0 = torch's default)")->check(hf::cli::between(0.0, 100.0))->capture_default_str();
  app.add_option("--conv-bias-init", c.net.conv_bias_init(), "initial conv bias (0 = torch's default)")->check(hf::cli::between(-100.0, 100.0))->capture_default_str();
  bool no_kmer_init = false, no_key_network = false;
  app.add_flag("--no-kmer-init", no_kmer_init, "random conv initialisation instead of detectors of the gapped 3-mers "
                                               "significantly enriched in the positive training repertoires");
  app.add_flag("--no-key-network", no_key_network, "the embeddings themselves as attention keys instead of "
                                                   "SELU(Linear(embedding)) (DeepRC's attention network)");
  bool no_attention_init = false;
  app.add_flag("--no-attention-init", no_attention_init,
               "with the k-mer initialisation: random attention (key network, pooling pattern) instead of an attention "
               "that starts on the k-mer detectors (RepertoireNet::init_attention_on_detectors)");
  app.add_flag("--train-conv", c.train_conv, "with the 3-mer initialisation: fine-tune the convolution as well (default: "
                                            "it stays fixed, only the attention and the readout train)");
  bool unbalanced = false;
  app.add_flag("--unbalanced-batches", unbalanced, "plain shuffled batches instead of class-balanced ones");
  app.add_flag("--layer-norm-keys", c.net.normalize_keys(), "LayerNorm on the stored patterns (the attention keys)");
  app.add_flag("--layer-norm-values", c.net.normalize_values(), "LayerNorm on the pattern projections (the embeddings as values)");
  app.add_option("--kernels", c.net.num_filters(), "convolution filters")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--kernel-size", c.net.kernel_size(), "convolution kernel size")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--heads", c.net.num_heads(), "Hopfield heads")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--hidden", c.net.hidden_size(), "Hopfield association size per head")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--scaling", c.net.scaling(), "Hopfield beta (0 = 1/sqrt(hidden))")->check(hf::cli::between(0.0, 1e6))->capture_default_str();
  bool projected = false;
  app.add_flag("--projected-attention", projected, "project stored and state patterns (hflayers' default) instead of "
                                                    "comparing the pooling pattern with the embeddings directly");
  app.add_option("--clip", c.clip, "gradient-norm clipping (0 = off)")->check(hf::cli::between(0.0, 1e9))->capture_default_str();
  app.add_option("--eval-chunk", c.eval_chunk, "sequences read at once when scoring a repertoire")
      ->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--motifs", motif_list, "comma-separated motifs ('?' = any letter) marked in the attended-sequence "
                                         "listing; empty = none")->capture_default_str();
  app.add_option("--threads", threads, "folds trained in parallel (under mpirun: 1, every rank works on each batch)")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--out", out_dir, "directory for metrics.csv (per epoch), results.csv and results.json");
  app.add_flag("--json", json, "print one JSON object with the results as the last line");
  app.add_option("--checkpoint-dir", checkpoint_dir,
                 "keep every finished fold in this directory (a killed run continues with --resume)");
  app.add_flag("--resume", resume, "continue the run in --checkpoint-dir: finished folds are loaded, not trained again")
      ->needs("--checkpoint-dir");
  if (const int rc = cli::parse(app, argc, argv, "hopfield-repertoire"); rc >= 0) return rc;

  c.net.static_attention(!projected).key_network(!no_key_network);
  c.kmer_init = !no_kmer_init;
  c.attention_init = !no_attention_init;
  c.balanced = !unbalanced;
  std::ostream null_stream(nullptr);  // what ranks other than 0 report to
  try {
    if (distributed::get_world_size() > 1) {
      // Every fold's steps are collectives, so the folds run one after another; rank 0 alone reports.
      threads = 1;
      if (distributed::get_rank() != 0) {
        out_dir.clear();
        json = false;
        c.verbose = false;
        if (!std::freopen("/dev/null", "w", stdout)) HF_FAIL("hopfield-repertoire", "cannot silence stdout");
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::string load_start = load_average();
    std::vector<std::string> motifs = split_commas(motif_list);
    TempDir generated;
    std::string root = data_dir, dataset_name;
    RepertoireOptions ro;
    ro.id_column(id_column);
    if (!metadata.empty()) ro.metadata(metadata);
    if (!target_column.empty()) ro.target_column(target_column);
    HF_CHECK(cohort < 0 || data_dir.empty(), "hopfield-repertoire", "--cohort generates its data: give it or --data, not both");
    if (data_dir.empty()) {
      generated.path = (fs::temp_directory_path() / ("hopfield-repertoire-" + std::to_string(::getpid()))).string();
      ImplantedRepertoireOptions io = ImplantedRepertoireOptions(synthetic_repertoires)
                                          .min_sequences(400)
                                          .max_sequences(600)
                                          .witness_rate(witness_rate)
                                          .seed(seed);
      dataset_name = "synthetic";
      if (cohort >= 0) {
        io = random_motif_cohort(static_cast<std::uint64_t>(cohort));
        dataset_name = "cohort" + std::to_string(cohort);
        if (app.count("--motifs") == 0) {
          motifs = io.motifs();
          motif_list.clear();
          for (const auto& m : motifs) motif_list += (motif_list.empty() ? "" : ",") + m;
        }
        std::printf("cohort %lld: %zu repertoires, motifs %s, witness rate %.4f\n", static_cast<long long>(cohort),
                    io.num_repertoires(), motif_list.c_str(), io.witness_rate());
      }
      write_implanted_dataset(generated.path, implanted_repertoires(io));
      root = generated.path;
      ro = RepertoireOptions().target_column("label");
    } else {
      dataset_name = fs::path(data_dir).lexically_normal().filename().string();
      if (dataset_name.empty()) dataset_name = fs::path(data_dir).lexically_normal().parent_path().filename().string();
    }
    const RepertoireDataset ds(root, ro);
    const std::size_t pos = positive_class(ds.classes(), positive_value);
    std::vector<std::int64_t> y;
    for (std::int64_t l : ds.labels()) y.push_back(static_cast<std::size_t>(l) == pos ? 1 : 0);
    const std::size_t npos = static_cast<std::size_t>(std::count(y.begin(), y.end(), 1));
    HF_CHECK(npos >= folds && y.size() - npos >= folds, "hopfield-repertoire",
             "each class needs at least " << folds << " repertoires for " << folds << "-fold cross-validation, found "
                                          << npos << " positive and " << y.size() - npos << " negative");
    std::printf("dataset %s: %zu repertoires (%zu positive = '%s' in column '%s')\n", dataset_name.c_str(), ds.size(), npos,
                ds.classes()[pos].c_str(), ds.target_column().c_str());
    std::printf("model: %s; %zu-fold CV\n", c.summary().c_str(), folds);
    std::fflush(stdout);
    blas::set_num_threads(1);  // folds run in parallel

    std::vector<Fold> splits = stratified_kfold(y, folds, seed);
    HF_CHECK(only_fold <= folds, "hopfield-repertoire", "--only-fold " << only_fold << " exceeds --folds " << folds);
    std::vector<std::size_t> fold_numbers = iota_indices(folds);
    if (only_fold > 0) {
      splits = {splits[only_fold - 1]};
      fold_numbers = {only_fold - 1};
    }
    std::unique_ptr<CsvLogger> epoch_log, fold_log;
    if (!out_dir.empty()) {
      fs::create_directories(out_dir);
      epoch_log = std::make_unique<CsvLogger>(out_dir + "/metrics.csv",
                                              std::vector<std::string>{"fold", "epoch", "train_loss", "train_auc", "seconds"});
      fold_log = std::make_unique<CsvLogger>(out_dir + "/results.csv",
                                             std::vector<std::string>{"fold", "auc", "accuracy", "seconds"});
    }
    // --checkpoint-dir: every finished fold is kept; --resume loads those and trains only the others.
    std::optional<RunCheckpoint> ckpt;
    if (!checkpoint_dir.empty() && distributed::get_rank() == 0) {  // rank 0 alone reads and writes units
      const nlohmann::json run = {
          {"program", "hopfield-repertoire"}, {"data", data_dir.empty() ? dataset_name : data_dir},
          {"metadata", metadata}, {"id_column", id_column}, {"target_column", target_column},
          {"positive_value", positive_value}, {"synthetic_repertoires", synthetic_repertoires},
          {"witness_rate", witness_rate}, {"cohort", cohort}, {"motifs", motifs}, {"folds", folds}, {"seed", seed},
          {"model", c.json()}};
      ckpt.emplace(checkpoint_dir, run, resume);
    }
    std::mutex io;
    Progress progress(static_cast<std::int64_t>(splits.size() * c.epochs), "epochs",
                      distributed::get_rank() == 0 ? std::cerr : null_stream);
    auto tick = [&](const std::string& info) {
      std::lock_guard<std::mutex> lock(io);
      progress.update(1, info);
    };
    std::vector<FoldOutcome> results(splits.size());
    g_one_fold_at_a_time = std::min(threads, splits.size()) == 1;
    run_jobs(
        splits.size(), threads,
        [&](std::size_t j) {
          const std::string unit = "fold_" + std::to_string(fold_numbers[j] + 1);
          results[j] = run_unit_on_all_ranks(
              ckpt ? &*ckpt : nullptr, unit,
              [&] { return run_fold(ds, ro, y, splits[j], fold_numbers[j] + 1, c, motifs, seed * 7919 + fold_numbers[j], tick); },
              to_json, fold_from_json);
        },
        [&](std::size_t j) {
          const FoldOutcome& o = results[j];
          if (epoch_log)
            for (const EpochRow& e : o.history)
              epoch_log->row({static_cast<double>(o.fold), static_cast<double>(e.epoch), e.train_loss, e.train_auc, e.seconds});
          if (fold_log) fold_log->row({static_cast<double>(o.fold), o.auc, o.accuracy, o.seconds});
          if (!o.kmers.empty() && !c.verbose) std::printf("%s\n", o.kmers.c_str());
          std::printf("fold %zu: AUC %.4f  accuracy %.4f  (final train loss %.4f, %.1f s)", o.fold, o.auc, o.accuracy,
                      o.history.back().train_loss, o.seconds);
          if (o.positives_scored > 0)
            std::printf("  motif share of the top 10 attended: %.2f over %zu positive test repertoires",
                        o.top10_motif_fraction, o.positives_scored);
          if (o.stalled)
            std::printf("\n  STALLED: fold %zu's training loss stayed at %.6f from its first epoch to its last", o.fold,
                        o.history.back().train_loss);
          std::printf("\n");
          std::fflush(stdout);
        });
    progress.finish();

    std::vector<double> aucs, accs, top10;
    double eval_seconds = 0, eval_peak = -1, eval_start_rss = -1, process_peak = peak_rss_mb();
    std::size_t evaluated = 0;
    std::vector<std::size_t> stalled_folds;
    for (const auto& o : results) {
      aucs.push_back(o.auc);
      accs.push_back(o.accuracy);
      if (o.positives_scored > 0) top10.push_back(o.top10_motif_fraction);
      if (o.stalled) stalled_folds.push_back(o.fold);
      eval_seconds += o.eval_seconds;
      if (o.eval_peak_rss_mb > eval_peak) eval_peak = o.eval_peak_rss_mb, eval_start_rss = o.eval_start_rss_mb;
      process_peak = std::max({process_peak, o.before_eval_peak_rss_mb, o.eval_peak_rss_mb});
    }
    for (const Fold& f : splits) evaluated += f.test.size();
    const auto [auc_m, auc_s] = mean_and_std(aucs);
    const auto [acc_m, acc_s] = mean_and_std(accs);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string load_end = load_average();

    // The most attended sequences of one positive test repertoire (the first fold's model).
    const FoldOutcome& shown = results.front();
    std::size_t top_with_motif = 0;
    if (!shown.shown_id.empty()) {
      std::printf("\nmost attended sequences of positive repertoire %s (fold %zu test set; %zu sequences, %zu with a motif%s):\n",
                  shown.shown_id.c_str(), shown.fold, shown.shown_size, shown.shown_witnesses,
                  motifs.empty() ? "" : (" of " + motif_list).c_str());
      for (std::size_t k = 0; k < shown.top.size(); ++k) {
        const TopSequence& t = shown.top[k];
        top_with_motif += t.motif ? 1 : 0;
        std::printf("  %2zu. %-24s attention %.4f%s\n", k + 1, t.sequence.c_str(), t.attention,
                    t.motif ? "  <- motif" : "");
      }
    }
    std::printf("\n%s: ROC AUC %.4f +/- %.4f, accuracy %.4f +/- %.4f over %zu fold(s), %.1f s (load average %s -> %s)\n",
                dataset_name.c_str(), auc_m, auc_s, acc_m, acc_s, results.size(), seconds, load_start.c_str(), load_end.c_str());
    const double top10_mean = top10.empty() ? std::nan("") : mean_and_std(top10).mean;
    std::printf("evaluation (every sequence, chunks of %zu): %.2f s per test repertoire", c.eval_chunk,
                eval_seconds / static_cast<double>(std::max<std::size_t>(1, evaluated)));
    if (eval_peak > 0) std::printf(", peak RSS while scoring %.0f MB (%.0f MB resident when it started)", eval_peak, eval_start_rss);
    std::printf(" (process peak %.0f MB)\n", process_peak);
    if (!top10.empty())
      std::printf("motif sequences among the 10 most attended of each positive test repertoire: %.3f (mean over folds)\n",
                  top10_mean);
    if (!stalled_folds.empty()) {
      std::printf("STALLED folds (training loss never moved from its start):");
      for (std::size_t f : stalled_folds) std::printf(" %zu", f);
      std::printf("\n");
    }

    nlohmann::json j;
    j["dataset"] = dataset_name;
    j["repertoires"] = ds.size();
    j["folds"] = folds;
    j["auc_mean"] = auc_m;
    j["auc_std"] = auc_s;
    j["accuracy_mean"] = acc_m;
    j["accuracy_std"] = acc_s;
    j["auc_per_fold"] = aucs;
    j["seconds"] = seconds;
    j["load_average_start"] = load_start;
    j["load_average_end"] = load_end;
    j["shown_repertoire"] = shown.shown_id;
    j["top10_with_motif"] = top_with_motif;
    j["motifs"] = motifs;
    if (!top10.empty()) j["top10_motif_fraction"] = top10_mean;  // mean over folds of the per-fold mean
    j["top10_motif_fraction_per_fold"] = top10;
    j["stalled_folds"] = stalled_folds;
    // Evaluation pools every sequence of a test repertoire in chunks of --eval-chunk (issue 20).
    j["eval_seconds_per_repertoire"] = eval_seconds / static_cast<double>(std::max<std::size_t>(1, evaluated));
    if (eval_peak > 0) {  // only with one fold at a time (--threads 1 or --only-fold)
      j["eval_peak_rss_mb"] = eval_peak;
      j["eval_start_rss_mb"] = eval_start_rss;
    }
    j["peak_rss_mb"] = process_peak;
    if (!out_dir.empty()) write_text_file(out_dir + "/results.json", j.dump(2) + "\n");
    if (json) std::printf("%s\n", j.dump().c_str());
  } catch (const std::exception& e) {
    // Under mpirun: one line naming the rank, and the whole job ends (no rank waits for this one).
    if (distributed::get_world_size() > 1) distributed::abort_job("hopfield-repertoire", cli::one_line(e.what()));
    return cli::fail("hopfield-repertoire", e);
  }
  return 0;
}
