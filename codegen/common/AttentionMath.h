//===- AttentionMath.h - the attention's math and masks, for every back end -*- C++ -*-===//
//
// What the CPU's tiled attention and the GPU's kernels compute alike: the
// relative bias of a pair, n_norm of a row (DESIGN 1.3), the masks' row
// intervals (DESIGN 1.5) and the tile lists built from them
// (mtgr.build_mask, mtgr.attention_tiles, lowered here for both back ends:
// per-sample work is LoopBuilder::forEach, scans LoopBuilder::serial).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_COMMON_ATTENTIONMATH_H
#define MTGR_CODEGEN_COMMON_ATTENTIONMATH_H

#include "codegen/common/LoweringSupport.h"

#include <optional>

namespace mlir::mtgr {

/// The relative attention bias of pair (row, col) and where it comes from:
/// P[clamp(pos_j - pos_i, -Pmax, Pmax)] + T[bucket(|t_i - t_j|)], the T term
/// only between non-U tokens. gi, ti, pi: the row's group, time, position;
/// col: the column's absolute row.
struct RabTerms {
  Value bias, posIndex, bucket, bothTimed;
};
RabTerms rabTerms(LoopBuilder &l, const LayoutBuffers &layout, Value rabPos, Value rabTime,
                  Value gi, Value ti, Value pi, Value col);

/// n_norm(row) as f32: the sample's tokens (total), a constant, or the
/// row's visible columns.
Value attentionNorm(LoopBuilder &l, NNorm mode, std::optional<APFloat> constant, Value mask,
                    Value row, Value start, Value end);

/// Visible pairs of rows [r0, r1) x columns [c0, c1) (sample-local, the
/// sample's first row at `start`; a row's intervals are disjoint, so their
/// overlaps add up).
Value visiblePairs(LoopBuilder &l, Value mask, Value start, Value r0, Value r1, Value c0,
                   Value c1);

/// Whether sample-local column `j` is in one of the intervals of `row`.
Value columnVisible(LoopBuilder &l, Value mask, Value row, Value j);

/// mtgr.build_mask and mtgr.attention_tiles.
void populateMaskLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                  const ParallelLoops *parallel = nullptr);

} // namespace mlir::mtgr

#endif
