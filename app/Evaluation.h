//===- Evaluation.h - task metrics of a session on labelled data -*- C++ -*-===//
#ifndef MTGR_APP_EVALUATION_H
#define MTGR_APP_EVALUATION_H

#include "runtime/Session.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace mtgr {

/// Per-task metrics of the compiled model on a labelled batch
/// (runtime/Metrics.h: AUC, GAUC with its standard error, NE, log loss).
struct TaskMetrics {
  std::optional<double> auc, gauc, ne, logLoss, gaucError;
  int64_t positives = 0, negatives = 0;
};

/// Scores `batch` with `session` and measures every task.
llvm::Expected<std::vector<TaskMetrics>> evaluate(Session &session, const Batch &batch);

/// sum_t w_t * (mean log loss of task t), the training loss's per-candidate
/// form (DESIGN 1.6): what early stopping minimises (infinite when a task has
/// no log loss).
double weightedLogLoss(const ModelDesc &m, const std::vector<TaskMetrics> &metrics);

/// {"ctr": {"auc": .., "gauc": .., "ne": .., "logloss": .., "gauc_se": ..,
/// "positives": .., "negatives": ..}, ...}; null for a missing value.
std::string metricsJson(const ModelDesc &m, const std::vector<TaskMetrics> &metrics);
/// A number with 6 decimals, or null.
std::string jsonNumber(std::optional<double> v);

/// "<title>: U users, S samples, C candidates" and an AUC/GAUC/NE line per task.
void printMetricLines(llvm::raw_ostream &os, const ModelDesc &m, const Batch &batch,
                      const std::vector<TaskMetrics> &metrics, llvm::StringRef title);

} // namespace mtgr

#endif
