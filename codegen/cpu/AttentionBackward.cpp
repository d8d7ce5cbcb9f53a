//===- AttentionBackward.cpp - tiled HSTU attention, backward, on the CPU -===//
#include "codegen/cpu/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::mtgr;
using namespace mlir::mtgr::cpu;

SmallVector<Value> AttentionEmitter::attentionBackwardBuffers(HstuAttentionBackwardOp op,
                                                              const LayoutBuffers &l,
                                                              Value rabPos, Value rabTime) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  Value B = samples(l), N = load(l.offsets, {B});
  Value panelStart = panelStarts(l);
  SmallVector<Value> out{alloc(f32(), {h * dqk}, N),          alloc(f32(), {h * dqk}, N),
                         alloc(f32(), {h * dv}, N),           panelStart,
                         allocPanels(panelStart, B, h * dqk), allocPanels(panelStart, B, h * dv)};
  if (rabPos)
    out.append({allocStatic(f32(), {cast<MemRefType>(rabPos.getType()).getDimSize(0)}),
                allocStatic(f32(), {cast<MemRefType>(rabTime.getType()).getDimSize(0)})});
  return out;
}

void AttentionEmitter::attentionBackwardKernel(HstuAttentionBackwardOp op, ValueRange a, bool rab) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  KernelArgs next{a};
  next(); // q
  Value k = next()[0], v = next()[0];
  next(2); // mask, dO
  LayoutBuffers l(next(5));
  TileListBuffers t(next(4));
  if (rab)
    next(2); // the rab tables
  next();    // dq
  Value dk = next()[0], dvb = next()[0];
  Value panelStart = next()[0], kPanels = next()[0], vPanels = next()[0];
  Value dP, dT;
  if (rab) {
    dP = next()[0], dT = next()[0];
    fill(dP, cf32(0.0));
    fill(dT, cf32(0.0));
  }
  fill(dk, cf32(0.0));
  fill(dvb, cf32(0.0));
  fillPanels(k, l, panelStart, kPanels, h * dqk);
  fillPanels(v, l, panelStart, vPanels, h * dv);
  // Threads take whole samples (costShare): a sample's dK and dV rows
  // take contributions from its own row blocks only, in the order one
  // thread would add them, so the gradients are the same bits on any
  // number of threads. The relative bias's gradient (dP, dT) is shared by
  // all samples: with one, one part (its scratch freed by mtgr-free-buffers
  // like the kernel's other buffers).
  SmallVector<std::pair<Type, SmallVector<int64_t>>> scratch{
      {f32(), {BR, h * dqk}}, {f32(), {BR, BC}}, {f32(), {BR, BC}}, {f32(), {BR}}};
  if (rab) {
    scratch.append({{f32(), {BR, BC}}, {f32(), {BR, BC}}});
    SmallVector<Value> own;
    for (auto &[elt, shape] : scratch)
      own.push_back(allocStatic(elt, shape));
    backwardPart(op, a, rab, idx(0), load(t.blockStart, {samples(l)}), own);
    return;
  }
  Value parts = threads();
  parallelParts(parts, "attention_backward", [&](Value part) {
    std::pair<Value, Value> share = costShare(t, samples(l), part, parts, /*wholeSamples=*/true);
    withScratch(scratch, [&](ArrayRef<Value> own) {
      backwardPart(op, a, rab, share.first, share.second, own);
    });
  });
}

