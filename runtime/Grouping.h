//===- Grouping.h - DLRM rows -> per-user samples -----------------*- C++ -*-===//
//
// User-level compression (DESIGN 1.1): DLRM-layout data has one row per
// (user, candidate), each with its own R = the real-time events before that
// candidate's time. Grouping merges the rows of each user into one sample
// [U, S, R, C_1..C_K]: U and S must agree across the user's rows; R becomes the
// union of the rows' events (an event present in several rows is kept once),
// sorted by time; candidates keep their row order.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_GROUPING_H
#define MTGR_RUNTIME_GROUPING_H

#include "runtime/Batch.h"

namespace mtgr {

/// `rows` is a batch in DLRM layout: every sample has exactly one candidate.
/// Samples are grouped by user id, users in order of first appearance.
llvm::Expected<Batch> groupRows(const ModelDesc &m, const Batch &rows);

/// The inverse: one sample per candidate, each with R restricted to the
/// events strictly before the candidate's time (what a DLRM pipeline sees).
Batch splitIntoRows(const ModelDesc &m, const Batch &batch);

} // namespace mtgr

#endif
