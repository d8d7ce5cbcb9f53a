//===- LowerAttention.cpp - masks and HSTU attention to loops -------------===//
//
// build_mask writes, per row, at most 3 column intervals (DESIGN 1.5); the
// attention walks them, so no N x N buffer exists (memory O(N * d)).
//
//===----------------------------------------------------------------------===//
#include "codegen/LoweringSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

struct AttentionEmitter : LoopBuilder {
  using LoopBuilder::LoopBuilder;
  Value buildMask(MaskKind kind, const LayoutBuffers &l);
  Value attention(HstuAttentionOp op, const JaggedBuffers &q, const JaggedBuffers &kk,
                  const JaggedBuffers &v, Value mask, const LayoutBuffers &l, Value rabPos,
                  Value rabTime);
  SmallVector<Value> attentionBackward(HstuAttentionBackwardOp op, const JaggedBuffers &q,
                                       const JaggedBuffers &kk, const JaggedBuffers &v, Value mask,
                                       Value dO, const LayoutBuffers &l, Value rabPos,
                                       Value rabTime);
  /// The relative attention bias of pair (row, col) and where it comes from:
  /// P[clamp(pos_j - pos_i, -Pmax, Pmax)] + T[bucket(|t_i - t_j|)], the T term
  /// only between non-U tokens (DESIGN 1.3).
  struct Rab {
    Value bias, posIndex, bucket, bothTimed;
  };
  Rab rabTerms(const LayoutBuffers &l, Value rabPos, Value rabTime, Value gi, Value ti, Value pi,
               Value col);
  /// n_norm(row) of DESIGN 1.3.
  Value attentionNorm(NNorm mode, std::optional<APFloat> constant, Value mask, Value row,
                      Value start, Value end);
  /// Interval k of `row`'s mask, as absolute rows [lo, hi).
  std::pair<Value, Value> maskInterval(Value mask, Value row, int k, Value start) {
    auto at = [&](int64_t e) {
      return add(start, arith::IndexCastOp::create(b, b.getIndexType(),
                                                   load(mask, {row, idx(k), idx(e)})));
    };
    return {at(0), at(1)};
  }
};

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

Value AttentionEmitter::attention(HstuAttentionOp op, const JaggedBuffers &q, const JaggedBuffers &kk,
                                  const JaggedBuffers &v, Value mask, const LayoutBuffers &l,
                                  Value rabPos, Value rabTime) {
  int64_t h = op.getHeadsAttr().getInt();
  int64_t dqk = getRowShape(op.getQ().getType())[0] / h, dv = getRowShape(op.getV().getType())[0] / h;
  Value alpha = cf32(op.getAlpha().convertToDouble());
  NNorm nNorm = op.getNNorm();
  Value B = samples(l);
  Value N = load(l.offsets, {B});
  Value o = alloc(f32(), {h * dv}, N);
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.offsets, {s}), end = load(l.offsets, {add(s, idx(1))});
    loop(start, end, [&](Value row) {
      // n_norm(i): the sample's length, the row's attended columns, or a constant.
      Value invNorm =
          fdiv(cf32(1.0), attentionNorm(nNorm, op.getNNormConstant(), mask, row, start, end));
      loop(idx(0), idx(h * dv), [&](Value c) { store(cf32(0.0), o, {row, c}); });
      Value gi = load(l.group, {row});
      Value ti = load(l.time, {row}), pi = load(l.pos, {row});
      for (int k = 0; k < 3; ++k) {
        auto [lo, hi] = maskInterval(mask, row, k, start);
        loop(lo, hi, [&](Value col) {
          Value bias = rabPos ? rabTerms(l, rabPos, rabTime, gi, ti, pi, col).bias : cf32(0.0);
          for (int64_t hd = 0; hd < h; ++hd) {
            Value dot = loopAcc(idx(0), idx(dqk), cf32(0.0), [&](Value c, Value acc) {
              Value qc = add(c, idx(hd * dqk));
              return fadd(acc, fmul(load(q.values, {row, qc}), load(kk.values, {col, qc})));
            });
            Value a = fmul(silu(fadd(fmul(alpha, dot), bias)), invNorm);
            loop(idx(0), idx(dv), [&](Value c) {
              Value vc = add(c, idx(hd * dv));
              store(fadd(load(o, {row, vc}), fmul(a, load(v.values, {col, vc}))), o, {row, vc});
            });
          }
        });
      }
    });
  });
  return o;
}

