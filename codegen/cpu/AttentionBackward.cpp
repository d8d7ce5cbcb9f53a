//===- AttentionBackward.cpp - tiled HSTU attention, backward, on the CPU -===//
#include "codegen/cpu/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::mtgr;
using namespace mlir::mtgr::cpu;

namespace {
/// The backward's two ways over threads, by their tile products per listed
/// tile and head. One pass: QK^T and dO V^T, then dV, dK and dQ from them
/// (5). By rows, then by columns: QK^T, dO V^T, dQ, and again QK^T, dO V^T,
/// dK, dV (7).
constexpr int64_t kOnePassProducts = 5, kTwoPassProducts = 7;

/// The backward kernel's arguments (AttentionEmitter.h), by name.
struct BackwardArgs {
  Value q, k, v, mask, dO;
  LayoutBuffers l;
  TileListBuffers t;
  Value rabPos, rabTime, dq, dk, dv, panelStart, kPanels, vPanels, colStart, colEntries;
  Value dP, dT, dPChunks, dTChunks; // with rab
  BackwardArgs(KernelArgs next, bool rab)
      : q(next()[0]), k(next()[0]), v(next()[0]), mask(next()[0]), dO(next()[0]), l(next(5)),
        t(next(4)) {
    if (rab)
      rabPos = next()[0], rabTime = next()[0];
    dq = next()[0], dk = next()[0], dv = next()[0];
    panelStart = next()[0], kPanels = next()[0], vPanels = next()[0];
    colStart = next()[0], colEntries = next()[0];
    if (rab)
      dP = next()[0], dT = next()[0], dPChunks = next()[0], dTChunks = next()[0];
  }
};

/// A row block's Q and dO, transposed into the part's scratch (own[4],
/// own[5]) for the tile products.
void packRowBlocks(AttentionEmitter &e, const BackwardArgs &g, const AttentionEmitter::Block &blk,
                   ArrayRef<Value> own, std::array<int64_t, 3> dims) {
  e.packRowBlock(g.q, blk.rows, own[4], dims[0] * dims[1]);
  e.packRowBlock(g.dO, blk.rows, own[5], dims[0] * dims[2]);
}
} // namespace

SmallVector<Value> AttentionEmitter::attentionBackwardBuffers(HstuAttentionBackwardOp op,
                                                              const LayoutBuffers &l,
                                                              const TileListBuffers &t,
                                                              Value rabPos, Value rabTime) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  Value B = samples(l), N = load(l.offsets, {B});
  Value panelStart = panelStarts(l);
  SmallVector<Value> out{alloc(f32(), {h * dqk}, N),          alloc(f32(), {h * dqk}, N),
                         alloc(f32(), {h * dv}, N),           panelStart,
                         allocPanels(panelStart, B, h * dqk), allocPanels(panelStart, B, h * dv)};
  // The column list: a start per panel (+ 1), an entry per listed tile.
  Value listed = load(t.tileStart, {load(t.blockStart, {B})});
  out.append({alloc(b.getIndexType(), {}, add(load(panelStart, {B}), idx(1))),
              alloc(b.getIndexType(), {2}, listed)});
  if (rabPos) {
    int64_t positions = cast<MemRefType>(rabPos.getType()).getDimSize(0);
    int64_t buckets = cast<MemRefType>(rabTime.getType()).getDimSize(0);
    int64_t chunks = rabChunks(positions + buckets);
    out.append({allocStatic(f32(), {positions}), allocStatic(f32(), {buckets}),
                allocStatic(f32(), {chunks, positions}), allocStatic(f32(), {chunks, buckets})});
  }
  return out;
}

