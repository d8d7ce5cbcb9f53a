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

} // namespace mtgr

#endif
