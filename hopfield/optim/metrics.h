// Classification metrics for validation loops (sklearn.metrics semantics).
//   roc_auc            area under the ROC curve of scores for binary labels; tied scores count as average
//                      ranks (Mann-Whitney U / (P N)), so a tie between a positive and a negative counts 1/2
//   accuracy           fraction of equal labels
//   balanced_accuracy  mean recall over the classes present in y_true
//   f1                 2 TP / (2 TP + FP + FN) for the positive class (0 when TP + FP + FN = 0)
//   log_loss           mean of -[y log p + (1 - y) log(1 - p)], p clipped to [eps, 1 - eps]
//   confusion_matrix   C[true][pred] counts, classes 0..num_classes-1
// N = number of samples. Every function throws hf::Error naming itself for empty or mismatched inputs.
#pragma once

#include <cstdint>
#include <vector>

#include "hopfield/engine/tensor.h"

namespace hf {

using Labels = std::vector<std::int64_t>;

double roc_auc(const std::vector<double>& scores, const Labels& y_true);  // y_true in {0, 1}
double accuracy(const Labels& y_pred, const Labels& y_true);
double balanced_accuracy(const Labels& y_pred, const Labels& y_true);
double f1_score(const Labels& y_pred, const Labels& y_true, std::int64_t positive = 1);
double log_loss(const std::vector<double>& p_positive, const Labels& y_true, double eps = 1e-15);
std::vector<std::vector<std::int64_t>> confusion_matrix(const Labels& y_pred, const Labels& y_true,
                                                        std::size_t num_classes);
// Accuracy of the binary decisions p >= threshold (probabilities of class 1).
double accuracy_at(const std::vector<double>& p_positive, const Labels& y_true, double threshold = 0.5);
// Class probabilities (rows, C) row-major: the accuracy of the argmax of the members' summed probabilities
// (an ensemble; one member = a single model, ties to the lower class), and the mean cross-entropy
// -log max(p[y], eps).
double ensemble_accuracy(const std::vector<const std::vector<double>*>& members, const Labels& y_true,
                         std::size_t num_classes);
double multiclass_log_loss(const std::vector<double>& probs, const Labels& y_true, std::size_t num_classes,
                           double eps = 1e-12);

// Model selection on validation accuracy: which of several models are within one standard error of the
// best, i.e. keep[i] = accuracies[i] >= p - sqrt(p (1 - p) / n) with p the best accuracy and n the number of
// validation samples behind every accuracy (the binomial standard error of p). With few samples that keeps
// nearly every model (their differences are noise), with many only those really level with the best.
// Accuracies must lie in [0, 1] and n > 0.
std::vector<bool> within_one_standard_error(const std::vector<double>& accuracies, std::size_t n);

// Mean and sample standard deviation (n - 1 in the denominator; 0 for a single value) of repeated results,
// e.g. the AUCs of the folds or the accuracies over seeds. Throws on an empty list.
struct MeanStd {
  double mean = 0, std = 0;
};
MeanStd mean_and_std(const std::vector<double>& values);

// Tensor conversions: labels from an Int64/Bool/float tensor (rounded), scores from any float tensor.
Labels to_labels(const Tensor& t);

}  // namespace hf