void AttentionEmitter::attentionBackwardKernel(HstuAttentionBackwardOp op, ValueRange a, bool rab) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  BackwardArgs g(KernelArgs{a}, rab);
  fill(g.dk, cf32(0.0));
  fill(g.dv, cf32(0.0));
  fillPanels(g.k, g.l, g.panelStart, g.kPanels, h * dqk);
  fillPanels(g.v, g.l, g.panelStart, g.vPanels, h * dv);
  SmallVector<std::pair<Type, SmallVector<int64_t>>> scratch{
      {f32(), {BR, h * dqk}}, {f32(), {BR, BC}},         {f32(), {BR, BC}},
      {f32(), {BR}},          {f32(), {1, h * dqk, BR}}, {f32(), {1, h * dv, BR}}};
  int64_t chunks = 0;
  if (rab) {
    scratch.append({{f32(), {BR, BC}}, {f32(), {BR, BC}}}); // bias, dsSum
    chunks = cast<MemRefType>(g.dPChunks.getType()).getDimSize(0);
    fill(g.dPChunks, cf32(0.0));
    fill(g.dTChunks, cf32(0.0));
  }
  // Two ways over threads, the same bits either way and on any number of
  // threads: each dK, dV row adds its row blocks' contributions in list
  // order, each dQ row its tiles' in list order.
  //  - By whole samples, one pass (costShare): a sample's dK and dV rows
  //    take contributions from its own row blocks only.
  //  - By rows, then by columns: dQ per row block (the blocks split by
  //    cost), then dK and dV per column tile from the list by columns (the
  //    panels split by cost), the scores and dA computed twice.
  // The second when the first's largest share costs more (few samples, or
  // one much longer than the rest), or when a sample's key columns (K and V
  // panels, dK and dV rows: what each of its row blocks sweeps in one pass)
  // pass the cache (sweepBytes): then one pass reads them from memory per
  // row block, two passes keep a column tile's in cache across its rows.
  // With rab the two ways add the bias's gradient in other orders, so the
  // choice cannot follow the thread count: the second way when one sample
  // costs more than 7/10 of the whole (one request: as if two threads); a
  // batch keeps one pass (5 products where two passes cost 7).
  Value B = samples(g.l), parts = threads();
  auto costBefore = [&](Value block) { return add(load(g.t.tileStart, {block}), block); };
  Value total = costBefore(load(g.t.blockStart, {B}));
  auto costliest = [&](Value n, function_ref<std::pair<Value, Value>(Value)> blocksOf) {
    return loopAcc(idx(0), n, idx(0), [&](Value i, Value most) {
      auto [lo, hi] = blocksOf(i);
      return maxI(most, sub(costBefore(hi), costBefore(lo)));
    });
  };
  // Without rab the threads' whole-sample shares; with rab the costliest
  // sample, weighed as one of two shares.
  Value shares = rab ? idx(2) : parts;
  auto sampleBlocks = [&](Value s) {
    return std::pair{load(g.t.blockStart, {s}), load(g.t.blockStart, {add(s, idx(1))})};
  };
  auto threadShare = [&](Value p) { return costShare(g.t, B, p, parts, /*wholeSamples=*/true); };
  Value largest = rab ? costliest(B, sampleBlocks) : costliest(parts, threadShare);
  Value onePass = mul(mul(largest, shares), idx(kOnePassProducts));
  Value byCost = cmp(arith::CmpIPredicate::ugt, onePass, mul(total, idx(kTwoPassProducts)));
  Value widest = loopAcc(idx(0), B, idx(0), [&](Value s, Value most) {
    return maxI(most, sub(load(g.panelStart, {add(s, idx(1))}), load(g.panelStart, {s})));
  });
  int64_t panelBytes = BC * 2 * h * (dqk + dv) * 4;
  Value bySize =
      cmp(arith::CmpIPredicate::ugt, mul(widest, idx(panelBytes)), idx(machine.sweepBytes));
  Value byColumns = arith::OrIOp::create(b, byCost, bySize);
  // A part's shares of the work: itself, or with rab its even share of the
  // fixed chunks, each chunk with partial sums of its own.
  auto forShares = [&](Value part, function_ref<void(Value share, Value n, Value chunk)> body) {
    if (!rab)
      return body(part, parts, Value());
    auto [c0, c1] = evenShare(idx(chunks), part, parts);
    loop(c0, c1, [&](Value c) { body(c, idx(chunks), c); });
  };
  auto way = scf::IfOp::create(b, TypeRange{}, byColumns, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&way.getThenRegion().front());
  columnList(g.l, g.t, g.panelStart, g.colStart, g.colEntries);
  parallelParts(parts, "attention_backward_rows", [&](Value part) {
    auto [firstBlock, endBlock] = costShare(g.t, B, part, parts);
    withScratch(scratch, [&](ArrayRef<Value> own) {
      backwardRows(op, a, rab, firstBlock, endBlock, own, /*columnGrads=*/false);
    });
  });
  auto panelsByCost = [&](Value share, Value shares) {
    return shareByCost(
        load(g.panelStart, {B}), [&](Value p) { return add(load(g.colStart, {p}), p); }, share,
        shares);
  };
  parallelParts(parts, "attention_backward_columns", [&](Value part) {
    withScratch(scratch, [&](ArrayRef<Value> own) {
      forShares(part, [&](Value share, Value n, Value chunk) {
        auto [firstPanel, endPanel] = panelsByCost(share, n);
        backwardColumns(op, a, rab, firstPanel, endPanel, own, chunk);
      });
    });
  });
  b.setInsertionPointToStart(&way.getElseRegion().front());
  parallelParts(parts, "attention_backward", [&](Value part) {
    withScratch(scratch, [&](ArrayRef<Value> own) {
      forShares(part, [&](Value share, Value n, Value chunk) {
        auto [firstBlock, endBlock] = costShare(g.t, B, share, n, /*wholeSamples=*/true);
        backwardRows(op, a, rab, firstBlock, endBlock, own, /*columnGrads=*/true, chunk);
      });
    });
  });
  b.setInsertionPointAfter(way);
  if (!rab)
    return;
  // dP, dT: the chunks' partial sums in chunk order.
  auto sumChunks = [&](Value total, Value partial) {
    int64_t n = cast<MemRefType>(total.getType()).getDimSize(0);
    loop(idx(0), idx(n), [&](Value i) {
      Value sum = loopAcc(idx(0), idx(chunks), cf32(0.0), [&](Value c, Value acc) {
        return fadd(acc, load(partial, {c, i}));
      });
      store(sum, total, {i});
    });
  };
  sumChunks(g.dP, g.dPChunks);
  sumChunks(g.dT, g.dTChunks);
}