AttentionEmitter::Rab AttentionEmitter::rabTerms(const LayoutBuffers &l, Value rabPos, Value rabTime, Value gi,
                                 Value ti, Value pi, Value col) {
  int64_t pmax = (cast<MemRefType>(rabPos.getType()).getDimSize(0) - 1) / 2;
  int64_t nb = cast<MemRefType>(rabTime.getType()).getDimSize(0);
  Rab r;
  Value dpos = maxI(minI(sub(load(l.pos, {col}), pi), idx(pmax)), idx(-pmax));
  r.posIndex = add(dpos, idx(pmax));
  Value dt = math::AbsIOp::create(b, arith::SubIOp::create(b, ti, load(l.time, {col})));
  Value one = arith::ConstantIntOp::create(b, i64(), 1);
  Value lg = math::LogOp::create(
      b, arith::SIToFPOp::create(b, f64(), arith::MaxSIOp::create(b, dt, one)));
  Value bucketF = math::FloorOp::create(b, arith::DivFOp::create(b, lg, cf64(0.301)));
  r.bucket = minI(arith::IndexCastOp::create(b, b.getIndexType(),
                                             arith::FPToSIOp::create(b, i64(), bucketF)),
                  idx(nb - 1));
  r.bothTimed = arith::AndIOp::create(b, cmp(arith::CmpIPredicate::ne, gi, idx(0)),
                                      cmp(arith::CmpIPredicate::ne, load(l.group, {col}), idx(0)));
  r.bias = arith::AddFOp::create(b, load(rabPos, {r.posIndex}),
                                 select(r.bothTimed, load(rabTime, {r.bucket}), cf32(0.0)));
  return r;
}

Value AttentionEmitter::attentionNorm(NNorm mode, std::optional<APFloat> constant, Value mask, Value row,
                              Value start, Value end) {
  if (mode == NNorm::total)
    return toF32(sub(end, start));
  if (mode == NNorm::constant)
    return cf32(constant->convertToDouble());
  Value cols = idx(0);
  for (int k = 0; k < 3; ++k) {
    Value lo = arith::IndexCastOp::create(b, b.getIndexType(), load(mask, {row, idx(k), idx(0)}));
    Value hi = arith::IndexCastOp::create(b, b.getIndexType(), load(mask, {row, idx(k), idx(1)}));
    cols = add(cols, sub(hi, lo));
  }
  return toF32(cols);
}

SmallVector<Value> AttentionEmitter::attentionBackward(HstuAttentionBackwardOp op, const JaggedBuffers &q,
                                                       const JaggedBuffers &kk, const JaggedBuffers &v,
                                                       Value mask, Value dO, const LayoutBuffers &l,
                                                       Value rabPos, Value rabTime) {
  int64_t h = op.getHeadsAttr().getInt();
  int64_t dqk = getRowShape(op.getQ().getType())[0] / h, dv = getRowShape(op.getV().getType())[0] / h;
  Value alpha = cf32(op.getAlpha().convertToDouble());
  Value B = samples(l), N = load(l.offsets, {B});
  Value dq = alloc(f32(), {h * dqk}, N), dk = alloc(f32(), {h * dqk}, N),
        dvb = alloc(f32(), {h * dv}, N);
  loop(idx(0), N, [&](Value r) {
    loop(idx(0), idx(h * dqk), [&](Value c) {
      store(cf32(0.0), dq, {r, c});
      store(cf32(0.0), dk, {r, c});
    });
    loop(idx(0), idx(h * dv), [&](Value c) { store(cf32(0.0), dvb, {r, c}); });
  });
  Value dP, dT;
  if (rabPos) {
    auto zeros = [&](Value like) {
      auto t = cast<MemRefType>(like.getType());
      Value m = allocStatic(f32(), t.getShape());
      loop(idx(0), idx(t.getDimSize(0)), [&](Value i) { store(cf32(0.0), m, {i}); });
      return m;
    };
    dP = zeros(rabPos);
    dT = zeros(rabTime);
  }
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.offsets, {s}), end = load(l.offsets, {add(s, idx(1))});
    loop(start, end, [&](Value row) {
      Value invNorm = fdiv(cf32(1.0), attentionNorm(op.getNNorm(), op.getNNormConstant(), mask,
                                                    row, start, end));
      Value gi = load(l.group, {row}), ti = load(l.time, {row}), pi = load(l.pos, {row});
      for (int k = 0; k < 3; ++k) {
        auto [lo, hi] = maskInterval(mask, row, k, start);
        loop(lo, hi, [&](Value col) {
          Rab rab;
          Value bias = cf32(0.0);
          if (rabPos) {
            rab = rabTerms(l, rabPos, rabTime, gi, ti, pi, col);
            bias = rab.bias;
          }
          Value dsSum = cf32(0.0);
          for (int64_t hd = 0; hd < h; ++hd) {
            Value dot = loopAcc(idx(0), idx(dqk), cf32(0.0), [&](Value c, Value acc) {
              Value qc = add(c, idx(hd * dqk));
              return fadd(acc, fmul(load(q.values, {row, qc}), load(kk.values, {col, qc})));
            });
            Value sc = fadd(fmul(alpha, dot), bias);
            Value sig = fdiv(cf32(1.0), arith::AddFOp::create(
                                            b, cf32(1.0), math::ExpOp::create(b, arith::NegFOp::create(b, sc))));
            Value a = fmul(fmul(sc, sig), invNorm);
            // da = <dO_i, V_j>; dV_j += a dO_i
            Value da = loopAcc(idx(0), idx(dv), cf32(0.0), [&](Value c, Value acc) {
              Value vc = add(c, idx(hd * dv));
              Value g = load(dO, {row, vc});
              store(fadd(load(dvb, {col, vc}), fmul(a, g)), dvb, {col, vc});
              return fadd(acc, fmul(g, load(v.values, {col, vc})));
            });
            // ds = da silu'(s) / n_norm; dQ_i += alpha ds K_j; dK_j += alpha ds Q_i
            Value siluGrad = fmul(sig, fadd(cf32(1.0), fmul(sc, fsub(cf32(1.0), sig))));
            Value ds = fmul(fmul(da, siluGrad), invNorm);
            dsSum = fadd(dsSum, ds);
            Value ads = fmul(alpha, ds);
            loop(idx(0), idx(dqk), [&](Value c) {
              Value qc = add(c, idx(hd * dqk));
              store(fadd(load(dq, {row, qc}), fmul(ads, load(kk.values, {col, qc}))), dq, {row, qc});
              store(fadd(load(dk, {col, qc}), fmul(ads, load(q.values, {row, qc}))), dk, {col, qc});
            });
          }
          if (rabPos) { // the bias is shared by the heads: its gradient sums them
            store(fadd(load(dP, {rab.posIndex}), dsSum), dP, {rab.posIndex});
            Value old = load(dT, {rab.bucket});
            store(select(rab.bothTimed, fadd(old, dsSum), old), dT, {rab.bucket});
          }
        });
      }
    });
  });
  SmallVector<Value> out{dq, dk, dvb};
  if (rabPos)
    out.append({dP, dT});
  return out;
}

