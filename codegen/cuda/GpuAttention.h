//===- GpuAttention.h - HSTU attention's GPU kernels, shared pieces -*- C++ -*-===//
//
// What the SIMT attention kernels (GpuAttention.cpp) and the fused
// tensor-core forward (GpuTensorCoreAttention.cpp) share: the op's buffers
// and options, the score and weight of a pair, n_norm.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_GPUATTENTION_H
#define MTGR_CODEGEN_CUDA_GPUATTENTION_H

#include "codegen/common/LoweringSupport.h"

#include <optional>
#include <string>

namespace mlir::mtgr {

/// What a pair (row, col) of one head contributes: its score and the
/// values derived from it.
struct AttentionPair {
  Value score, sigmoid, weight; // s, sigmoid(s), SiLU(s) / n_norm
};

/// An attention op's (or its gradient's) buffers and options.
struct AttentionInputs {
  Value q, k, v, mask;
  LayoutBuffers layout;
  Value rabPos, rabTime; // null without a relative bias
  int64_t heads, dqk, dv;
  double alpha;
  NNorm mode;
  std::optional<APFloat> constant;

  /// The pair's score alpha <Q_row, K_col> + rab(row, col) (rows absolute)
  /// of `head`, its sigmoid and weight SiLU(s) * inv.
  AttentionPair pair(LoopBuilder &l, Value row, Value col, Value head, Value inv) const;
  /// 1 / n_norm(row) for a row of the sample [start, end).
  Value inverseNorm(LoopBuilder &l, Value row, Value start, Value end) const;
};

/// The last i in [0, count) with starts[i] <= x: the sample (or row block)
/// that x falls in, given ascending starts.
Value lastAtOrBelow(LoopBuilder &l, Value starts, Value count, Value x);

/// Why a tile list of row blocks of `rowBlock` and column tiles of
/// `colTile` cannot drive the tensor-core forward (none: it can).
std::optional<std::string> tensorCoreAttentionTilesProblem(int64_t rowBlock, int64_t colTile);

/// The forward on tensor cores into `out` ([rows, heads * dv]): a block
/// per (row block, head, chunk of V's columns), a warp per 16 rows;
/// S = Q K^T and O += P V by mma.sync m16n8k16 on bf16 operands with f32
/// sums, the weights computed on S's fragments (GpuTensorCoreAttention.cpp).
void launchTensorCoreAttention(LoopBuilder &l, const AttentionInputs &in,
                               const TileListBuffers &tiles, int64_t rowBlock, int64_t colTile,
                               Value out);

} // namespace mlir::mtgr

#endif