void AttentionEmitter::columnList(const LayoutBuffers &l, const TileListBuffers &t,
                                  Value panelStart, Value colStart, Value colEntries) {
  // A counting sort of the list's entries by panel; the list is in row
  // block order, so each panel's entries are too.
  auto forEachListed = [&](function_ref<void(Value block, Value entry, Value panel)> body) {
    loop(idx(0), samples(l), [&](Value s) {
      Value firstPanel = load(panelStart, {s});
      loop(load(t.blockStart, {s}), load(t.blockStart, {add(s, idx(1))}), [&](Value block) {
        loop(load(t.tileStart, {block}), load(t.tileStart, {add(block, idx(1))}), [&](Value e) {
          Value column = arith::ShRUIOp::create(b, toIndex(load(t.tiles, {e})), idx(2));
          body(block, e, add(firstPanel, column));
        });
      });
    });
  };
  Value panels = load(panelStart, {samples(l)});
  fill(colStart, idx(0));
  forEachListed([&](Value, Value, Value panel) {
    Value at = add(panel, idx(1));
    store(add(load(colStart, {at}), idx(1)), colStart, {at});
  });
  loop(idx(0), panels, [&](Value p) {
    Value at = add(p, idx(1));
    store(add(load(colStart, {at}), load(colStart, {p})), colStart, {at});
  });
  // colStart[p] serves as panel p's cursor (ending at colStart[p + 1]),
  // then the starts move back one place.
  forEachListed([&](Value block, Value e, Value panel) {
    Value i = load(colStart, {panel});
    store(block, colEntries, {i, idx(0)});
    store(e, colEntries, {i, idx(1)});
    store(add(i, idx(1)), colStart, {panel});
  });
  loop(idx(0), panels, [&](Value i) {
    Value p = sub(panels, i);
    store(load(colStart, {sub(p, idx(1))}), colStart, {p});
  });
  store(idx(0), colStart, {idx(0)});
}

