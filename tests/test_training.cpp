// Metrics (against values worked out by hand in the comments), early stopping, the non-finite guard,
// anomaly mode, the progress display and the CSV log.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"
#include "hopfield/layers/module.h"
#include "hopfield/optim/metrics.h"
#include "hopfield/optim/training.h"
#include "hopfield/report/csv_log.h"
#include "hopfield/report/progress.h"
#include "hopfield/report/text_table.h"
#include "hopfield/datasets/rows.h"

using namespace hf;

namespace {
struct OneParam : Module {
  Tensor w;
  OneParam() { w = register_parameter("w", zeros({2}, Dtype::Float64)); }
};
struct AnomalyOff {
  ~AnomalyOff() { set_anomaly_detection(false); }
};
}  // namespace

TEST_CASE("metrics: thresholded accuracy, the accuracy of an ensemble's summed probabilities, multi-class log loss") {
  CHECK(accuracy_at({0.2, 0.5, 0.7, 0.4}, {0, 1, 0, 1}) == 0.5);         // 0.5 counts as class 1
  CHECK(accuracy_at({0.2, 0.5, 0.7, 0.4}, {0, 0, 1, 1}, 0.3) == 0.75);
  // Two rows, three classes: member a prefers class 0 then 2, member b class 1 then 2; summed: 1 and 2.
  const std::vector<double> a{0.5, 0.2, 0.3, 0.1, 0.2, 0.7}, b{0.1, 0.8, 0.1, 0.3, 0.3, 0.4};
  CHECK(ensemble_accuracy({&a}, {0, 2}, 3) == 1.0);
  CHECK(ensemble_accuracy({&b}, {0, 2}, 3) == 0.5);
  CHECK(ensemble_accuracy({&a, &b}, {1, 2}, 3) == 1.0);
  CHECK(multiclass_log_loss(a, {0, 2}, 3) == doctest::Approx(-(std::log(0.5) + std::log(0.7)) / 2));
  CHECK(multiclass_log_loss({0.0, 1.0}, {0}, 2) == doctest::Approx(-std::log(1e-12)));  // clamped at eps
  CHECK_THROWS_WITH_AS(multiclass_log_loss(a, {0, 3}, 3), doctest::Contains("label 3"), Error);
  CHECK_THROWS_WITH_AS(ensemble_accuracy({&a}, {0, 1, 2}, 3), doctest::Contains("3 rows"), Error);
}

TEST_CASE("rows: gather_rows, gather and take select by index, out-of-range rows are refused") {
  const std::vector<double> x{1, 2, 3, 4, 5, 6};  // (3, 2)
  const Tensor t = gather_rows(x, 2, {2, 0}, Dtype::Float64);
  CHECK(t.shape() == Shape{2, 2});
  CHECK(t.to_vector() == std::vector<double>{5, 6, 1, 2});
  CHECK(gather_rows(x, 2, {1}).dtype() == Dtype::Float32);
  CHECK_THROWS_WITH_AS(gather_rows(x, 2, {3}), doctest::Contains("row 3"), Error);
  CHECK(gather({7, 8, 9}, {2, 2, 0}) == std::vector<std::int64_t>{9, 9, 7});
  CHECK(gather_label_tensor({7, 8, 9}, {1}).to_vector() == std::vector<double>{8});
  CHECK(take({10, 20, 30}, {1, 0}) == std::vector<std::size_t>{20, 10});
}

TEST_CASE("report: TextTable prints aligned rows and keeps every row as CSV") {
  const std::string path = (std::filesystem::temp_directory_path() / ("hf_table_" + std::to_string(::getpid()) + ".csv")).string();
  {
    TextTable t(path, {"d", "name"}, 8);
    t.row({64, 1}, {"%.0f", "binary"});
    t.close();
  }
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  CHECK(text.str() == "d,name\n64,1\n");
  CHECK_THROWS_WITH_AS(TextTable(path, {"a"}, 0), doctest::Contains("width"), Error);
  std::filesystem::remove(path);
  Stopwatch w;
  CHECK(w.seconds() >= 0);
}

