//===- Scoring.cpp - logits to probabilities, and the scores format -------===//
#include "app/Scoring.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
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

llvm::Expected<PassTimes> mtgr::timeForwardPasses(Session &session, const Batch &batch,
                                                  double seconds) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::vector<double> passes;
  auto began = Clock::now();
  while (passes.size() < 3 || since(began) < seconds) {
    auto t0 = Clock::now();
    if (auto r = session.forward(batch); !r)
      return r.takeError();
    passes.push_back(since(t0));
  }
  std::sort(passes.begin(), passes.end());
  size_t n = passes.size();
  double median = n % 2 ? passes[n / 2] : (passes[n / 2 - 1] + passes[n / 2]) / 2;
  return PassTimes{passes.front(), median, n};
}

std::string mtgr::passTimesJson(const PassTimes &times, int threads) {
  return llvm::formatv("{{\"contender\": \"mtgr\", \"threads\": {0}, \"best_s\": {1:F6}, "
                       "\"median_s\": {2:F6}, \"passes\": {3}}",
                       threads, times.bestSeconds, times.medianSeconds, times.passes)
      .str();
}