void AttentionEmitter::backwardRows(HstuAttentionBackwardOp op, ValueRange a, bool rab,
                                    Value firstBlock, Value endBlock, ArrayRef<Value> own,
                                    bool columnGrads, Value chunk) {
  int64_t width = headDims(op)[0] * headDims(op)[1];
  BackwardArgs g(KernelArgs{a}, rab);
  Value dqAcc = own[0], inv = own[3];
  std::array<int64_t, 3> dims = headDims(op);
  forEachTile(
      g.l, g.t, g.panelStart,
      [&](Block &blk) {
        fill(dqAcc, cf32(0.0));
        inverseNorms(blk, inv, g.mask, op.getNNorm(), op.getNNormConstant());
        packRowBlocks(*this, g, blk, own, dims);
      },
      [&](Block &blk, Tile &tile) {
        tileGradients(op, a, rab, blk, tile, own, /*rowGrads=*/true, columnGrads, chunk);
      },
      [&](Block &blk) {
        loop(idx(0), minI(idx(BR), sub(blk.n, blk.r0)), [&](Value r) {
          Value row = add(blk.start, add(blk.r0, r));
          loop(idx(0), idx(width), [&](Value c) { store(load(dqAcc, {r, c}), g.dq, {row, c}); });
        });
      },
      firstBlock, endBlock);
}

void AttentionEmitter::backwardColumns(HstuAttentionBackwardOp op, ValueRange a, bool rab,
                                       Value firstPanel, Value endPanel, ArrayRef<Value> own,
                                       Value chunk) {
  BackwardArgs g(KernelArgs{a}, rab);
  Value B = samples(g.l);
  loop(firstPanel, endPanel, [&](Value panel) {
    loop(load(g.colStart, {panel}), load(g.colStart, {add(panel, idx(1))}), [&](Value i) {
      Value block = load(g.colEntries, {i, idx(0)}), e = load(g.colEntries, {i, idx(1)});
      Value s = lastAtOrBelow(g.t.blockStart, B, block);
      Block blk = blockAt(g.l, s, sub(block, load(g.t.blockStart, {s})));
      Tile tile = tileOf(toIndex(load(g.t.tiles, {e})), g.panelStart, blk);
      inverseNorms(blk, own[3], g.mask, op.getNNorm(), op.getNNormConstant());
      packRowBlocks(*this, g, blk, own, headDims(op));
      tileGradients(op, a, rab, blk, tile, own, /*rowGrads=*/false, /*columnGrads=*/true, chunk);
    });
  });
}

