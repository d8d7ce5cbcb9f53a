//===- AttentionEmitter.h - the CPU's tiled attention -------------*- C++ -*-===//
//
// The emitter of the attention family, split by what it builds: the forward
// kernel (AttentionForward.cpp), the backward kernel (AttentionBackward.cpp),
// and the tile helpers both kernels use with the family's patterns
// (LowerAttention.cpp). The masks, tile lists, relative bias and n_norm are
// every back end's (codegen/common/AttentionMath.h).
//
// build_mask writes, per row, at most 3 column intervals (DESIGN 1.5).
// attention_tiles turns them into per-row-block lists of column tiles with a
// visible pair (full or partial). The attention walks (sample, row block,
// listed tile, head): the scores of a tile are BR vectors of BC lanes kept in
// registers (QK^T as BR broadcast-FMA chains over d_qk), SiLU and 1/n_norm
// are applied on the vectors, the mask test only on partial tiles; after a
// group of tiles PV accumulates into a BR x (heads * dv) block of rows
// through vector FMAs, the outputs in registers across the group's tiles.
// K (and V for the gradient) is transposed once per op, padded by one tile
// of zero columns, so a tile's key vector is one contiguous load.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_CPU_ATTENTIONEMITTER_H
#define MTGR_CODEGEN_CPU_ATTENTIONEMITTER_H

#include "codegen/common/AttentionMath.h"
#include "codegen/cpu/Gemm.h"
#include "codegen/cpu/Target.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"

namespace mlir::mtgr::cpu {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

/// Heads, and the widths of a head's query/key and value.
template <typename Op> std::array<int64_t, 3> headDims(Op op) {
  int64_t h = op.getHeadsAttr().getInt();
  return {h, getRowShape(op.getQ().getType())[0] / h, getRowShape(op.getV().getType())[0] / h};
}

/// Reads a kernel's arguments in order: next() one, next(n) a range.
struct KernelArgs {
  ValueRange all;
  size_t at = 0;
  ValueRange operator()(size_t n = 1) {
    ValueRange r = all.slice(at, n);
    at += n;
    return r;
  }
};

struct AttentionEmitter : LoopBuilder {
  AttentionEmitter(OpBuilder &b, Location loc, int64_t rowBlock = 1, int64_t colTile = 1,
                   const AttentionMachine &machine = {})
      : LoopBuilder(b, loc), BR(rowBlock), BC(colTile), TW(colTile), machine(machine) {}
  /// Row block, column tile, and the width of the tile being emitted: a
  /// listed tile is BC columns wide, or BC / 2 when its second half holds
  /// no visible pair (the edge of a visible region: half the waste).
  int64_t BR, BC, TW;
  /// The target's registers (the row and column updates' register tiles
  /// fit them), sweep bytes (a sample whose key columns pass them takes the
  /// backward's two passes) and L1 (the forward's tile groups).
  AttentionMachine machine;

  /// The relative attention bias of a pair (codegen/common/AttentionMath.h).
  using Rab = RabTerms;
  Rab rabTerms(const LayoutBuffers &l, Value rabPos, Value rabTime, Value gi, Value ti, Value pi,
               Value col);
  /// n_norm(row) of DESIGN 1.3.
  Value attentionNorm(NNorm mode, std::optional<APFloat> constant, Value mask, Value row,
                      Value start, Value end);


