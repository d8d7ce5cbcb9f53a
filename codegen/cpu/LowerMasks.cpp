//===- LowerMasks.cpp - masks and tile lists on the CPU -------------------===//
//
// build_mask writes, per row, at most 3 column intervals (DESIGN 1.5);
// attention_tiles turns them into per-row-block lists of column tiles with a
// visible pair (full or partial), and counts the pairs the kernels compute.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::mtgr;
using namespace mlir::mtgr::cpu;

Value AttentionEmitter::buildMask(MaskKind kind, const LayoutBuffers &l) {
  Value B = samples(l);
  Value N = load(l.offsets, {B});
  Value m = alloc(b.getI32Type(), {3, 2}, N);
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.segStarts, {s, idx(0)});
    Value nU = sub(load(l.segStarts, {s, idx(1)}), start);
    Value rStart = sub(load(l.segStarts, {s, idx(2)}), start); // local
    Value cStart = sub(load(l.segStarts, {s, idx(3)}), start); // local = P
    Value end = load(l.offsets, {add(s, idx(1))});
    loop(start, end, [&](Value row) {
      Value i = sub(row, start);
      Value g = load(l.group, {row});
      Value isC = cmp(arith::CmpIPredicate::eq, g, idx(3));
      Value isR = cmp(arith::CmpIPredicate::eq, g, idx(2));
      Value isU = cmp(arith::CmpIPredicate::eq, g, idx(0));
      Value iPlus1 = add(i, idx(1)), zero = idx(0), P = cStart;
      Value iv[6];
      switch (kind) {
      case MaskKind::causal:
        iv[0] = zero, iv[1] = iPlus1, iv[2] = iv[3] = iv[4] = iv[5] = zero;
        break;
      case MaskKind::causal_targets:
        iv[0] = zero, iv[1] = select(isC, P, iPlus1);
        iv[2] = select(isC, i, zero), iv[3] = select(isC, iPlus1, zero);
        iv[4] = iv[5] = zero;
        break;
      case MaskKind::contextual:
        // U rows: [0, P). S, R rows: [0, nU) and [nU, i + 1). C: [0, P), [i, i + 1).
        iv[0] = zero;
        iv[1] = select(isC, P, select(isU, P, nU));
        iv[2] = select(isC, i, select(isU, zero, nU));
        iv[3] = select(isC, iPlus1, select(isU, zero, iPlus1));
        iv[4] = iv[5] = zero;
        break;
      default: { // dynamic
        // U, S: [0, nU + nS). R_i: also R_j with t_j <= t_i. C_i: R_j with
        // t_j < t_i, and itself.
        Value t = load(l.time, {row});
        Value rowsR = loopAcc(add(start, rStart), add(start, P), idx(0), [&](Value j, Value acc) {
          Value tj = load(l.time, {j});
          Value seen = select(isR, cmp(arith::CmpIPredicate::sle, tj, t),
                              cmp(arith::CmpIPredicate::slt, tj, t));
          return add(acc, select(seen, idx(1), idx(0)));
        });
        Value rOrC = arith::OrIOp::create(b, isR, isC);
        iv[0] = zero, iv[1] = rStart;
        iv[2] = select(rOrC, rStart, zero), iv[3] = select(rOrC, add(rStart, rowsR), zero);
        iv[4] = select(isC, i, zero), iv[5] = select(isC, iPlus1, zero);
      }
      }
      for (int k = 0; k < 6; ++k)
        store(arith::IndexCastOp::create(b, b.getI32Type(), iv[k]), m,
              {row, idx(k / 2), idx(k % 2)});
    });
  });
  return m;
}


Value AttentionEmitter::visibleIn(Value mask, Value start, Value r0, Value r1, Value c0, Value c1) {
  return loopAcc(r0, r1, idx(0), [&](Value r, Value acc) {
    for (int k = 0; k < 3; ++k) {
      Value lo = toIndex(load(mask, {add(start, r), idx(k), idx(0)}));
      Value hi = toIndex(load(mask, {add(start, r), idx(k), idx(1)}));
      Value overlap = sub(minI(hi, c1), maxI(lo, c0));
      acc = add(acc, maxI(overlap, idx(0)));
    }
    return acc;
  });
}