void AttentionEmitter::tileGradients(HstuAttentionBackwardOp op, ValueRange a, bool rab, Block &blk,
                                     Tile &tile, ArrayRef<Value> own, bool rowGrads,
                                     bool columnGrads, Value chunk) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  double alphaValue = op.getAlpha().convertToDouble();
  BackwardArgs g(KernelArgs{a}, rab);
  Value dqAcc = own[0], weights = own[1], dScores = own[2], inv = own[3];
  Value qBlock = own[4], dOBlock = own[5];
  // The bias's gradient goes with the columns' (dsSum: the pairs' dS
  // summed over the heads, scattered into the chunk's dP, dT).
  Value bias = rab ? own[6] : Value(), dsSum = rab && columnGrads ? own[7] : Value();
  // Whole-width tiles only (half ones have their empty half masked out):
  // the gradient's body is large, one variant of it is enough.
  TW = BC;
  VectorType vt = vec(TW, f32());
  Value alpha = splat(vt, cf32(alphaValue));
  Value zero = splat(vt, cf32(0.0)), one = splat(vt, cf32(1.0));
  Value last = sub(blk.end, idx(1));
  // Rows past the sample's end must not reach dK, dV.
  TileView view = tileMasks(blk, tile, g.mask, /*rowsMustExist=*/true);
  ArrayRef<Value> seen = view.seen;
  if (bias)
    biasTile(bias, g.l, g.rabPos, g.rabTime, blk.rows, tile.col0, last);
  if (dsSum)
    fill(dsSum, cf32(0.0));
  Value columnsEnd = minI(view.end, sub(blk.n, tile.c0)); // dK, dV rows exist
  loop(idx(0), idx(h), [&](Value head) {
    Value qOff = mul(head, idx(dqk)), vOff = mul(head, idx(dv));
    // The scores' part first, into the scratch (a, and silu'(s) in
    // dScores until dA is known): live across dA's product they spilled
    // (16 + 16 accumulators in 32 registers).
    SmallVector<Value> scores = tileProduct(qBlock, idx(0), BR, g.kPanels, tile.panel, qOff, dqk);
    for (int64_t r = 0; r < BR; ++r) {
      Value s = arith::MulFOp::create(b, alpha, scores[r], fast());
      if (bias)
        s = arith::AddFOp::create(b, s, vload(vt, bias, {idx(r), idx(0)}), fast());
      Value sig = sigmoid(s);
      // silu'(s) = sig (1 + s (1 - sig))
      vstore(fmul(sig, fadd(one, fmul(s, fsub(one, sig)))), dScores, {idx(r), idx(0)});
      if (columnGrads) {
        Value a = fmul(fmul(s, sig), splat(vt, load(inv, {idx(r)})));
        vstore(select(seen[r], a, zero), weights, {idx(r), idx(0)});
      }
    }
    SmallVector<Value> dA = tileProduct(dOBlock, idx(0), BR, g.vPanels, tile.panel, vOff, dv);
    for (int64_t r = 0; r < BR; ++r) {
      // ds = dA silu'(s) / n_norm
      Value grad = vload(vt, dScores, {idx(r), idx(0)}), invNorm = splat(vt, load(inv, {idx(r)}));
      Value ds = select(seen[r], fmul(fmul(dA[r], grad), invNorm), zero);
      vstore(fmul(alpha, ds), dScores, {idx(r), idx(0)});
      if (dsSum) // the bias is shared by the heads: its gradient sums them
        vstore(fadd(vload(vt, dsSum, {idx(r), idx(0)}), ds), dsSum, {idx(r), idx(0)});
    }
    // dV_j += a_ij dO_i; dK_j += alpha ds_ij Q_i; dQ_i += alpha ds_ij K_j
    if (columnGrads) {
      accumulateColumns(g.dv, weights, g.dO, blk.rows, vOff, dv, tile.col0, view.first, columnsEnd);
      accumulateColumns(g.dk, dScores, g.q, blk.rows, qOff, dqk, tile.col0, view.first, columnsEnd);
    }
    if (rowGrads)
      accumulateRows(BR, dqAcc, idx(0), qOff, dScores, idx(0), g.k, qOff, dqk, idx(1), [&](Value) {
        return Span{tile.col0, view.first, view.end};
      });
  });
  if (dsSum) {
    loop(idx(0), minI(idx(BR), sub(blk.n, blk.r0)), [&](Value r) {
      Value row = add(blk.start, add(blk.r0, r));
      Value gi = load(g.l.group, {row}), ti = load(g.l.time, {row}), pi = load(g.l.pos, {row});
      loop(view.first, columnsEnd, [&](Value j) {
        Rab rab = rabTerms(g.l, g.rabPos, g.rabTime, gi, ti, pi, add(tile.col0, j));
        Value grad = load(dsSum, {r, j});
        store(fadd(load(g.dPChunks, {chunk, rab.posIndex}), grad), g.dPChunks,
              {chunk, rab.posIndex});
        Value old = load(g.dTChunks, {chunk, rab.bucket});
        store(select(rab.bothTimed, fadd(old, grad), old), g.dTChunks, {chunk, rab.bucket});
      });
    });
  }
}