TEST_CASE("metrics: roc_auc by ranks, ties as average ranks") {
  // scores 0.1(neg) 0.35(pos) 0.4(neg) 0.8(pos): ranks 1..4, positive rank sum 2 + 4 = 6,
  // U = 6 - P(P+1)/2 = 6 - 3 = 3, AUC = U / (P N) = 3 / 4.
  CHECK(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}) == 0.75);
  // 0.2(neg) rank 1; the tied 0.5 pair (one pos, one neg) share rank (2 + 3) / 2 = 2.5; 0.9(pos) rank 4.
  // U = 2.5 + 4 - 3 = 3.5 -> 3.5 / 4 = 0.875 (pairwise: the tied pair counts 1/2, the other three pairs 1).
  CHECK(roc_auc({0.5, 0.5, 0.2, 0.9}, {1, 0, 0, 1}) == 0.875);
  // All scores tied: every pair counts 1/2.
  CHECK(roc_auc({1, 1, 1}, {1, 0, 1}) == 0.5);
  // Perfectly inverted ranking.
  CHECK(roc_auc({3, 2, 1}, {0, 1, 1}) == 0.0);
  CHECK_THROWS_WITH_AS(roc_auc({0.1, 0.2}, {1, 1}), doctest::Contains("needs both classes"), Error);
  CHECK_THROWS_WITH_AS(roc_auc({0.1}, {1, 0}), "roc_auc: predictions have 1 samples, labels 2", Error);
}

TEST_CASE("metrics: mean_and_std gives the mean and the sample standard deviation") {
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, sample variance 32 / 7.
  const MeanStd r = mean_and_std({2, 4, 4, 4, 5, 5, 7, 9});
  CHECK(r.mean == doctest::Approx(5.0));
  CHECK(r.std == doctest::Approx(std::sqrt(32.0 / 7.0)));
  CHECK(mean_and_std({0.25}).std == 0.0);
  CHECK_THROWS_WITH_AS(mean_and_std({}), doctest::Contains("mean_and_std"), Error);
}

TEST_CASE("metrics: within_one_standard_error keeps the models level with the best on validation") {
  // best p = 0.9 on n = 100: se = sqrt(0.9 * 0.1 / 100) = 0.03, so the cut is 0.87.
  CHECK(within_one_standard_error({0.9, 0.88, 0.85, 0.9, 0.87}, 100) == std::vector<bool>{true, true, false, true, true});
  // the same accuracies on n = 10000: se = 0.003, cut 0.897: only the two best.
  CHECK(within_one_standard_error({0.9, 0.88, 0.85, 0.9, 0.87}, 10000) ==
        std::vector<bool>{true, false, false, true, false});
  // n = 4 (a tiny validation split): se = 0.15, cut 0.75: all kept.
  CHECK(within_one_standard_error({0.9, 0.88, 0.85, 0.9, 0.87}, 4) == std::vector<bool>(5, true));
  // a perfect best has no spread: only the perfect ones.
  CHECK(within_one_standard_error({1.0, 0.99, 1.0}, 100) == std::vector<bool>{true, false, true});
  CHECK_THROWS_WITH_AS(within_one_standard_error({}, 10), doctest::Contains("no accuracies"), Error);
  CHECK_THROWS_WITH_AS(within_one_standard_error({0.5}, 0), doctest::Contains("n = 0"), Error);
  CHECK_THROWS_WITH_AS(within_one_standard_error({0.5, 1.5}, 10), doctest::Contains("accuracy 1.5 of model 1"), Error);
  CHECK_THROWS_WITH_AS(within_one_standard_error({std::nan("")}, 10), doctest::Contains("outside [0, 1]"), Error);
}

