//===- Metrics.h - AUC and GAUC -----------------------------------*- C++ -*-===//
#ifndef MTGR_RUNTIME_METRICS_H
#define MTGR_RUNTIME_METRICS_H

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::mtgr {

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half (Mann-Whitney U with
/// average ranks). std::nullopt when one class is absent or a score is NaN
/// (a diverged model): NaN has no rank.
std::optional<double> auc(const std::vector<double> &scores, const std::vector<float> &labels);

/// Group AUC: per-user AUC weighted by the user's impressions; users whose
/// candidates are all of one class are skipped. std::nullopt if none is left.
std::optional<double> gauc(const std::vector<double> &scores, const std::vector<float> &labels,
                           const std::vector<int64_t> &users);

} // namespace mlir::mtgr

#endif
