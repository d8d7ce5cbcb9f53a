//===- Metrics.h - AUC, GAUC, log loss and NE ---------------------*- C++ -*-===//
#ifndef MTGR_RUNTIME_METRICS_H
#define MTGR_RUNTIME_METRICS_H

#include <cstdint>
#include <optional>
#include <vector>

namespace mtgr {

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half (Mann-Whitney U with
/// average ranks). std::nullopt when one class is absent or a score is NaN
/// (a diverged model): NaN has no rank.
std::optional<double> auc(const std::vector<double> &scores, const std::vector<float> &labels);

/// Group AUC: per-user AUC weighted by the user's impressions; users whose
/// candidates are all of one class are skipped. std::nullopt if none is left.
std::optional<double> gauc(const std::vector<double> &scores, const std::vector<float> &labels,
                           const std::vector<int64_t> &users);

/// The standard error of gauc() from the spread of the per-user AUCs (the
/// users as the sample): sqrt(sum_u w_u^2 (a_u - G)^2) / sum_u w_u. It says
/// how much GAUC would move with another draw of users of the same size.
std::optional<double> gaucStandardError(const std::vector<double> &scores,
                                        const std::vector<float> &labels,
                                        const std::vector<int64_t> &users);

/// Mean binary cross-entropy of logits against 0/1 labels (the stable form
/// max(x, 0) - x y + log1p(exp(-|x|))); std::nullopt for no candidates or a
/// NaN logit.
std::optional<double> logLoss(const std::vector<double> &logits, const std::vector<float> &labels);

/// Normalised entropy (He et al., ADKDD 2014): the log loss divided by the
/// entropy of the labels' base rate p, -(p log p + (1-p) log(1-p)); 1 means
/// no better than always predicting p, lower is better. std::nullopt when
/// one class is absent.
std::optional<double> normalizedEntropy(const std::vector<double> &logits,
                                        const std::vector<float> &labels);

} // namespace mtgr

#endif