TEST_CASE("metrics: accuracy, balanced accuracy, F1, log loss, confusion matrix") {
  const Labels pred = {0, 1, 1, 0, 2}, truth = {0, 1, 0, 0, 2};
  // 4 of 5 equal.
  CHECK(accuracy(pred, truth) == 0.8);
  // recall per true class: class 0 (samples 0, 2, 3 -> predicted 0, 1, 0): 2/3; class 1: 1/1; class 2: 1/1;
  // mean (2/3 + 1 + 1) / 3 = 8/9.
  CHECK(balanced_accuracy(pred, truth) == doctest::Approx(8.0 / 9.0).epsilon(1e-15));
  // pred 1 1 0 1 0 0 vs truth 1 0 0 1 1 0: TP = 2 (samples 0, 3), FP = 1 (1), FN = 1 (4): 2*2 / (4 + 1 + 1) = 2/3.
  CHECK(f1_score({1, 1, 0, 1, 0, 0}, {1, 0, 0, 1, 1, 0}) == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(f1_score({0, 0}, {0, 0}) == 0.0);
  // -(ln 0.8 + ln(1 - 0.3)) / 2 = (0.2231435513142098 + 0.3566749439387324) / 2 = 0.2899092476264711
  CHECK(log_loss({0.8, 0.3}, {1, 0}) == doctest::Approx(0.2899092476264711).epsilon(1e-14));
  // p = 0 for a positive is clipped to 1e-15: -ln(1e-15) = 34.538776394910684
  CHECK(log_loss({0.0}, {1}) == doctest::Approx(34.538776394910684).epsilon(1e-12));
  // rows = true class, columns = prediction: true 0 -> predicted 0, 1, 0; true 1 -> 1; true 2 -> 2.
  auto cm = confusion_matrix(pred, truth, 3);
  CHECK(cm == std::vector<std::vector<std::int64_t>>{{2, 1, 0}, {0, 1, 0}, {0, 0, 1}});
  CHECK_THROWS_WITH_AS(confusion_matrix({3}, {0}, 3), doctest::Contains("outside [0, 3)"), Error);
  CHECK(to_labels(from_vector(std::vector<double>{0.0, 1.0, 2.0}, {3})) == Labels{0, 1, 2});
}

TEST_CASE("training: early stopping keeps a copy of the best parameters") {
  OneParam m;
  EarlyStopping stop(EarlyStoppingOptions().patience(2).mode("max"));
  const std::vector<double> auc = {0.5, 0.7, 0.6, 0.65, 0.9};
  bool stopped = false;
  std::size_t epoch = 0;
  for (; epoch < auc.size() && !stopped; ++epoch) {
    m.w.fill_(static_cast<double>(epoch));  // stands in for training: the parameters change every epoch
    stopped = stop.step(auc[epoch], m);
  }
  // best 0.7 at epoch 1; 0.6 and 0.65 are two bad epochs = patience -> stop after epoch 3.
  CHECK(stopped);
  CHECK(epoch == 4);
  CHECK(stop.best() == 0.7);
  CHECK(stop.best_epoch() == 1);
  CHECK(m.w.to_vector() == std::vector<double>{3, 3});
  stop.restore_best(m);
  CHECK(m.w.to_vector() == std::vector<double>{1, 1});
  EarlyStopping fresh;
  CHECK_THROWS_AS(fresh.restore_best(m), Error);
  CHECK_FALSE(fresh.step(NAN, m));  // NaN never improves
  CHECK(fresh.bad_epochs() == 1);
}

TEST_CASE("training: non-finite losses and gradients stop training naming the step") {
  CHECK_NOTHROW(check_finite(scalar_tensor(1.5, Dtype::Float64), 3));
  CHECK_THROWS_WITH_AS(check_finite(scalar_tensor(NAN, Dtype::Float64), 12), doctest::Contains("step 12: loss is nan"),
                       NonFiniteError);
  OneParam m;
  m.w.set_grad(from_vector(std::vector<double>{1.0, INFINITY}, {2}, Dtype::Float64));
  CHECK_THROWS_WITH_AS(check_finite_grads(m, 7), "check_finite_grads: step 7: gradient of 'w' has 1 NaN/Inf of 2 elements",
                       NonFiniteError);
  CHECK_THROWS_WITH_AS(check_finite_grads(std::vector<Tensor>{m.w}, 8), doctest::Contains("step 8: gradient of parameter 0"),
                       NonFiniteError);
}

TEST_CASE("training: anomaly mode names the first op whose output is non-finite") {
  AnomalyOff guard;
  Tensor x = from_vector(std::vector<double>{-1.0, 2.0}, {2}, Dtype::Float64).requires_grad_();
  CHECK_NOTHROW(log(x));  // off: NaN flows on silently
  set_anomaly_detection(true);
  CHECK_THROWS_WITH_AS(sum(log(x)), doctest::Contains("the output of log"), Error);
}

TEST_CASE("training: progress prints plain lines when not on a terminal, a bar when asked") {
  std::ostringstream lines;
  {
    Progress p(3, "epoch 1", lines, ProgressOptions().mode("lines").interval(0));
    CHECK_FALSE(p.is_bar());
    for (int i = 0; i < 3; ++i) p.update(1, "loss 0.5");
  }
  const std::string s = lines.str();
  INFO(s);
  CHECK(s.find('\r') == std::string::npos);
  CHECK(s.find("epoch 1 1/3 ") != std::string::npos);
  CHECK(s.find("epoch 1 3/3 ") != std::string::npos);
  CHECK(s.find("it/s") != std::string::npos);
  CHECK(s.find("loss 0.5") != std::string::npos);
  CHECK(std::count(s.begin(), s.end(), '\n') == 3);  // 1/3, 2/3 and the final line (no duplicate at 3/3)
  std::ostringstream bar;
  {
    Progress p(4, "train", bar, ProgressOptions().mode("bar").width(8));
    p.update(2);
  }
  CHECK(bar.str().find("\rtrain [####....] 2/4") != std::string::npos);
  // A stringstream is never a terminal: auto mode gives lines.
  std::ostringstream quiet;
  CHECK_FALSE(Progress(1, "x", quiet).is_bar());
  CHECK(Progress::format_duration(65) == "1:05");
  CHECK(Progress::format_duration(3725) == "1:02:05");
}

TEST_CASE("training: progress left by an exception prints no final line (an error message stays one line)") {
  std::ostringstream lines, bar, normal;
  auto fail_inside = [](std::ostringstream& out, const char* mode, bool draw) {
    try {
      Progress p(5, "members", out, ProgressOptions().mode(mode).interval(1e9));
      if (draw) p.update(1);
      throw std::runtime_error("bad file");
    } catch (const std::runtime_error&) {
    }
  };
  fail_inside(lines, "lines", false);
  CHECK(lines.str().empty());  // the destructor used to print "members 0/5 ... elapsed"
  fail_inside(bar, "bar", true);
  const std::string b = bar.str();
  INFO(b);
  CHECK(b.find("1/5") != std::string::npos);
  CHECK(b.find("elapsed") == std::string::npos);  // no final state
  CHECK(b.back() == '\n');                        // but the bar's line is ended
  {
    Progress p(2, "done", normal, ProgressOptions().mode("lines").interval(1e9));
    p.update(2);
  }
  CHECK(normal.str().find("done 2/2") != std::string::npos);  // a normal end still prints the final line
}

TEST_CASE("training: CSV metrics log, header once, rows flushed, append on resume") {
  namespace fs = std::filesystem;
  const fs::path path = fs::temp_directory_path() / ("hf_csv_" + std::to_string(::getpid()) + ".csv");
  {
    CsvLogger log(path.string(), {"epoch", "loss", "lr"});
    log.row({0, 0.5, 0.1});
    // Flushed: readable while the logger is alive.
    std::ifstream in(path);
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    CHECK(header == "epoch,loss,lr");
    CHECK(row == "0,0.5,0.10000000000000001");
    CHECK_THROWS_WITH_AS(log.row({1.0}), doctest::Contains("1 values for 3 columns"), Error);
  }
  {
    CsvLogger log(path.string(), {"epoch", "loss", "lr"}, true);
    log.row({{"epoch", 1}, {"loss", 0.25}, {"lr", 0.05}});
  }
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  CHECK(all.str() == "epoch,loss,lr\n0,0.5,0.10000000000000001\n1,0.25,0.050000000000000003\n");
  CHECK_THROWS_WITH_AS(CsvLogger(path.string(), {"epoch", "acc"}, true), doctest::Contains("cannot append"), Error);
  fs::remove(path);
}
