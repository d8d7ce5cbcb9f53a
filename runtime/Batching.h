//===- Batching.h - token-balanced steps over a dataset -----------*- C++ -*-===//
//
// The number of users per step varies so that tokens per step stay near a
// budget (as in the paper). The loss divides by a fixed expected candidate
// count (DESIGN 1.6), not the step's own, so the gradient stays an unbiased
// estimate whatever a step holds.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_BATCHING_H
#define MTGR_RUNTIME_BATCHING_H

#include "runtime/Batch.h"

namespace mtgr {

/// One epoch's steps: each a list of sample indices. Samples are visited in a
/// permutation seeded by (seed, epoch); a step takes samples while its tokens
/// stay within `tokenBudget` (a sample larger than the budget is a step of its
/// own), so a step has at most budget + one sample's tokens, and every sample
/// is in exactly one step.
std::vector<std::vector<int64_t>> tokenBalancedSteps(const std::vector<int64_t> &sampleTokens,
                                                     int64_t tokenBudget, uint64_t seed,
                                                     int64_t epoch);

/// The samples `indices` of `data`, in that order, as one batch.
Batch gatherSamples(const ModelDesc &m, const Batch &data, const std::vector<int64_t> &indices);

} // namespace mtgr

#endif
