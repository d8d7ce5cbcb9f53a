//===- AttentionMath.cpp - the attention's math and masks, for every back end -===//
#include "codegen/common/AttentionMath.h"

using namespace mlir;
using namespace mlir::mtgr;

RabTerms mlir::mtgr::rabTerms(LoopBuilder &l, const LayoutBuffers &layout, Value rabPos,
                              Value rabTime, Value gi, Value ti, Value pi, Value col) {
  ImplicitLocOpBuilder &b = l.b;
  int64_t pmax = (cast<MemRefType>(rabPos.getType()).getDimSize(0) - 1) / 2;
  int64_t nb = cast<MemRefType>(rabTime.getType()).getDimSize(0);
  RabTerms r;
  Value dpos = l.maxI(l.minI(l.sub(l.load(layout.pos, {col}), pi), l.idx(pmax)), l.idx(-pmax));
  r.posIndex = l.add(dpos, l.idx(pmax));
  // |t_i - t_j| as max(d, -d): every back end's conversion knows arith.
  Value d = arith::SubIOp::create(b, ti, l.load(layout.time, {col}));
  Value dt = arith::MaxSIOp::create(b, d, arith::SubIOp::create(b, l.ci64(0), d));
  Value one = arith::ConstantIntOp::create(b, l.i64(), 1);
  Value lg = math::LogOp::create(
      b, arith::SIToFPOp::create(b, l.f64(), arith::MaxSIOp::create(b, dt, one)));
  Value bucketF = math::FloorOp::create(b, arith::DivFOp::create(b, lg, l.cf64(0.301)));
  r.bucket = l.minI(arith::IndexCastOp::create(b, b.getIndexType(),
                                               arith::FPToSIOp::create(b, l.i64(), bucketF)),
                    l.idx(nb - 1));
  r.bothTimed =
      arith::AndIOp::create(b, l.cmp(arith::CmpIPredicate::ne, gi, l.idx(0)),
                            l.cmp(arith::CmpIPredicate::ne, l.load(layout.group, {col}), l.idx(0)));
  r.bias = arith::AddFOp::create(b, l.load(rabPos, {r.posIndex}),
                                 l.select(r.bothTimed, l.load(rabTime, {r.bucket}), l.cf32(0.0)));
  return r;
}

Value mlir::mtgr::attentionNorm(LoopBuilder &l, NNorm mode, std::optional<APFloat> constant,
                                Value mask, Value row, Value start, Value end) {
  if (mode == NNorm::total)
    return l.toF32(l.sub(end, start));
  if (mode == NNorm::constant)
    return l.cf32(constant->convertToDouble());
  Value cols = l.idx(0);
  for (int k = 0; k < 3; ++k) {
    Value lo = l.toIndex(l.load(mask, {row, l.idx(k), l.idx(0)}));
    Value hi = l.toIndex(l.load(mask, {row, l.idx(k), l.idx(1)}));
    cols = l.add(cols, l.sub(hi, lo));
  }
  return l.toF32(cols);
}

Value mlir::mtgr::visiblePairs(LoopBuilder &l, Value mask, Value start, Value r0, Value r1,
                               Value c0, Value c1) {
  return l.loopAcc(r0, r1, l.idx(0), [&](Value r, Value acc) {
    for (int k = 0; k < 3; ++k) {
      Value lo = l.toIndex(l.load(mask, {l.add(start, r), l.idx(k), l.idx(0)}));
      Value hi = l.toIndex(l.load(mask, {l.add(start, r), l.idx(k), l.idx(1)}));
      Value overlap = l.sub(l.minI(hi, c1), l.maxI(lo, c0));
      acc = l.add(acc, l.maxI(overlap, l.idx(0)));
    }
    return acc;
  });
}