SmallVector<Value> AttentionEmitter::buildTiles(Value mask, const LayoutBuffers &l) {
  Value B = samples(l);
  auto ceilDiv = [&](Value x, int64_t d) {
    return arith::DivUIOp::create(b, add(x, idx(d - 1)), idx(d)).getResult();
  };
  auto sampleBounds = [&](Value s) {
    return std::pair(load(l.offsets, {s}), load(l.offsets, {add(s, idx(1))}));
  };
  Value blockStart = alloc(b.getIndexType(), {}, add(B, idx(1)));
  store(idx(0), blockStart, {idx(0)});
  loop(idx(0), B, [&](Value s) {
    auto [start, end] = sampleBounds(s);
    store(add(load(blockStart, {s}), ceilDiv(sub(end, start), BR)), blockStart, {add(s, idx(1))});
  });
  Value blocks = load(blockStart, {B});
  Value tileStart = alloc(b.getIndexType(), {}, add(blocks, idx(1)));
  Value work = allocStatic(i64(), {2});
  // Classifies (row block, column tile): any visible pair, all visible,
  // and whether the second half of the columns is empty (a half tile).
  struct Class {
    Value any, full, half;
  };
  auto classify = [&](Value start, Value n, Value rb, Value ct) {
    Value r0 = mul(rb, idx(BR)), c0 = mul(ct, idx(BC));
    Value r1 = minI(add(r0, idx(BR)), n), cMid = minI(add(c0, idx(BC / 2)), n);
    Value c1 = minI(add(c0, idx(BC)), n);
    Value first = visibleIn(mask, start, r0, r1, c0, cMid);
    Value second = BC > 1 ? visibleIn(mask, start, r0, r1, cMid, c1) : idx(0);
    Value seen = add(first, second);
    return Class{cmp(arith::CmpIPredicate::sgt, seen, idx(0)),
                 cmp(arith::CmpIPredicate::eq, seen, idx(BR * BC)),
                 BC > 1 ? cmp(arith::CmpIPredicate::eq, second, idx(0)) : cmp(arith::CmpIPredicate::ne, seen, seen)};
  };
  // Pass 1: entries per row block, then their prefix sums.
  store(idx(0), tileStart, {idx(0)});
  loop(idx(0), B, [&](Value s) {
    auto bounds = sampleBounds(s);
    Value start = bounds.first, n = sub(bounds.second, start), first = load(blockStart, {s});
    loop(idx(0), ceilDiv(n, BR), [&](Value rb) {
      Value count = loopAcc(idx(0), ceilDiv(n, BC), idx(0), [&](Value ct, Value acc) {
        return add(acc, select(classify(start, n, rb, ct).any, idx(1), idx(0)));
      });
      store(count, tileStart, {add(add(first, rb), idx(1))});
    });
  });
  loop(idx(0), blocks, [&](Value g) {
    Value next = add(g, idx(1));
    store(add(load(tileStart, {g}), load(tileStart, {next})), tileStart, {next});
  });
  Value total = load(tileStart, {blocks});
  Value tiles = alloc(b.getI32Type(), {}, total);
  // Pass 2: the entries, 4 * tile + 2 * half + full, and the pairs the
  // kernels will compute (BR x the width of each entry).
  Value computed = allocStatic(b.getIndexType(), {1});
  store(idx(0), computed, {idx(0)});
  loop(idx(0), B, [&](Value s) {
    auto bounds = sampleBounds(s);
    Value start = bounds.first, n = sub(bounds.second, start), first = load(blockStart, {s});
    loop(idx(0), ceilDiv(n, BR), [&](Value rb) {
      Value at0 = load(tileStart, {add(first, rb)});
      loopAcc(idx(0), ceilDiv(n, BC), at0, [&](Value ct, Value at) {
        Class c = classify(start, n, rb, ct);
        ifThen(c.any, [&] {
          Value code = add(add(mul(ct, idx(4)), select(c.half, idx(2), idx(0))),
                           select(c.full, idx(1), idx(0)));
          store(arith::IndexCastOp::create(b, b.getI32Type(), code), tiles, {at});
          Value width = select(c.half, idx(BR * (BC / 2)), idx(BR * BC));
          store(add(load(computed, {idx(0)}), width), computed, {idx(0)});
        });
        return add(at, select(c.any, idx(1), idx(0)));
      });
    });
  });
  // Work: the pairs the kernels compute and the mask's visible pairs.
  Value visible = loopAcc(idx(0), B, idx(0), [&](Value s, Value acc) {
    auto bounds = sampleBounds(s);
    Value n = sub(bounds.second, bounds.first);
    return add(acc, visibleIn(mask, bounds.first, idx(0), n, idx(0), n));
  });
  store(arith::IndexCastOp::create(b, i64(), load(computed, {idx(0)})), work, {idx(0)});
  store(arith::IndexCastOp::create(b, i64(), visible), work, {idx(1)});
  return {blockStart, tileStart, tiles, work};
}

