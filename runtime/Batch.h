//===- Batch.h - an in-memory jagged batch of user samples -------*- C++ -*-===//
//
// One sample = one user request group [U | S | R | C] (DESIGN 1.1). Each
// token group stores its per-sample row counts as offsets [B + 1] and one
// column per feature of the model's schema (ModelDesc order): ids for
// categorical features, `width` floats per row for dense ones.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_BATCH_H
#define MTGR_RUNTIME_BATCH_H

#include "model/ModelDesc.h"
#include "model/ModelStats.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mtgr {

struct FeatureColumn {
  std::vector<int64_t> ids;  // categorical: one id per row
  std::vector<float> values; // dense: width floats per row
};

struct Batch {
  int64_t numSamples = 0;
  std::vector<int64_t> userIds; // one per sample, reported with the scores
  std::vector<FeatureColumn> user; // one row per sample
  std::vector<int64_t> sequenceOffsets, realtimeOffsets, candidateOffsets; // [B + 1]
  std::vector<int64_t> sequenceTimes, realtimeTimes, candidateTimes;      // one per row
  std::vector<FeatureColumn> sequence, realtime;
  std::vector<FeatureColumn> candidate; // item features, then cross features
  std::vector<int64_t> candidateIds;    // one per candidate, reported with the scores
  std::vector<std::vector<float>> labels; // [task][candidate]; empty when unlabelled
  // mask: intervals only: per token of the assembled sequence, 3 half-open
  // [begin, end) column intervals in sample-local indices: [N_total * 6].
  std::vector<int32_t> intervals;

  int64_t numSequence() const { return sequenceOffsets.empty() ? 0 : sequenceOffsets.back(); }
  int64_t numRealtime() const { return realtimeOffsets.empty() ? 0 : realtimeOffsets.back(); }
  int64_t numCandidates() const {
    return candidateOffsets.empty() ? 0 : candidateOffsets.back();
  }
  /// Tokens of sample b in the assembled sequence (nU + nS + nR + K).
  int64_t sampleTokens(const ModelDesc &m, int64_t b) const;
  int64_t totalTokens(const ModelDesc &m) const;
  /// Offsets of the assembled sequence, [B + 1].
  std::vector<int64_t> tokenOffsets(const ModelDesc &m) const;
};

/// An empty batch with the columns of `m`'s schema.
Batch makeEmptyBatch(const ModelDesc &m);

/// Checks a batch against the schema: sizes, monotone offsets, ids of fixed
/// tables in range, finite dense values, S and R sorted by time, no S event
/// after a candidate (it would leak the future), valid intervals. The error
/// names the group, feature, sample and row.
llvm::Error validateBatch(const ModelDesc &m, const Batch &batch);

/// Samples [begin, end) of a batch, as a batch of their own.
Batch sliceBatch(const ModelDesc &m, const Batch &batch, int64_t begin, int64_t end);

/// Appends `piece`'s samples to `out` (both of `m`'s schema; out's labels and
/// intervals are kept only when every piece has them).
void appendBatch(const ModelDesc &m, Batch &out, const Batch &piece);

/// The samples `indices` of a batch, in that order, as a batch of their own.
Batch selectSamples(const ModelDesc &m, const Batch &batch, const std::vector<int64_t> &indices);

/// The user id of every candidate, in candidate order (what GAUC groups by).
std::vector<int64_t> candidateUsers(const Batch &batch);

/// The row of `id` in table `t`: fixed tables use the id itself (validated),
/// hashed tables splitmix64(id) mod rows.
int64_t tableRow(const TableDesc &t, int64_t id);
/// Every table lookup of a batch: its table and ids, in the model's group
/// order (user, sequence, real-time, candidate item then cross features):
/// the order ids are admitted to dynamic tables and fetched from shards.
void forEachLookup(const ModelDesc &m, const Batch &batch,
                   llvm::function_ref<void(const TableDesc &, const std::vector<int64_t> &)> fn);
uint64_t splitmix64(uint64_t x);

/// Forward FLOPs of a batch (DESIGN 1.9): the sum over its samples of
/// countForwardFlops on each sample's exact lengths and R/C times; nullopt
/// where a sample's attention pairs are unknown (mask: intervals).
std::optional<FlopCount> countBatchFlops(const ModelDesc &m, const Batch &batch);

} // namespace mtgr

#endif // MTGR_RUNTIME_BATCH_H
