//===- Gemm.cpp - packed, register-tiled matrix products ------------------===//
#include "codegen/cpu/Gemm.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::mtgr;

Value mlir::mtgr::loadLanes(LoopBuilder &l, VectorType t, Value mem, ValueRange at, Value mask) {
  if (!mask)
    return vector::LoadOp::create(l.b, t, mem, at);
  Value zero = arith::ConstantOp::create(l.b, DenseElementsAttr::get(t, l.b.getF32FloatAttr(0.0)));
  return vector::MaskedLoadOp::create(l.b, t, mem, at, mask, zero);
}

void mlir::mtgr::storeLanes(LoopBuilder &l, Value v, Value mem, ValueRange at, Value mask) {
  if (!mask)
    vector::StoreOp::create(l.b, v, mem, at);
  else
    vector::MaskedStoreOp::create(l.b, mem, at, mask, v);
}

SmallVector<Value> mlir::mtgr::transposeSquare(OpBuilder &b, ArrayRef<Value> rows) {
  // Butterfly stages: at distance d, rows i and i + d (bit d of i clear)
  // swap their off-diagonal d x d blocks, one two-source shuffle per row
  // (one instruction with AVX-512's vpermt2ps). log2(L) stages swap every
  // bit of (row, column): the transpose.
  int64_t L = static_cast<int64_t>(rows.size());
  SmallVector<Value> x(rows.begin(), rows.end());
  for (int64_t d = 1; d < L; d *= 2) {
    SmallVector<int64_t> low(L), high(L);
    for (int64_t p = 0; p < L; ++p) {
      bool set = (p & d) != 0;
      low[p] = set ? L + p - d : p;  // row i: its own, then row i + d's
      high[p] = set ? L + p : p + d; // row i + d: row i's, then its own
    }
    for (int64_t i = 0; i < L; ++i) {
      if (i & d)
        continue;
      Value a = x[i], c = x[i + d];
      x[i] = vector::ShuffleOp::create(b, a.getLoc(), a, c, low);
      x[i + d] = vector::ShuffleOp::create(b, a.getLoc(), a, c, high);
    }
  }
  return x;
}

void mlir::mtgr::packSquares(LoopBuilder &l, Value src, ArrayRef<Value> rows,
                             ArrayRef<Value> inside, Value packed, Value panel, int64_t lane0,
                             int64_t chunks) {
  int64_t L = static_cast<int64_t>(rows.size());
  auto t = VectorType::get({L}, l.f32());
  Value zero = arith::ConstantOp::create(l.b, DenseElementsAttr::get(t, l.b.getF32FloatAttr(0.0)));
  l.loop(l.idx(0), l.idx(chunks), [&](Value chunk) {
    Value k0 = l.mul(chunk, l.idx(L));
    SmallVector<Value> square;
    for (int64_t i = 0; i < L; ++i) {
      Value row = vector::LoadOp::create(l.b, t, src, ValueRange{rows[i], k0});
      square.push_back(inside[i] ? l.select(inside[i], row, zero) : row);
    }
    SmallVector<Value> columns = transposeSquare(l.b, square);
    for (int64_t c = 0; c < L; ++c)
      vector::StoreOp::create(l.b, columns[c], packed,
                              ValueRange{panel, l.add(k0, l.idx(c)), l.idx(lane0)});
  });
}

namespace {

/// One call's loops: packing, blocking, the micro-kernel.
struct GemmBuilder {
  LoopBuilder &l;
  const GemmTiles &t;
  const GemmProblem &p;
  int64_t MR, NR, panels;
  VectorType vec;

  GemmBuilder(LoopBuilder &l, const GemmTiles &t, const GemmProblem &p)
      : l(l), t(t), p(p), MR(t.rows), NR(t.columns()), panels((p.n + NR - 1) / NR),
        vec(VectorType::get({t.lanes}, l.f32())) {}

  Value zeros() {
    return arith::ConstantOp::create(l.b, DenseElementsAttr::get(vec, l.b.getF32FloatAttr(0.0)));
  }
  /// The lanes of column `col` onwards inside N (null when every panel is
  /// full: N % NR == 0; otherwise a vector may lie partly or wholly past N).
  Value laneMask(Value col) {
    if (p.n % NR == 0)
      return {};
    auto maskType = VectorType::get({t.lanes}, l.b.getI1Type());
    return vector::CreateMaskOp::create(l.b, maskType, ValueRange{l.sub(l.idx(p.n), col)});
  }