  // --- tiled attention -----------------------------------------------------
  VectorType vec(int64_t n, Type elt) { return VectorType::get({n}, elt); }
  Value vload(Type t, Value m, ValueRange at) { return vector::LoadOp::create(b, t, m, at); }
  void vstore(Value v, Value m, ValueRange at) { vector::StoreOp::create(b, v, m, at); }
  Value splat(Type t, Value s) { return vector::BroadcastOp::create(b, t, s); }
  Value fma(Value x, Value y, Value acc) { return vector::FMAOp::create(b, x, y, acc); }
  /// The largest power of two <= BC dividing `width`: the vector width of
  /// the row updates (any head size works, small ones with short vectors).
  int64_t laneWidth(int64_t width) const {
    int64_t w = 1;
    while (w * 2 <= std::max<int64_t>(BC / 2, 1) && width % (w * 2) == 0)
      w *= 2;
    return w;
  }
  /// x [N, w] packed into panels [tiles][w][BC]: panel panelStart[s] + t
  /// holds columns t BC .. t BC + BC - 1 of sample s transposed (past the
  /// sample's end: zeros). A tile's key vectors are then one contiguous block.
  /// The first panel of each sample [B + 1] (caller), the panels (caller),
  /// their contents (kernel).
  Value panelStarts(const LayoutBuffers &l);
  Value allocPanels(Value panelStart, Value samples, int64_t w);
  void fillPanels(Value x, const LayoutBuffers &l, Value panelStart, Value panels, int64_t w);
  /// A row block of x [N, w] transposed into slot `slot` (null: 0) of
  /// block [slots, w, BR]: block[slot, c, r] = x[rows[r], c]. The tile
  /// products read a row block's Q (or dO) from it: one k's BR elements are
  /// adjacent, where x's rows lie a row stride apart (BR streams; a stride
  /// of a multiple of 4 KiB, d_model 1024 with 1 to 4 heads, puts them all
  /// in one L1 set: QK^T at 55-80 instead of 115 GFLOP/s in a
  /// micro-benchmark on znver4).
  void packRowBlock(Value x, ArrayRef<Value> rows, Value block, int64_t w, Value slot = {});
  /// scores[r] = sum_k block[slot, off + k, r] * panel[off + k][0 .. TW),
  /// r < rows, k < width (block: packRowBlock's).
  SmallVector<Value> tileProduct(Value block, Value slot, int64_t rows, Value panels, Value panel,
                                 Value off, int64_t width);
  /// Columns [first, end) of a tile starting at column col0 (a TileView's:
  /// columns that exist).
  struct Span {
    Value col0, first, end;
  };
  /// out[outRow0 + r, outOff + c] += sum over spans s < count (spanAt(s)),
  /// in order, of sum_j P[pRow0 + r, s BC + j] * Y[col0 + j, yOff + c] for
  /// r < rows, j in [first, end), c < width. Where `fresh` (i1, optional)
  /// holds, `=` instead of `+=`: out's old values are neither read nor need
  /// to be zero.
  void accumulateRows(int64_t rows, Value out, Value outRow0, Value outOff, Value p, Value pRow0,
                      Value y, Value yOff, int64_t width, Value count,
                      function_ref<Span(Value)> spanAt, Value fresh = {});
  /// out[col0 + j, off + c] += sum_r P[r, j] * Y[rows[r], off + c] for j in
  /// [first, end).
  void accumulateColumns(Value out, Value p, Value y, ArrayRef<Value> rows, Value off,
                         int64_t width, Value col0, Value first, Value end);
  /// Per row r, the lanes of columns c0 + lane (sample-local) the row sees.
  SmallVector<Value> visibleLanes(Value mask, ArrayRef<Value> rows, Value c0);
  /// The bias tile of rows x [col0, col0 + BC) into `tile` [BR, BC].
  void biasTile(Value tile, const LayoutBuffers &l, Value rabPos, Value rabTime,
                ArrayRef<Value> rows, Value col0, Value last);