Value mlir::mtgr::columnVisible(LoopBuilder &l, Value mask, Value row, Value j) {
  Value seen;
  for (int k = 0; k < 3; ++k) {
    Value lo = l.toIndex(l.load(mask, {row, l.idx(k), l.idx(0)}));
    Value hi = l.toIndex(l.load(mask, {row, l.idx(k), l.idx(1)}));
    Value in = arith::AndIOp::create(l.b, l.cmp(arith::CmpIPredicate::sle, lo, j),
                                     l.cmp(arith::CmpIPredicate::slt, j, hi));
    seen = seen ? arith::OrIOp::create(l.b, seen, in).getResult() : in;
  }
  return seen;
}

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

/// Per row, at most 3 column intervals (DESIGN 1.5); a thread (or loop
/// iteration) per sample. `suffixRows`: U and S rows get none (their
/// attention is encode_prefix's, passes/SplitPrefix.cpp).
Value buildMask(LoopBuilder &l, MaskKind kind, const LayoutBuffers &lay, bool suffixRows) {
  ImplicitLocOpBuilder &b = l.b;
  Value B = l.samples(lay);
  Value N = l.load(lay.offsets, {B});
  Value m = l.alloc(b.getI32Type(), {3, 2}, N);
  l.forEach(B, [&](Value s) {
    Value start = l.load(lay.segStarts, {s, l.idx(0)});
    Value nU = l.sub(l.load(lay.segStarts, {s, l.idx(1)}), start);
    Value rStart = l.sub(l.load(lay.segStarts, {s, l.idx(2)}), start); // local
    Value cStart = l.sub(l.load(lay.segStarts, {s, l.idx(3)}), start); // local = P
    Value end = l.load(lay.offsets, {l.add(s, l.idx(1))});
    l.loop(start, end, [&](Value row) {
      Value i = l.sub(row, start);
      Value g = l.load(lay.group, {row});
      Value isC = l.cmp(arith::CmpIPredicate::eq, g, l.idx(3));
      Value isR = l.cmp(arith::CmpIPredicate::eq, g, l.idx(2));
      Value isU = l.cmp(arith::CmpIPredicate::eq, g, l.idx(0));
      Value iPlus1 = l.add(i, l.idx(1)), zero = l.idx(0), P = cStart;
      Value iv[6];
      switch (kind) {
      case MaskKind::causal:
        iv[0] = zero, iv[1] = iPlus1, iv[2] = iv[3] = iv[4] = iv[5] = zero;
        break;
      case MaskKind::causal_targets:
        iv[0] = zero, iv[1] = l.select(isC, P, iPlus1);
        iv[2] = l.select(isC, i, zero), iv[3] = l.select(isC, iPlus1, zero);
        iv[4] = iv[5] = zero;
        break;
      case MaskKind::contextual:
        // U rows: [0, P). S, R rows: [0, nU) and [nU, i + 1). C: [0, P), [i, i + 1).
        iv[0] = zero;
        iv[1] = l.select(isC, P, l.select(isU, P, nU));
        iv[2] = l.select(isC, i, l.select(isU, zero, nU));
        iv[3] = l.select(isC, iPlus1, l.select(isU, zero, iPlus1));
        iv[4] = iv[5] = zero;
        break;
      default: { // dynamic
        // U, S: [0, nU + nS). R_i: also R_j with t_j <= t_i. C_i: R_j with
        // t_j < t_i, and itself.
        Value t = l.load(lay.time, {row});
        Value rowsR = l.loopAcc(l.add(start, rStart), l.add(start, P), l.idx(0),
                                [&](Value j, Value acc) {
                                  Value tj = l.load(lay.time, {j});
                                  Value seen =
                                      l.select(isR, l.cmp(arith::CmpIPredicate::sle, tj, t),
                                               l.cmp(arith::CmpIPredicate::slt, tj, t));
                                  return l.add(acc, l.select(seen, l.idx(1), l.idx(0)));
                                });
        Value rOrC = arith::OrIOp::create(b, isR, isC);
        iv[0] = zero, iv[1] = rStart;
        iv[2] = l.select(rOrC, rStart, zero), iv[3] = l.select(rOrC, l.add(rStart, rowsR), zero);
        iv[4] = l.select(isC, i, zero), iv[5] = l.select(isC, iPlus1, zero);
      }
      }
      if (suffixRows) {
        Value prefixRow = l.cmp(arith::CmpIPredicate::ult, g, l.idx(2));
        for (Value &bound : iv)
          bound = l.select(prefixRow, zero, bound);
      }
      for (int k = 0; k < 6; ++k)
        l.store(arith::IndexCastOp::create(b, b.getI32Type(), iv[k]), m,
                {row, l.idx(k / 2), l.idx(k % 2)});
    });
  });
  return m;
}