  /// packed[q, kk - k0, j] = B[kk, q NR + j] for panels q in [q0, q1)
  /// (default: all) and kk in [k0, k1), zeros past column N. A weight (static
  /// K) is packed by all threads, each its share of the panels: the pack is a
  /// fixed cost per call, large against a request of a few hundred rows
  /// (measured 2026-12-05, MTGR-small, 2 threads: score_candidates' 612 rows
  /// 37 -> 31 ms of projections, forward 80 -> 72; compile +6%, the artifact
  /// +14%). A dynamic K block (training's activation products) too, before
  /// the block's products.
  void packB(Value packed, Value k0, Value k1, Value q0 = {}, Value q1 = {}, Value rowBase = {}) {
    l.loop(q0 ? q0 : l.idx(0), q1 ? q1 : l.idx(panels), [&](Value q) {
      Value col0 = l.mul(q, l.idx(NR));
      l.loop(k0, k1, [&](Value kk) {
        Value row = l.sub(kk, rowBase ? rowBase : k0);
        if (p.bRowMajor) { // a panel's row: vectors of B's row, zeros past N
          for (int64_t v = 0; v < t.vectors; ++v) {
            Value col = l.add(col0, l.idx(v * t.lanes));
            bool inside = (panels - 1) * NR + (v + 1) * t.lanes <= p.n; // in every panel
            Value values =
                loadLanes(l, vec, p.bRowMajor, {kk, col}, inside ? Value() : laneMask(col));
            vector::StoreOp::create(l.b, values, packed, ValueRange{q, row, l.idx(v * t.lanes)});
          }
          return;
        }
        for (int64_t j = 0; j < NR; ++j) {
          Value col = l.add(col0, l.idx(j));
          if ((panels - 1) * NR + j < p.n) { // every panel has this column
            l.store(p.b(l, kk, col), packed, {q, row, l.idx(j)});
            continue;
          }
          Value inside = l.cmp(arith::CmpIPredicate::slt, col, l.idx(p.n));
          auto choice = scf::IfOp::create(l.b, TypeRange{l.f32()}, inside, true);
          OpBuilder::InsertionGuard guard(l.b);
          l.b.setInsertionPointToStart(&choice.getThenRegion().front());
          scf::YieldOp::create(l.b, p.b(l, kk, col));
          l.b.setInsertionPointToStart(&choice.getElseRegion().front());
          scf::YieldOp::create(l.b, l.cf32(0.0));
          l.b.setInsertionPointAfter(choice);
          l.store(choice.getResult(0), packed, {q, row, l.idx(j)});
        }
      });
    });
  }

  /// Whether packTransposed packs this problem's B: a transposed buffer, a
  /// static K, panels of whole squares.
  bool packsSquares() const {
    int64_t L = t.lanes;
    return p.bTransposed && p.k >= 0 && L >= 2 && llvm::isPowerOf2_64(L) && NR % L == 0;
  }
  /// packB for B = bTransposed^T (static K), panels [q0, q1): each L-lane
  /// slice of a panel (L = lanes) takes L rows of the buffer (zeros past
  /// row N) in chunks of L floats of K, transposed in registers; the last
  /// K % L rows of the panel element by element. Element by element the
  /// pack of MTGR-small's weights was 21% of one request's forward on one
  /// thread (znver4, 2026-12-06).
  void packTransposed(Value packed, Value q0, Value q1) {
    int64_t L = t.lanes, vectorK = p.k / L * L;
    Value last = l.idx(p.n - 1);
    l.loop(q0, q1, [&](Value q) {
      Value col0 = l.mul(q, l.idx(NR));
      for (int64_t sq = 0; sq < NR / L; ++sq) {
        SmallVector<Value> cols, inside;
        for (int64_t i = 0; i < L; ++i) {
          Value col = l.add(col0, l.idx(sq * L + i));
          bool always = (panels - 1) * NR + sq * L + i < p.n; // every panel has it
          inside.push_back(always ? Value() : l.cmp(arith::CmpIPredicate::slt, col, l.idx(p.n)));
          cols.push_back(always ? col : l.minI(col, last));
        }
        packSquares(l, p.bTransposed, cols, inside, packed, q, sq * L, vectorK / L);
      }
    });
    if (vectorK < p.k)
      packB(packed, l.idx(vectorK), l.idx(p.k), q0, q1, l.idx(0));
  }

  /// The rows of a block: r0 + i, clamped to M - 1 (the real ones: r0 + i < M).
  SmallVector<Value> blockRows(Value r0) {
    Value last = l.sub(p.m, l.idx(1));
    SmallVector<Value> rows;
    for (int64_t i = 0; i < MR; ++i)
      rows.push_back(l.minI(l.add(r0, l.idx(i)), last));
    return rows;
  }