  /// Loops over (sample, row block, listed tile); `perBlock` runs before
  /// the tiles of a block, `perTile` for each, `afterBlock` after them.
  struct Block {
    Value sample, start, end, n, r0;
    SmallVector<Value> rows; // absolute rows, clamped to the sample's last
    Value entry;             // its place in the tile list's blocks
    Value slot;              // its place in its super block (forEachTileGroup)
  };
  struct Tile {
    Value full, half, c0, col0; // full: no mask test; half: BC / 2 columns wide
    Value index;          // the column tile within the sample
    Value panel;          // its panel of packed keys (packPanels)
    Value slot;           // its place in its group (forEachTileGroup)
  };
  /// What a row block sees of a tile: per row, the lanes it sees (all of
  /// them on full tiles, no test; the mask's on partial ones;
  /// `rowsMustExist`: rows past the sample's end, clamped copies of its last
  /// row, see nothing), and the columns [first, end) of the tile outside
  /// which no row sees any. The products over the tile's columns (P V, dS K,
  /// and dV, dK by columns) skip the rest: their weights are zero there, and
  /// at the edge of a visible region (the last tile of U and S for their
  /// rows, a candidate's own column) that is most of a tile.
  struct TileView {
    SmallVector<Value> seen;
    Value first, end;
  };
  TileView tileMasks(const Block &blk, const Tile &tile, Value mask, bool rowsMustExist);
  /// inv[first + r] = 1 / n_norm of each row of a block (first null: 0).
  void inverseNorms(const Block &blk, Value inv, Value mask, NNorm mode,
                    std::optional<APFloat> constant, Value first = {}) {
    for (size_t r = 0; r < blk.rows.size(); ++r)
      store(fdiv(cf32(1.0), attentionNorm(mode, constant, mask, blk.rows[r], blk.start, blk.end)),
            inv, {first ? add(first, idx(r)) : idx(r)});
  }
  /// Emits `body` for a half tile (TW = BC / 2) and a whole one (TW = BC).
  void byWidth(Value half, function_ref<void()> body) {
    if (BC < 2)
      return body();
    auto choice = scf::IfOp::create(b, TypeRange{}, half, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    TW = BC / 2;
    body();
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    TW = BC;
    body();
  }
  /// Emits `body(rows)` for a short block (rows = BR / 2: a sample's last
  /// block with at most that many rows) and a whole one (rows = BR): the
  /// products of a short block leave out the rows past the sample's end
  /// (2.7% of the pairs computed on MTGR-small's batch).
  void byRows(Value isShort, function_ref<void(int64_t)> body) {
    if (BR < 2)
      return body(BR);
    auto choice = scf::IfOp::create(b, TypeRange{}, isShort, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    body(BR / 2);
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    body(BR);
  }
  /// Row block `rb` of sample `s`.
  Block blockAt(const LayoutBuffers &l, Value s, Value rb);
  /// The listed tile of `code` (attention_tiles) in a block of sample `s`.
  Tile tileOf(Value code, Value panelStart, const Block &blk);
  /// Over row blocks [firstBlock, endBlock) of the whole list (numbered
  /// across samples; null: all of them).
  void forEachTile(const LayoutBuffers &l, const TileListBuffers &t, Value panelStart,
                   function_ref<void(Block &)> perBlock,
                   function_ref<void(Block &, Tile &)> perTile,
                   function_ref<void(Block &)> afterBlock, Value firstBlock = {},
                   Value endBlock = {});
  /// The forward's walk: a sample's row blocks in super blocks of
  /// superBlocksOf(its column tiles) (at most as many as `cursors` [..]
  /// (index, scratch) holds; blk.slot: the place in it), and for each super
  /// block the sample's column tiles in ranges of `groupTiles`: per range,
  /// each of its blocks walks its listed tiles inside the range (`perTile`;
  /// tile.slot: the place among them), then `afterGroup` with their count
  /// when there are any. `perBlock` runs for each block of a super block
  /// before its ranges, `afterBlock` after them. The keys and values of a
  /// range stay in the L2 across the super block's rows, where a block
  /// sweeping all of a long sample's (16.7 MiB at MTGR-small's 4,168
  /// tokens) read them from L3 or memory once per 8 rows.
  void forEachTileGroup(const LayoutBuffers &l, const TileListBuffers &t, Value panelStart,
                        function_ref<Value(Value columnTiles)> superBlocksOf, int64_t groupTiles,
                        Value cursors, Value firstBlock, Value endBlock,
                        function_ref<void(Block &)> perBlock,
                        function_ref<void(Block &, Tile &)> perTile,
                        function_ref<void(Block &, Value count)> afterGroup,
                        function_ref<void(Block &)> afterBlock);
  /// Threads by cost: part `part` of `parts` gets the row blocks [lo, hi)
  /// whose costs (listed tiles + 1 for the block's own rows) sum to about
  /// 1 / parts of the list's; a block's cost is known from the tile list.
  /// `wholeSamples`: the boundaries fall between samples (the first block
  /// of the first sample whose cost before it reaches part / parts).
  std::pair<Value, Value> costShare(const TileListBuffers &t, Value samples, Value part,
                                    Value parts, bool wholeSamples = false);
  /// Part `part` of `parts` of units [0, units) by cost: [lo, hi), where
  /// the units before u cost costBefore(u) (ascending; costBefore(units) is
  /// the total) and a part starts at the first unit whose cost before it
  /// reaches part / parts of the total.
  std::pair<Value, Value> shareByCost(Value units, function_ref<Value(Value)> costBefore,
                                      Value part, Value parts);

  /// The attention of every layer with the same shapes and attributes runs
  /// one kernel function (`mtgr_attention_*`, a name perf can show): the
  /// caller allocates every buffer it touches (so mtgr-free-buffers sees them
  /// all in the entry point) and passes them with the inputs.
  void callKernel(Operation *op, StringRef kind, ArrayRef<Value> args,
                  function_ref<void(AttentionEmitter &, ValueRange)> body);
  /// Forward: inputs q, k, v, mask, layout (5), tiles (4), [rab (2)], then
  /// o, panel starts, panels (each thread's scratch is its own: allocated
  /// and freed inside its part).
  SmallVector<Value> attentionBuffers(HstuAttentionOp op, const LayoutBuffers &l, bool rab);
  void attentionKernel(HstuAttentionOp op, ValueRange a, bool rab);
  /// Backward: inputs q, k, v, mask, dO, layout (5), tiles (4), [rab (2)],
  /// then dq, dk, dv, panel starts, K panels, V panels, the column list
  /// (columnList), and with rab dP, dT and their chunks' partial sums
  /// [rabChunks(op)][..]; each part's scratch (dqAcc, weights, dScores,
  /// inv, [bias, dsSum]) its own.
  SmallVector<Value> attentionBackwardBuffers(HstuAttentionBackwardOp op, const LayoutBuffers &l,
                                              const TileListBuffers &t, Value rabPos,
                                              Value rabTime);
  void attentionBackwardKernel(HstuAttentionBackwardOp op, ValueRange a, bool rab);
  /// The relative bias's gradient (dP, dT) sums over every sample's pairs:
  /// with rab the backward's work is split into this many chunks, fixed by
  /// the tables' sizes (never by the thread count), each chunk adding into
  /// partial sums of its own, summed in chunk order at the end: the same
  /// bits on any number of threads. Up to 16 chunks, their partials within
  /// 4 MiB (one chunk: the whole list in order, for huge position tables).
  static int64_t rabChunks(int64_t tableFloats) {
    return std::clamp<int64_t>((int64_t(4) << 20) / std::max<int64_t>(1, tableFloats * 4), 1, 16);
  }
  /// The tile list by columns: for each panel p (a sample's column tile),
  /// entries [colStart[p], colStart[p + 1]) of colEntries [E][2] hold the
  /// (row block, list entry) of each listed tile on it, in row block order.
  void columnList(const LayoutBuffers &l, const TileListBuffers &t, Value panelStart,
                  Value colStart, Value colEntries);
  /// What one listed tile of the backward adds: dQ to the block's dqAcc
  /// (`rowGrads`), dK and dV to its columns (`columnGrads`).
  /// With rab, `chunk` picks the partial sums dsSum's scatter adds into.
  void tileGradients(HstuAttentionBackwardOp op, ValueRange a, bool rab, Block &blk, Tile &tile,
                     ArrayRef<Value> own, bool rowGrads, bool columnGrads, Value chunk);
  /// Row blocks [firstBlock, endBlock) with scratch `own`: every gradient
  /// (one pass), or dQ only (`columnGrads` false: the columns' pass adds dK,
  /// dV).
  void backwardRows(HstuAttentionBackwardOp op, ValueRange a, bool rab, Value firstBlock,
                    Value endBlock, ArrayRef<Value> own, bool columnGrads, Value chunk = {});
  /// dK and dV (and with rab the bias's gradient) of panels [firstPanel,
  /// endPanel) from their column lists.
  void backwardColumns(HstuAttentionBackwardOp op, ValueRange a, bool rab, Value firstPanel,
                       Value endPanel, ArrayRef<Value> own, Value chunk = {});
};
} // namespace mlir::mtgr::cpu

#endif
