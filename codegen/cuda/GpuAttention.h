//===- GpuAttention.h - HSTU attention's GPU kernels, shared pieces -*- C++ -*-===//
//
// What the SIMT attention kernels (GpuAttention.cpp) and the fused
// tensor-core passes (GpuTensorCoreAttention.cpp: the forward, dQ, dK, dV)
// share: the op's buffers and options, the score and weight of a pair,
// n_norm; and the passes' description.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CUDA_GPUATTENTION_H
#define MTGR_CODEGEN_CUDA_GPUATTENTION_H

#include "codegen/common/LoweringSupport.h"

#include <functional>
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
/// `colTile` cannot drive the tensor-core kernels (none: it can).
std::optional<std::string> tensorCoreAttentionTilesProblem(int64_t rowBlock, int64_t colTile);

/// <outer row, inner row> over one head's `width` columns of two buffers
/// ([rows, heads * width]): a product the fused kernels recompute per tile.
struct FusedProduct {
  Value outer, inner;
  int64_t width;
};

/// One fused tensor-core pass over the pairs of the tile list
/// (GpuTensorCoreAttention.cpp): a block per (outer block, head, chunk of
/// the output's columns), a warp per 16 outer rows; per listed inner tile
/// the products' sums on tensor cores, the weight of each pair from them
/// (times 1 / n_norm, zero where the mask hides the pair), then
/// out[outer] += W second[inner] on tensor cores. The forward is (query
/// rows; Q.K; O += W V); the backward's dQ (query rows; Q.K, dO.V;
/// dQ += dS K), dV (keys; K.Q; dV += A dO) and dK (keys; K.Q, V.dO;
/// dK += dS Q) walk the transposed list.
struct FusedAttentionPass {
  /// The outer side: blocks of outerBlock rows, outerStart [B + 1] each
  /// sample's first block; queries (row blocks) or keys (column tiles).
  Value outerStart;
  int64_t outerBlock;
  bool outerIsQuery;
  /// The listed inner tiles of outer block g: entries [entryStart[g],
  /// entryStart[g + 1]), each decoded into (the tile's index in its
  /// sample, whether all its pairs are visible).
  Value entryStart, entries;
  int64_t innerTile;
  std::function<std::pair<Value, Value>(LoopBuilder &, Value code)> decode;
  /// products[0] is the score's <q, k>; a second one is dP's <dO, v>.
  SmallVector<FusedProduct, 2> products;
  /// The weight before 1 / n_norm and the mask, from the score s = alpha
  /// products[0] + rab and the products' sums.
  std::function<Value(LoopBuilder &, Value score, ArrayRef<Value> sums)> weight;
  /// out[outer][head * secondWidth + c] = sum over inner rows of
  /// W second[inner][head * secondWidth + c], in chunks of at most
  /// outputChunk columns (a block each).
  Value second, out;
  int64_t secondWidth, outputChunk;
};

/// Launches `pass` (AttentionInputs gives the mask, layout, rab and
/// n_norm).
void launchFusedAttentionPass(LoopBuilder &l, const AttentionInputs &in,
                              const FusedAttentionPass &pass);

/// Why the forward `pass` cannot run on sm_90a's wgmma (none: it can):
/// 64 x 64 tiles, bf16 Q, K and V, heads of multiples of 16 up to 256.
std::optional<std::string> wgmmaAttentionProblem(const FusedAttentionPass &pass);
/// The forward on wgmma fed by TMA (GpuTensorCoreAttention.cpp); `pass` as
/// wgmmaAttentionProblem accepts it.
void launchWgmmaAttentionForward(LoopBuilder &l, const AttentionInputs &in,
                                 const FusedAttentionPass &pass);

} // namespace mlir::mtgr

#endif