  /// C[rows, col0 .. col0 + NR) (+)= A[rows, k0 .. k1) B[k0 .. k1, same]:
  /// the register tile, B from `packed` panel `q` (row kk at kk - kBase),
  /// A's row i of the block at kk from aAt(i, kk, kk - kBase).
  void microKernel(ArrayRef<Value> rows, Value r0, Value packed, Value q, Value col0, Value k0,
                   Value k1, Value kBase,
                   function_ref<Value(int64_t i, Value kk, Value kRow)> aAt) {
    SmallVector<Value> masks, init;
    for (int64_t v = 0; v < t.vectors; ++v)
      masks.push_back(laneMask(l.add(col0, l.idx(v * t.lanes))));
    for (int64_t i = 0; i < MR; ++i)
      for (int64_t v = 0; v < t.vectors; ++v)
        init.push_back(p.accumulateInto
                           ? loadLanes(l, vec, p.accumulateInto,
                                       {rows[i], l.add(col0, l.idx(v * t.lanes))}, masks[v])
                           : zeros());
    if (p.prefetch && !p.accumulateInto)
      for (int64_t i = 0; i < MR; ++i)
        for (int64_t c = 0; c < NR && (c == 0 || (panels - 1) * NR + c < p.n); c += 16)
          p.prefetch(l, rows[i], l.add(col0, l.idx(c)));
    auto loop = scf::ForOp::create(l.b, k0, k1, l.idx(1), init);
    {
      OpBuilder::InsertionGuard guard(l.b);
      l.b.setInsertionPointToStart(loop.getBody());
      Value kk = loop.getInductionVar();
      Value kRow = l.sub(kk, kBase);
      SmallVector<Value> bs, next;
      for (int64_t v = 0; v < t.vectors; ++v)
        bs.push_back(vector::LoadOp::create(l.b, vec, packed, ValueRange{q, kRow, l.idx(v * t.lanes)}));
      for (int64_t i = 0; i < MR; ++i) {
        Value splat = vector::BroadcastOp::create(l.b, vec, aAt(i, kk, kRow));
        for (int64_t v = 0; v < t.vectors; ++v)
          next.push_back(
              vector::FMAOp::create(l.b, splat, bs[v], loop.getRegionIterArgs()[i * t.vectors + v]));
      }
      scf::YieldOp::create(l.b, next);
    }
    for (int64_t i = 0; i < MR; ++i) {
      auto body = [&] {
        for (int64_t v = 0; v < t.vectors; ++v) {
          Value col = l.add(col0, l.idx(v * t.lanes));
          Value acc = loop.getResult(i * t.vectors + v);
          if (p.accumulateInto)
            storeLanes(l, acc, p.accumulateInto, {rows[i], col}, masks[v]);
          else
            p.store(l, rows[i], col, acc, masks[v]);
        }
      };
      if (i == 0)
        body(); // a block's first row always exists
      else
        l.ifThen(l.cmp(arith::CmpIPredicate::slt, l.add(r0, l.idx(i)), p.m), body);
    }
  }
  /// aBlocks[blk - firstBlock, kk - k0, i] = A[blk MR + i, kk] for the
  /// row blocks [firstBlock, endBlock) and kk in [k0, k1) (rows clamped to
  /// M - 1, as blockRows): k by k, each k's values of all the blocks,
  /// adjacent floats of one row of a weight gradient's dy. Each k is a row
  /// of dy further (a new page for d_model 256's uvqk), where the hardware's
  /// prefetchers do not follow: with p.prefetchA the lines of the k 16 on
  /// are asked for (single-block copies without it: ~14% of the dW
  /// kernel's samples in the copy; ranges with it: ~10%).
  void copyA(Value firstBlock, Value endBlock, Value k0, Value k1, Value aBlocks) {
    int64_t rangeRows = cast<MemRefType>(aBlocks.getType()).getDimSize(0) * MR;
    Value r0 = l.mul(firstBlock, l.idx(MR));
    Value rLast = l.sub(l.minI(l.mul(endBlock, l.idx(MR)), p.m), l.idx(1));
    l.loop(k0, k1, [&](Value kk) {
      if (p.prefetchA) {
        Value ahead = l.minI(l.add(kk, l.idx(16)), l.sub(k1, l.idx(1)));
        for (int64_t r = 0; r < rangeRows; r += 16)
          p.prefetchA(l, l.minI(l.add(r0, l.idx(r)), rLast), ahead);
      }
      l.loop(firstBlock, endBlock, [&](Value blk) {
        SmallVector<Value> rows = blockRows(l.mul(blk, l.idx(MR)));
        for (int64_t i = 0; i < MR; ++i)
          l.store(p.a(l, rows[i], kk), aBlocks, {l.sub(blk, firstBlock), l.sub(kk, k0), l.idx(i)});
      });
    });
  }
  /// Row blocks [firstBlock, endBlock) of C over panels [first, first +
  /// count) of `packed`. A from p.a, or with a prologue from `aPacked` [MC,
  /// K] (the rows of the current row range from `aBase` on), or from
  /// copyA's `aBlocks` (a dynamic K: block firstBlock + s in slot s, k from
  /// kBase). With `blockDone`, rowsDone has each block's rows right after
  /// its panels (the caller's group is all of them).
  void rowBlocks(Value firstBlock, Value endBlock, Value packed, Value first, Value count, Value k0,
                 Value k1, Value kBase, Value aPacked, Value aBase, bool blockDone = false,
                 Value aBlocks = {}) {
    l.loop(firstBlock, endBlock, [&](Value blk) {
      Value r0 = l.mul(blk, l.idx(MR));
      SmallVector<Value> rows = blockRows(r0);
      // Where the block's A lies, computed before its K loops.
      Value slot = aBlocks ? l.sub(blk, firstBlock) : Value();
      SmallVector<Value> slots; // rows of aPacked
      if (aPacked)
        for (int64_t i = 0; i < MR; ++i)
          slots.push_back(l.add(l.sub(r0, aBase), l.idx(i)));
      auto aAt = [&](int64_t i, Value kk, Value kRow) {
        if (aBlocks)
          return l.load(aBlocks, {slot, kRow, l.idx(i)});
        if (aPacked)
          return l.load(aPacked, {slots[i], kk});
        return p.a(l, rows[i], kk);
      };
      l.loop(first, l.add(first, count), [&](Value q) {
        microKernel(rows, r0, packed, q, l.mul(q, l.idx(NR)), k0, k1, kBase, aAt);
      });
      if (blockDone)
        p.rowsDone(l, r0, l.minI(l.add(r0, l.idx(MR)), p.m));
    });
  }