void AttentionEmitter::backwardPart(HstuAttentionBackwardOp op, ValueRange a, bool rab,
                                    Value firstBlock, Value endBlock, ArrayRef<Value> own) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  double alphaValue = op.getAlpha().convertToDouble();
  KernelArgs next{a};
  Value q = next()[0], k = next()[0];
  next(); // v: its panels
  Value mask = next()[0], dO = next()[0];
  LayoutBuffers l(next(5));
  TileListBuffers t(next(4));
  Value rabPos = rab ? next()[0] : Value(), rabTime = rab ? next()[0] : Value();
  Value dq = next()[0], dk = next()[0], dvb = next()[0];
  Value panelStart = next()[0], kPanels = next()[0], vPanels = next()[0];
  Value dP = rab ? next()[0] : Value(), dT = rab ? next()[0] : Value();
  Value dqAcc = own[0], weights = own[1], dScores = own[2], inv = own[3];
  Value bias = rab ? own[4] : Value(), dsSum = rab ? own[5] : Value();
  forEachTile(
      l, t, panelStart,
      [&](Block &blk) {
        fill(dqAcc, cf32(0.0));
        inverseNorms(blk, inv, mask, op.getNNorm(), op.getNNormConstant());
      },
      [&](Block &blk, Tile &tile) {
        // Whole-width tiles only (half ones have their empty half masked
        // out): the gradient's body is large, one variant of it is enough.
        TW = BC;
        VectorType vt = vec(TW, f32());
        Value alpha = splat(vt, cf32(alphaValue));
        Value zero = splat(vt, cf32(0.0)), one = splat(vt, cf32(1.0));
        Value last = sub(blk.end, idx(1));
        // Rows past the sample's end must not reach dK, dV.
        SmallVector<Value> seen = tileMasks(blk, tile, mask, /*rowsMustExist=*/true);
        if (bias) {
          biasTile(bias, l, rabPos, rabTime, blk.rows, tile.col0, last);
          fill(dsSum, cf32(0.0));
        }
        Value count = minI(idx(TW), sub(blk.n, tile.c0));
        loop(idx(0), idx(h), [&](Value head) {
          Value qOff = mul(head, idx(dqk)), vOff = mul(head, idx(dv));
          // The scores' part first, into the scratch (a, and silu'(s) in
          // dScores until dA is known): live across dA's product they
          // spilled (16 + 16 accumulators in 32 registers).
          SmallVector<Value> scores = tileProduct(q, blk.rows, kPanels, tile.panel, qOff, dqk);
          for (int64_t r = 0; r < BR; ++r) {
            Value s = arith::MulFOp::create(b, alpha, scores[r], fast());
            if (bias)
              s = arith::AddFOp::create(b, s, vload(vt, bias, {idx(r), idx(0)}), fast());
            Value sig = sigmoid(s), invNorm = splat(vt, load(inv, {idx(r)}));
            Value a = fmul(fmul(s, sig), invNorm);
            // silu'(s) = sig (1 + s (1 - sig))
            vstore(fmul(sig, fadd(one, fmul(s, fsub(one, sig)))), dScores, {idx(r), idx(0)});
            vstore(select(seen[r], a, zero), weights, {idx(r), idx(0)});
          }
          SmallVector<Value> dA = tileProduct(dO, blk.rows, vPanels, tile.panel, vOff, dv);
          for (int64_t r = 0; r < BR; ++r) {
            // ds = dA silu'(s) / n_norm
            Value grad = vload(vt, dScores, {idx(r), idx(0)}),
                  invNorm = splat(vt, load(inv, {idx(r)}));
            Value ds = select(seen[r], fmul(fmul(dA[r], grad), invNorm), zero);
            vstore(fmul(alpha, ds), dScores, {idx(r), idx(0)});
            if (dsSum) // the bias is shared by the heads: its gradient sums them
              vstore(fadd(vload(vt, dsSum, {idx(r), idx(0)}), ds), dsSum, {idx(r), idx(0)});
          }
          // dV_j += a_ij dO_i; dK_j += alpha ds_ij Q_i; dQ_i += alpha ds_ij K_j
          accumulateColumns(dvb, weights, dO, blk.rows, vOff, dv, tile.col0, count);
          accumulateColumns(dk, dScores, q, blk.rows, qOff, dqk, tile.col0, count);
          accumulateRows(dqAcc, qOff, dScores, k, qOff, dqk, tile.col0, last);
        });
        if (dsSum) {
          loop(idx(0), minI(idx(BR), sub(blk.n, blk.r0)), [&](Value r) {
            Value row = add(blk.start, add(blk.r0, r));
            Value gi = load(l.group, {row}), ti = load(l.time, {row}), pi = load(l.pos, {row});
            loop(idx(0), count, [&](Value j) {
              Rab rab = rabTerms(l, rabPos, rabTime, gi, ti, pi, add(tile.col0, j));
              Value g = load(dsSum, {r, j});
              store(fadd(load(dP, {rab.posIndex}), g), dP, {rab.posIndex});
              Value old = load(dT, {rab.bucket});
              store(select(rab.bothTimed, fadd(old, g), old), dT, {rab.bucket});
            });
          });
        }
      },
      [&](Block &blk) {
        loop(idx(0), minI(idx(BR), sub(blk.n, blk.r0)), [&](Value r) {
          Value row = add(blk.start, add(blk.r0, r));
          loop(idx(0), idx(h * dqk), [&](Value c) { store(load(dqAcc, {r, c}), dq, {row, c}); });
        });
      },
      firstBlock, endBlock);
}
