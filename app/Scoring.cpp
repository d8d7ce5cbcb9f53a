//===- Scoring.cpp - logits to probabilities, and the scores format -------===//
#include "app/Scoring.h"

#include "llvm/Support/Format.h"

#include <cmath>

using namespace mtgr;

double mtgr::probability(double logit) { return 1.0 / (1.0 + std::exp(-logit)); }

std::vector<std::vector<double>> mtgr::probabilities(const ForwardResult &result) {
  std::vector<std::vector<double>> out;
  for (const std::vector<float> &task : result.logits) {
    std::vector<double> &p = out.emplace_back();
    for (float logit : task)
      p.push_back(probability(logit));
  }
  return out;
}

void mtgr::writeScores(llvm::raw_ostream &os, const ModelDesc &m, const Batch &batch,
                             const ForwardResult &result, int64_t show) {
  os << "# user candidate";
  for (const TaskDesc &t : m.tasks)
    os << " " << t.name;
  os << "\n";
  int64_t printed = 0;
  for (int64_t b = 0; b < batch.numSamples && (show < 0 || printed < show); ++b)
    for (int64_t c = batch.candidateOffsets[b]; c < batch.candidateOffsets[b + 1]; ++c) {
      if (show >= 0 && printed++ >= show)
        break;
      os << batch.userIds[b] << " " << batch.candidateIds[c];
      for (size_t t = 0; t < m.tasks.size(); ++t)
        os << llvm::format(" %.6f", probability(result.logits[t][c]));
      os << "\n";
    }
}