  void build() {
    // Threads split the row blocks evenly (every block costs the same: MR
    // rows x N x K): each thread runs its blocks start to end, so a row's
    // result never depends on the thread count.
    Value blocks = arith::CeilDivUIOp::create(l.b, p.m, l.idx(MR));
    Value parts = l.threads();
    if (p.k < 0) {
      // Dynamic K: blocks of kBlock, B packed per block, C accumulated.
      Value packed = l.allocStatic(l.f32(), {panels, t.kBlock, NR});
      auto kBlocks = scf::ForOp::create(l.b, l.idx(0), p.kDynamic, l.idx(t.kBlock));
      OpBuilder::InsertionGuard guard(l.b);
      l.b.setInsertionPointToStart(kBlocks.getBody());
      Value k0 = kBlocks.getInductionVar();
      Value k1 = l.minI(l.add(k0, l.idx(t.kBlock)), p.kDynamic);
      l.parallelParts(parts, "pack", [&](Value part) {
        auto [q0, q1] = l.evenShare(l.idx(panels), part, parts);
        packB(packed, k0, k1, q0, q1);
      });
      // A (a weight gradient's dy, read down its columns: each k a row of
      // dy further) is copied per range of RB row blocks into [RB, kBlock,
      // MR] (RB: an eighth of the L2; copyA) before the blocks' panels:
      // the micro-kernel's broadcasts then come from adjacent floats, and
      // the strided reads happen once per range, not once per panel. Read in place, consecutive k lay 4 KiB
      // apart for d_model 256's uvqk (1,024 columns of dy), every k of a
      // block in one L1 set. Train step, train-d256 (bench/peers' batch,
      // znver3, 3 A/B rounds, copies per single block): best 166-175 ->
      // 162-163 ms on 1 thread, 90-93 -> 87-90 on 2; MTGR-small 1.088-1.097
      // -> 1.034-1.060 s; d_model 64 even. Ranges of 10 blocks ran as single
      // blocks, within noise. The sums are unchanged (the same products in
      // the same order): the gradients are bit for bit those of A in place.
      int64_t RB = std::clamp<int64_t>(t.l2Bytes / 8 / (t.kBlock * MR * 4), 1, 16);
      l.parallelParts(parts, "gemm", [&](Value part) {
        auto [lo, hi] = l.evenShare(blocks, part, parts);
        l.withScratch({{l.f32(), {RB, t.kBlock, MR}}}, [&](ArrayRef<Value> scratch) {
          auto ranges = scf::ForOp::create(l.b, lo, hi, l.idx(RB));
          OpBuilder::InsertionGuard guard(l.b);
          l.b.setInsertionPointToStart(ranges.getBody());
          Value first = ranges.getInductionVar(), end = l.minI(l.add(first, l.idx(RB)), hi);
          copyA(first, end, k0, k1, scratch[0]);
          rowBlocks(first, end, packed, l.idx(0), l.idx(panels), k0, k1, k0, Value(), Value(),
                    /*blockDone=*/false, scratch[0]);
        });
      });
      return;
    }
    // Static K: B packed once; the panels a row block visits grouped to fit
    // half the L2 (the block's A rows stay in L1 across a group).
    int64_t group = std::clamp<int64_t>(t.l2Bytes / 2 / std::max<int64_t>(1, p.k * NR * 4), 1, panels);
    Value packed = l.allocStatic(l.f32(), {panels, p.k, NR});
    l.parallelParts(parts, "pack", [&](Value part) {
      auto [q0, q1] = l.evenShare(l.idx(panels), part, parts);
      if (packsSquares())
        packTransposed(packed, q0, q1);
      else
        packB(packed, l.idx(0), l.idx(p.k), q0, q1);
    });
    auto overGroups = [&](Value firstBlock, Value endBlock, Value aPacked, Value aBase) {
      auto groups = scf::ForOp::create(l.b, l.idx(0), l.idx(panels), l.idx(group));
      OpBuilder::InsertionGuard guard(l.b);
      l.b.setInsertionPointToStart(groups.getBody());
      Value first = groups.getInductionVar();
      Value count = l.minI(l.idx(group), l.sub(l.idx(panels), first));
      rowBlocks(firstBlock, endBlock, packed, first, count, l.idx(0), l.idx(p.k), l.idx(0), aPacked,
                aBase, /*blockDone=*/p.rowsDone && group == panels);
    };
    l.parallelParts(parts, "gemm", [&](Value part) {
      std::pair<Value, Value> share = l.evenShare(blocks, part, parts);
      Value lo = share.first, hi = share.second;
      if (!p.packA) {
        overGroups(lo, hi, Value(), Value());
        // Several panel groups: a row is final only after the last one has
        // gone over all of the thread's rows. (Ranges of rows, each through
        // every group, keep them in L2 but stream the groups' panels in
        // again per range: with d_model 256's uvqk backward, 2 groups of
        // 512 KiB, the train step ran 3-6% slower in three A/B rounds,
        // znver4, 2026-12-07; this order measured even with the unfused.)
        if (p.rowsDone && group < panels)
          p.rowsDone(l, l.mul(lo, l.idx(MR)), l.minI(l.mul(hi, l.idx(MR)), p.m));
        return;
      }
      // A prologue: the thread's rows in ranges of MC (a quarter of the L2),
      // each row's prologue run once into its own aPacked, then every panel
      // group over them.
      int64_t mcBlocks = std::max<int64_t>(1, t.l2Bytes / 4 / (p.k * 4 * MR));
      int64_t MC = mcBlocks * MR;
      l.withScratch({{l.f32(), {MC, p.k}}}, [&](ArrayRef<Value> scratch) {
        Value aPacked = scratch[0];
        auto ranges = scf::ForOp::create(l.b, lo, hi, l.idx(mcBlocks));
        OpBuilder::InsertionGuard guard(l.b);
        l.b.setInsertionPointToStart(ranges.getBody());
        Value firstBlock = ranges.getInductionVar();
        Value endBlock = l.minI(l.add(firstBlock, l.idx(mcBlocks)), hi);
        Value aBase = l.mul(firstBlock, l.idx(MR));
        Value last = l.sub(p.m, l.idx(1));
        l.loop(l.idx(0), l.mul(l.sub(endBlock, firstBlock), l.idx(MR)), [&](Value slot) {
          p.packA(l, l.minI(l.add(aBase, slot), last), aPacked, slot);
        });
        overGroups(firstBlock, endBlock, aPacked, aBase);
        if (p.rowsDone && group < panels)
          p.rowsDone(l, aBase, l.minI(l.mul(endBlock, l.idx(MR)), p.m));
      });
    });
  }
};
} // namespace

void mlir::mtgr::buildGemm(LoopBuilder &l, const GemmTiles &tiles, const GemmProblem &p) {
  assert((p.k >= 0 || p.accumulateInto) && "a dynamic K accumulates into C");
  assert((p.b || p.bRowMajor) && "B is read by p.b or lies in p.bRowMajor");
  assert((p.k >= 0 || (!p.packA && !p.rowsDone && !p.prefetch)) &&
         "prologues, prefetches and rowsDone need a static K");
  GemmBuilder(l, tiles, p).build();
}
