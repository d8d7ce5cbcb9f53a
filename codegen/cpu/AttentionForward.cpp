//===- AttentionForward.cpp - tiled HSTU attention, forward, on the CPU ---===//
#include "codegen/cpu/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::mtgr;
using namespace mlir::mtgr::cpu;

SmallVector<Value> AttentionEmitter::attentionBuffers(HstuAttentionOp op, const LayoutBuffers &l,
                                                      bool rab) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  Value B = samples(l), N = load(l.offsets, {B});
  Value o = alloc(f32(), {h * dv}, N);
  Value panelStart = panelStarts(l);
  return {o, panelStart, allocPanels(panelStart, B, h * dqk)};
}

void AttentionEmitter::attentionKernel(HstuAttentionOp op, ValueRange a, bool rab) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  double alphaValue = op.getAlpha().convertToDouble();
  KernelArgs next{a};
  Value q = next()[0], k = next()[0], v = next()[0], mask = next()[0];
  LayoutBuffers l(next(5));
  TileListBuffers t(next(4));
  Value rabPos = rab ? next()[0] : Value(), rabTime = rab ? next()[0] : Value();
  Value o = next()[0], panelStart = next()[0], panels = next()[0];
  fillPanels(k, l, panelStart, panels, h * dqk);
  // Row blocks split over the threads by cost; each part has its own
  // accumulators, weights, norms, Q blocks and the spans of a group of
  // tiles. A block's tiles go in groups of up to G (a range of G column
  // tiles: forEachTileGroup): each tile's weights (every head's) first,
  // then P V over the group with the outputs in registers. G keeps the
  // group's weights within a quarter of the L1 (MTGR-small on AVX-512:
  // 2 heads x 8 rows x 4 tiles of 32 columns, 8 KiB).
  int64_t G = std::clamp<int64_t>(machine.l1Bytes / 4 / (h * BR * BC * 4), 1, 8);
  // A sample whose keys and values pass half the L2 takes its row blocks
  // in super blocks of SB, their Q blocks and output rows within half the
  // L2 (MTGR-small: 16 blocks of 8 rows x 2 x 512 floats, 512 KiB of 1 MiB).
  // MTGR-small, one request of 4,168 tokens, znver4, 1 thread: 1.80 s by
  // single blocks, 1.53 with SB = 8, 1.38 with 16, 1.33 with 32. A shorter
  // sample's blocks go one by one (its Q block and outputs stay in the L1
  // across its tiles); where between half the L2 and a few MiB of keys
  // and values the super blocks start to pay, this machine's noise hides
  // (docs/cpu-backend.md).
  int64_t rowBytes = BR * h * (dqk + dv) * 4, columnTileBytes = BC * h * (dqk + dv) * 4;
  int64_t SB = std::clamp<int64_t>(machine.l2Bytes / 2 / rowBytes, 1, 32);
  auto superBlocksOf = [&](Value columnTiles) {
    Value wide = cmp(arith::CmpIPredicate::ugt, mul(columnTiles, idx(columnTileBytes)),
                     idx(machine.l2Bytes / 2));
    return select(wide, idx(SB), idx(1));
  };
  Value parts = threads();
  SmallVector<std::pair<Type, SmallVector<int64_t>>> scratch{
      {f32(), {BR, h * dv}},      {f32(), {h * BR, G * BC}},  {f32(), {SB * BR}},
      {b.getIndexType(), {G, 3}}, {f32(), {SB, h * dqk, BR}}, {b.getIndexType(), {SB}}};
  if (rab)
    scratch.push_back({f32(), {BR, BC}});
  // One part: its row blocks [firstBlock, endBlock), with its own scratch.
  auto part = [&](Value firstBlock, Value endBlock, ArrayRef<Value> own) {
    Value acc = own[0], weights = own[1], inv = own[2], spans = own[3], qBlocks = own[4];
    Value cursors = own[5], bias = rab ? own[6] : Value();
    // A block whose rows all exist accumulates in its rows of o; the last
    // block of a sample in `acc`, its existing rows copied to o after its
    // tiles (the copy of every block was 4% of the kernel's time).
    struct Output {
      Value whole, isShort, out, row0;
    };
    auto outputOf = [&](Block &blk) {
      Output to;
      to.whole = cmp(arith::CmpIPredicate::sle, add(blk.r0, idx(BR)), blk.n);
      to.isShort = cmp(arith::CmpIPredicate::sle, sub(blk.n, blk.r0), idx(BR / 2));
      to.out = select(to.whole, o, memref::CastOp::create(b, o.getType(), acc));
      to.row0 = select(to.whole, add(blk.start, blk.r0), idx(0));
      return to;
    };
    forEachTileGroup(
        l, t, panelStart, superBlocksOf, G, cursors, firstBlock, endBlock,
        [&](Block &blk) {
          // No zero fill of the outputs: the block's first group of tiles
          // writes them (accumulateRows' `fresh`), a block without tiles
          // zeroes its rows at its end. The fill was a memset of BR rows of
          // h dv floats per block that the first group read back: on
          // MTGR-small's batch (znver4, 1 thread, perf, alternating) the
          // memset's ~1 ms per pass went, the attention kernel's own
          // samples stayed (its first stores now miss instead): attention
          // with the memset ~1% less, the pass 0.4% (noise-sized).
          inverseNorms(blk, inv, mask, op.getNNorm(), op.getNNormConstant(),
                       mul(blk.slot, idx(BR)));
          packRowBlock(q, blk.rows, qBlocks, h * dqk, blk.slot);
        },
        [&](Block &blk, Tile &tile) {
          Value pCol0 = mul(tile.slot, idx(BC));
          Value isShort = outputOf(blk).isShort;
          byWidth(tile.half, [&] {
            VectorType vt = vec(TW, f32());
            Value alpha = splat(vt, cf32(alphaValue)), zero = splat(vt, cf32(0.0));
            Value last = sub(blk.end, idx(1));
            TileView view = tileMasks(blk, tile, mask, /*rowsMustExist=*/false);
            ArrayRef<Value> seen = view.seen;
            std::array<Value, 3> span{tile.col0, view.first, view.end};
            for (int64_t i = 0; i < 3; ++i)
              store(span[i], spans, {tile.slot, idx(i)});
            if (bias)
              biasTile(bias, l, rabPos, rabTime, blk.rows, tile.col0, last);
            byRows(isShort, [&](int64_t rows) {
              loop(idx(0), idx(h), [&](Value head) {
                SmallVector<Value> scores = tileProduct(qBlocks, blk.slot, rows, panels, tile.panel,
                                                        mul(head, idx(dqk)), dqk);
                for (int64_t r = 0; r < rows; ++r) {
                  Value s = arith::MulFOp::create(b, alpha, scores[r], fast());
                  if (bias)
                    s = arith::AddFOp::create(b, s, vload(vt, bias, {idx(r), idx(0)}), fast());
                  Value norm = load(inv, {add(mul(blk.slot, idx(BR)), idx(r))});
                  Value a = arith::MulFOp::create(b, silu(s), splat(vt, norm), fast());
                  vstore(select(seen[r], a, zero), weights,
                         {add(mul(head, idx(BR)), idx(r)), pCol0});
                }
              });
            });
          });
        },
        [&](Block &blk, Value count) {
          Output out = outputOf(blk);
          // The block's first group: its cursor moved from the block's
          // first listed tile.
          Value first = cmp(arith::CmpIPredicate::eq, sub(load(cursors, {blk.slot}), count),
                            load(t.tileStart, {blk.entry}));
          byRows(out.isShort, [&](int64_t rows) {
            loop(idx(0), idx(h), [&](Value head) {
              accumulateRows(
                  rows, out.out, out.row0, mul(head, idx(dv)), weights, mul(head, idx(BR)), v,
                  mul(head, idx(dv)), dv, count,
                  [&](Value s) {
                    return Span{load(spans, {s, idx(0)}), load(spans, {s, idx(1)}),
                                load(spans, {s, idx(2)})};
                  },
                  first);
            });
          });
        },
        [&](Block &blk) {
          // The rows that exist: zeros for a block without tiles (no
          // visible pair), else a sample's last block's copy from acc.
          Value whole = outputOf(blk).whole;
          Value tiles =
              sub(load(t.tileStart, {add(blk.entry, idx(1))}), load(t.tileStart, {blk.entry}));
          Value none = cmp(arith::CmpIPredicate::eq, tiles, idx(0));
          Value copy = arith::XOrIOp::create(b, arith::OrIOp::create(b, whole, none),
                                             arith::ConstantIntOp::create(b, 1, 1));
          Value rowsThatExist = minI(idx(BR), sub(blk.n, blk.r0));
          ifThen(none, [&] {
            loop(idx(0), rowsThatExist, [&](Value r) {
              Value row = add(blk.start, add(blk.r0, r));
              loop(idx(0), idx(h * dv), [&](Value c) { store(cf32(0.0), o, {row, c}); });
            });
          });
          ifThen(copy, [&] {
            loop(idx(0), rowsThatExist, [&](Value r) {
              Value row = add(blk.start, add(blk.r0, r));
              loop(idx(0), idx(h * dv), [&](Value c) { store(load(acc, {r, c}), o, {row, c}); });
            });
          });
        });
  };
  parallelParts(parts, "attention", [&](Value p) {
    auto [firstBlock, endBlock] = costShare(t, samples(l), p, parts);
    withScratch(scratch, [&](ArrayRef<Value> own) { part(firstBlock, endBlock, own); });
  });
}