/// The tile list (TileListBuffers) of rows in blocks of BR and columns in
/// tiles of BC: count per row block (per sample), scan, fill (per sample),
/// then the work counts.
SmallVector<Value> buildTiles(LoopBuilder &l, Value mask, const LayoutBuffers &lay, int64_t BR,
                              int64_t BC) {
  ImplicitLocOpBuilder &b = l.b;
  Value B = l.samples(lay);
  auto ceilDiv = [&](Value x, int64_t d) {
    return arith::DivUIOp::create(b, l.add(x, l.idx(d - 1)), l.idx(d)).getResult();
  };
  auto sampleBounds = [&](Value s) {
    return std::pair(l.load(lay.offsets, {s}), l.load(lay.offsets, {l.add(s, l.idx(1))}));
  };
  Value blockStart = l.alloc(b.getIndexType(), {}, l.add(B, l.idx(1)));
  l.serial([&] {
    l.store(l.idx(0), blockStart, {l.idx(0)});
    l.loop(l.idx(0), B, [&](Value s) {
      auto [start, end] = sampleBounds(s);
      l.store(l.add(l.load(blockStart, {s}), ceilDiv(l.sub(end, start), BR)), blockStart,
              {l.add(s, l.idx(1))});
    });
  });
  Value blocks = l.load(blockStart, {B});
  Value tileStart = l.alloc(b.getIndexType(), {}, l.add(blocks, l.idx(1)));
  Value work = l.allocStatic(l.i64(), {2});
  // Classifies (row block, column tile): any visible pair, all visible,
  // and whether the second half of the columns is empty (a half tile).
  struct Class {
    Value any, full, half;
  };
  auto classify = [&](Value start, Value n, Value rb, Value ct) {
    Value r0 = l.mul(rb, l.idx(BR)), c0 = l.mul(ct, l.idx(BC));
    Value r1 = l.minI(l.add(r0, l.idx(BR)), n), cMid = l.minI(l.add(c0, l.idx(BC / 2)), n);
    Value c1 = l.minI(l.add(c0, l.idx(BC)), n);
    Value first = visiblePairs(l, mask, start, r0, r1, c0, cMid);
    Value second = BC > 1 ? visiblePairs(l, mask, start, r0, r1, cMid, c1) : l.idx(0);
    Value seen = l.add(first, second);
    return Class{l.cmp(arith::CmpIPredicate::sgt, seen, l.idx(0)),
                 l.cmp(arith::CmpIPredicate::eq, seen, l.idx(BR * BC)),
                 BC > 1 ? l.cmp(arith::CmpIPredicate::eq, second, l.idx(0))
                        : l.cmp(arith::CmpIPredicate::ne, seen, seen)};
  };
  // Pass 1: entries per row block (a sample each), then their prefix sums.
  l.forEach(B, [&](Value s) {
    auto bounds = sampleBounds(s);
    Value start = bounds.first, n = l.sub(bounds.second, start), first = l.load(blockStart, {s});
    l.loop(l.idx(0), ceilDiv(n, BR), [&](Value rb) {
      Value count = l.loopAcc(l.idx(0), ceilDiv(n, BC), l.idx(0), [&](Value ct, Value acc) {
        return l.add(acc, l.select(classify(start, n, rb, ct).any, l.idx(1), l.idx(0)));
      });
      l.store(count, tileStart, {l.add(l.add(first, rb), l.idx(1))});
    });
  });
  l.serial([&] {
    l.store(l.idx(0), tileStart, {l.idx(0)});
    l.loop(l.idx(0), blocks, [&](Value g) {
      Value next = l.add(g, l.idx(1));
      l.store(l.add(l.load(tileStart, {g}), l.load(tileStart, {next})), tileStart, {next});
    });
  });
  Value total = l.load(tileStart, {blocks});
  Value tiles = l.alloc(b.getI32Type(), {}, total);
  // Pass 2: the entries, 4 * tile + 2 * half + full (a sample each).
  l.forEach(B, [&](Value s) {
    auto bounds = sampleBounds(s);
    Value start = bounds.first, n = l.sub(bounds.second, start), first = l.load(blockStart, {s});
    l.loop(l.idx(0), ceilDiv(n, BR), [&](Value rb) {
      Value at0 = l.load(tileStart, {l.add(first, rb)});
      l.loopAcc(l.idx(0), ceilDiv(n, BC), at0, [&](Value ct, Value at) {
        Class c = classify(start, n, rb, ct);
        l.ifThen(c.any, [&] {
          Value code = l.add(l.add(l.mul(ct, l.idx(4)), l.select(c.half, l.idx(2), l.idx(0))),
                             l.select(c.full, l.idx(1), l.idx(0)));
          l.store(arith::IndexCastOp::create(b, b.getI32Type(), code), tiles, {at});
        });
        return l.add(at, l.select(c.any, l.idx(1), l.idx(0)));
      });
    });
  });
  // Work: the pairs the kernels compute (BR x the width of each entry) and
  // the mask's visible pairs.
  l.serial([&] {
    Value computed = l.loopAcc(l.idx(0), total, l.idx(0), [&](Value e, Value acc) {
      Value half = l.cmp(arith::CmpIPredicate::ne,
                         arith::AndIOp::create(b, l.toIndex(l.load(tiles, {e})), l.idx(2)),
                         l.idx(0));
      return l.add(acc, l.select(half, l.idx(BR * (BC / 2)), l.idx(BR * BC)));
    });
    Value visible = l.loopAcc(l.idx(0), B, l.idx(0), [&](Value s, Value acc) {
      auto bounds = sampleBounds(s);
      Value n = l.sub(bounds.second, bounds.first);
      return l.add(acc, visiblePairs(l, mask, bounds.first, l.idx(0), n, l.idx(0), n));
    });
    l.store(arith::IndexCastOp::create(b, l.i64(), computed), work, {l.idx(0)});
    l.store(arith::IndexCastOp::create(b, l.i64(), visible), work, {l.idx(1)});
  });
  return {blockStart, tileStart, tiles, work};
}

struct LowerBuildMask : LoopPattern<BuildMaskOp> {
  using LoopPattern::LoopPattern;
  Results lower(BuildMaskOp op, Adaptor a, LoopBuilder &l) const override {
    LayoutBuffers lay(a.getLayout());
    return Buffers{{buildMask(l, op.getKind(), lay, op.getSuffixRows()), lay.offsets}};
  }
};

struct LowerAttentionTiles : LoopPattern<AttentionTilesOp> {
  using LoopPattern::LoopPattern;
  Results lower(AttentionTilesOp op, Adaptor a, LoopBuilder &l) const override {
    auto type = cast<TileListType>(op.getType());
    return Buffers{buildTiles(l, a.getMask()[0], LayoutBuffers(a.getLayout()),
                              type.getRowBlock(), type.getColTile())};
  }
};
} // namespace

void mlir::mtgr::populateMaskLoweringPatterns(BufferTypeConverter &converter,
                                              RewritePatternSet &patterns,
                                              const ParallelLoops *parallel) {
  patterns.add<LowerBuildMask, LowerAttentionTiles>(converter, patterns.getContext(), parallel);
}
