//===- Scoring.h - logits to probabilities, and the scores format -*- C++ -*-===//
//
// What a scoring client needs on top of Session::forward: per-task
// probabilities (the sigmoid of each logit) and the text format mtgr-run infer
// writes (docs/requests.md): "# user candidate TASK..." then one line per
// candidate with its user id, candidate id and a probability per task.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_APP_SCORING_H
#define MTGR_APP_SCORING_H

#include "runtime/Session.h"

#include "llvm/Support/raw_ostream.h"

namespace mtgr {

double probability(double logit);

/// [task][candidate] probabilities of a forward result.
std::vector<std::vector<double>> probabilities(const ForwardResult &result);

/// Writes the scores of `batch` in the scores format; at most `show`
/// candidates (-1: all).
void writeScores(llvm::raw_ostream &os, const ModelDesc &m, const Batch &batch,
                 const ForwardResult &result, int64_t show = -1);

/// Wall-clock times of whole forward passes over one batch.
struct PassTimes {
  double bestSeconds = 0, medianSeconds = 0;
  size_t passes = 0;
};
/// Runs whole passes over `batch` until at least 3 ran and `seconds` passed,
/// as bench/peers/ times its contenders.
llvm::Expected<PassTimes> timeForwardPasses(Session &session, const Batch &batch, double seconds);
/// {"contender": "mtgr", "threads": T, "best_s": .., "median_s": .., "passes": N}
std::string passTimesJson(const PassTimes &times, int threads);

} // namespace mtgr

#endif
