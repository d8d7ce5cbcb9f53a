//===- Synthetic.h - synthetic requests for any model description -*- C++ -*-===//
//
// Driven by the description's feature schema, so it serves any model: users
// with profile features; S with a long-tailed length distribution; R whose
// timestamps interleave the candidates' request times (so the dynamic mask
// matters); K candidates per user with item and cross features; click and
// conversion labels from a planted signal that depends on the user's history,
// real-time events before the candidate's time, the candidate and its cross
// features. Deterministic by seed.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_DATA_SYNTHETIC_H
#define MTGR_DATA_SYNTHETIC_H

#include "runtime/Batch.h"

namespace mtgr {

struct SyntheticOptions {
  int64_t users = 8;
  int64_t maxSequence = 64;  // S lengths are long-tailed in [minSequence, maxSequence]
  int64_t minSequence = 0;
  int64_t maxRealtime = 16;  // R lengths uniform in [minRealtime, maxRealtime]
  int64_t minRealtime = 0;
  int64_t maxCandidates = 8; // K uniform in [minCandidates, maxCandidates]
  int64_t minCandidates = 1;
  uint64_t seed = 1;
  int64_t firstUser = 0; // user ids are firstUser, firstUser + 1, ...
  /// Request windows per user (a day apart, same user and taste): training
  /// data uses all but the last, held-out evaluation the last (splitWindows).
  int64_t windows = 1;
};

Batch generateSynthetic(const ModelDesc &m, const SyntheticOptions &options);

/// Splits a batch generated with `windows` > 1 into (every user's earlier
/// windows, every user's last window).
std::pair<Batch, Batch> splitLastWindow(const ModelDesc &m, const Batch &batch);

/// Intervals of DESIGN 1.5's dynamic mask for every token of `batch`: the
/// `intervals` input of models with mask: intervals, built with the same
/// semantics so such models can be driven by synthetic data.
std::vector<int32_t> dynamicMaskIntervals(const ModelDesc &m, const Batch &batch);

} // namespace mtgr

#endif