struct LowerBuildMask : LoopPattern<BuildMaskOp> {
  using LoopPattern::LoopPattern;
  Results lower(BuildMaskOp op, Adaptor a, LoopBuilder &l) const override {
    LayoutBuffers lay(a.getLayout());
    AttentionEmitter e(l.b, op.getLoc());
    return Buffers{{e.buildMask(op.getKind(), lay), lay.offsets}};
  }
};

struct LowerHstuAttention : LoopPattern<HstuAttentionOp> {
  using LoopPattern::LoopPattern;
  Results lower(HstuAttentionOp op, Adaptor a, LoopBuilder &l) const override {
    LayoutBuffers lay(a.getLayout());
    AttentionEmitter e(l.b, op.getLoc());
    Value rabPos = op.getRabPos() ? a.getRabPos()[0] : Value();
    Value rabTime = op.getRabTime() ? a.getRabTime()[0] : Value();
    Value o = e.attention(op, JaggedBuffers(a.getQ()), JaggedBuffers(a.getK()), JaggedBuffers(a.getV()),
                          a.getMask()[0], lay, rabPos, rabTime);
    return Buffers{{o, lay.offsets}};
  }
};

struct LowerHstuAttentionBackward : LoopPattern<HstuAttentionBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(HstuAttentionBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    LayoutBuffers lay(a.getLayout());
    AttentionEmitter e(l.b, op.getLoc());
    Value rabPos = op.getRabPos() ? a.getRabPos()[0] : Value();
    Value rabTime = op.getRabTime() ? a.getRabTime()[0] : Value();
    SmallVector<Value> g = e.attentionBackward(op, JaggedBuffers(a.getQ()), JaggedBuffers(a.getK()),
                                               JaggedBuffers(a.getV()), a.getMask()[0],
                                               a.getResultGrad()[0], lay, rabPos, rabTime);
    Buffers out{{g[0], lay.offsets}, {g[1], lay.offsets}, {g[2], lay.offsets}};
    for (size_t i = 3; i < g.size(); ++i)
      out.push_back({g[i]});
    return out;
  }
};
} // namespace

void mlir::mtgr::populateAttentionLoweringPatterns(BufferTypeConverter &converter,
                                                   RewritePatternSet &patterns, int64_t rowBlock,
                                                   int64_t colTile) {
  (void)rowBlock;
  (void)colTile;
  patterns.add<LowerBuildMask, LowerHstuAttention, LowerHstuAttentionBackward>(converter,
                                                                              patterns.getContext());
}
