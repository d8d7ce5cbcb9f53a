//===- Evaluation.cpp - task metrics of a session on labelled data --------===//
#include "app/Evaluation.h"
#include "runtime/Grouping.h"
#include "runtime/Metrics.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <set>

using namespace mtgr;

llvm::Expected<std::vector<TaskMetrics>> mtgr::evaluate(Session &session,
                                                              const Batch &batch) {
  const ModelDesc &m = session.model();
  std::vector<TaskMetrics> out(m.tasks.size());
  if (batch.numCandidates() == 0)
    return out;
  // On several ranks (Session::setCollective) each scores its share of the
  // samples and the scores are gathered in rank (that is, sample) order:
  // every rank computes the same metrics on all of them.
  std::vector<std::vector<float>> scores(m.tasks.size());
  Collective *ranks = session.getCollective();
  if (ranks && ranks->size() > 1) {
    auto [begin, end] = session.rankShare(batch);
    // Sharded tables: every rank fetches rows with the others, samples or not.
    if (begin < end || session.tablePlacement()) {
      auto part = session.forward(sliceBatch(m, batch, begin, end));
      if (!part)
        return part.takeError();
      scores = std::move(part->logits);
    }
    for (std::vector<float> &task : scores)
      task = ranks->allGatherFloats(task);
  } else {
    auto result = session.forward(batch);
    if (!result)
      return result.takeError();
    scores = std::move(result->logits);
  }
  std::vector<int64_t> users = candidateUsers(batch);
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    std::vector<double> logits(scores[t].begin(), scores[t].end());
    out[t] = {auc(logits, batch.labels[t]), gauc(logits, batch.labels[t], users),
              normalizedEntropy(logits, batch.labels[t]), logLoss(logits, batch.labels[t]),
              gaucStandardError(logits, batch.labels[t], users)};
    for (float y : batch.labels[t])
      ++(y > 0.5 ? out[t].positives : out[t].negatives);
  }
  return out;
}

double mtgr::weightedLogLoss(const ModelDesc &m, const std::vector<TaskMetrics> &metrics) {
  double sum = 0;
  for (size_t t = 0; t < metrics.size(); ++t) {
    if (!metrics[t].logLoss)
      return INFINITY;
    sum += m.tasks[t].weight * *metrics[t].logLoss;
  }
  return sum;
}

std::string mtgr::jsonNumber(std::optional<double> v) {
  return v && std::isfinite(*v) ? llvm::formatv("{0:F6}", *v).str() : "null";
}

std::string mtgr::metricsJson(const ModelDesc &m, const std::vector<TaskMetrics> &metrics) {
  std::string s = "{";
  for (size_t t = 0; t < metrics.size(); ++t)
    s += llvm::formatv("{0}\"{1}\": {\"auc\": {2}, \"gauc\": {3}, \"ne\": {4}, "
                       "\"logloss\": {5}, \"gauc_se\": {6}, \"positives\": {7}, "
                       "\"negatives\": {8}}",
                       t ? ", " : "", m.tasks[t].name, jsonNumber(metrics[t].auc),
                       jsonNumber(metrics[t].gauc), jsonNumber(metrics[t].ne),
                       jsonNumber(metrics[t].logLoss), jsonNumber(metrics[t].gaucError),
                       metrics[t].positives, metrics[t].negatives)
             .str();
  return s + "}";
}

void mtgr::printMetricLines(llvm::raw_ostream &os, const ModelDesc &m, const Batch &batch,
                                  const std::vector<TaskMetrics> &metrics,
                                  llvm::StringRef title) {
  std::set<int64_t> distinct(batch.userIds.begin(), batch.userIds.end());
  os << title << ": " << distinct.size() << " users, " << batch.numSamples << " samples, "
     << batch.numCandidates() << " candidates\n";
  auto f = [](std::optional<double> v) {
    return v ? llvm::formatv("{0:F4}", *v).str() : std::string("n/a");
  };
  for (size_t t = 0; t < m.tasks.size(); ++t)
    os << llvm::format("  %-10s AUC ", m.tasks[t].name.c_str()) << f(metrics[t].auc) << "  GAUC "
       << f(metrics[t].gauc) << "  NE " << f(metrics[t].ne) << "\n";
}
