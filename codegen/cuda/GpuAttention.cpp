//===- GpuAttention.cpp - HSTU attention and its gradient on the GPU ------===//
//
// Forward: a block per (row block, head) of the tile list (mtgr.attention_tiles,
// shared with the CPU), a thread per row of the block; each thread walks its
// block's listed tiles only (empty tiles are never visited, full ones skip
// the mask test) and accumulates its output row in place: no N x N buffer,
// no atomics. The score of a pair is alpha <Q_i, K_j> + rab(i, j), its weight
// SiLU(score) / n_norm(i) (codegen/common/AttentionMath.h, the CPU's math).
// Backward: dQ walks the tile list as the forward does; dK and dV take a
// thread per (key row, head) that walks its sample's rows with the mask test
// (a column-major tile walk comes with the tensor-core kernels); the
// relative-bias gradients sum per sample, then per table entry over the
// samples in order: deterministic. fp32 SIMT.
// With --attention=tensor-core the forward and dQ, dK, dV are fused
// tensor-core passes instead (GpuTensorCoreAttention.cpp; dK and dV over a
// transposed tile list built here), on bf16 copies of their operands; the
// relative-bias gradients stay the SIMT kernels above.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/GpuAttention.h"
#include "codegen/common/AttentionMath.h"
#include "codegen/common/RowMath.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/TensorCore.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

template <typename Op> std::array<int64_t, 3> headDims(Op op) {
  int64_t h = op.getHeadsAttr().getInt();
  return {h, getRowShape(op.getQ().getType())[0] / h, getRowShape(op.getV().getType())[0] / h};
}

/// sum_k x[r, xOff + k] y[c, yOff + k], k < n, in k order.
Value dot(LoopBuilder &l, Value x, Value r, Value xOff, Value y, Value c, Value yOff, int64_t n) {
  return l.loopAcc(l.idx(0), l.idx(n), l.cf32(0.0), [&](Value k, Value acc) {
    return math::FmaOp::create(l.b, l.load(x, {r, l.add(xOff, k)}),
                               l.load(y, {c, l.add(yOff, k)}), acc)
        .getResult();
  });
}

using Pair = AttentionPair;
} // namespace

Value mlir::mtgr::lastAtOrBelow(LoopBuilder &l, Value starts, Value count, Value x) {
  return l.loopAcc(l.idx(0), count, l.idx(0), [&](Value i, Value found) {
    return l.select(l.cmp(arith::CmpIPredicate::ule, l.load(starts, {i}), x), i, found);
  });
}

AttentionPair AttentionInputs::pair(LoopBuilder &l, Value row, Value col, Value head,
                                    Value inv) const {
  Value qOff = l.mul(head, l.idx(dqk));
  Value s = l.fmul(l.cf32(alpha), dot(l, q, row, qOff, k, col, qOff, dqk));
  if (rabPos) {
    Value gi = l.load(layout.group, {row}), ti = l.load(layout.time, {row}),
          pi = l.load(layout.pos, {row});
    s = l.fadd(s, rabTerms(l, layout, rabPos, rabTime, gi, ti, pi, col).bias);
  }
  Value sig = l.sigmoid(s);
  return {s, sig, l.fmul(l.fmul(s, sig), inv)};
}

Value AttentionInputs::inverseNorm(LoopBuilder &l, Value row, Value start, Value end) const {
  return l.fdiv(l.cf32(1.0), attentionNorm(l, mode, constant, mask, row, start, end));
}

namespace {

/// A tile list entry's (tile index, full): the index above `flagBits` low
/// bits, full in bit 0. The forward list's entries are 4 * column tile + 2
/// * half + full (2 flag bits), the transposed list's 2 * row block + full.
template <int64_t flagBits> std::pair<Value, Value> decodeEntry(LoopBuilder &l, Value code) {
  Value c = l.toIndex(code);
  return {arith::ShRUIOp::create(l.b, c, l.idx(flagBits)),
          l.cmp(arith::CmpIPredicate::ne, arith::AndIOp::create(l.b, c, l.idx(1)), l.idx(0))};
}
constexpr auto decodeForward = decodeEntry<2>;
constexpr auto decodeTransposed = decodeEntry<1>;

/// The tensor-core passes' tile shapes, or an error on `op`.
LogicalResult checkTensorCoreTiles(Operation *op, TileListType type) {
  if (auto problem = tensorCoreAttentionTilesProblem(type.getRowBlock(), type.getColTile()))
    return op->emitError("attention on tensor cores: ") << *problem;
  return success();
}

/// The pairs by column tile: colStart [B + 1] (each sample's first column
/// tile, ceil(n / BC) per sample), and per column tile the row blocks that
/// list it (entryStart, entries: 2 * row block in the sample + full), in
/// row-block order. Integer work in one serial piece: the host builds it
/// (mtgr-plan-on-host) from the forward list by a counting sort.
struct TransposedTiles {
  Value colStart, entryStart, entries;
};
TransposedTiles transposeTiles(LoopBuilder &l, const AttentionInputs &in,
                               const TileListBuffers &t, int64_t BC) {
  Type index = l.b.getIndexType();
  Value B = l.samples(in.layout), one = l.idx(1);
  Value colStart = l.alloc(index, {}, l.add(B, one));
  l.serial([&] {
    l.store(l.idx(0), colStart, {l.idx(0)});
    l.loop(l.idx(0), B, [&](Value s) {
      Value n = l.sub(l.load(in.layout.offsets, {l.add(s, one)}), l.load(in.layout.offsets, {s}));
      Value tiles = arith::CeilDivUIOp::create(l.b, n, l.idx(BC));
      l.store(l.add(l.load(colStart, {s}), tiles), colStart, {l.add(s, one)});
    });
  });
  Value cols = l.load(colStart, {B});
  Value total = l.load(t.tileStart, {l.load(t.blockStart, {B})});
  Value entryStart = l.alloc(index, {}, l.add(cols, one));
  Value cursor = l.alloc(index, {}, l.add(cols, one));
  Value entries = l.alloc(l.b.getI32Type(), {}, total);
  // body(s, row block in s, entry's global column tile, entry code) per
  // entry of the forward list, in order.
  auto eachEntry = [&](function_ref<void(Value, Value, Value, Value)> body) {
    l.loop(l.idx(0), B, [&](Value s) {
      Value first = l.load(t.blockStart, {s});
      l.loop(first, l.load(t.blockStart, {l.add(s, one)}), [&](Value g) {
        l.loop(l.load(t.tileStart, {g}), l.load(t.tileStart, {l.add(g, one)}), [&](Value e) {
          Value code = l.toIndex(l.load(t.tiles, {e}));
          Value column = l.add(l.load(colStart, {s}), arith::ShRUIOp::create(l.b, code, l.idx(2)));
          body(s, l.sub(g, first), column, code);
        });
      });
    });
  };
  l.serial([&] {
    l.loop(l.idx(0), l.add(cols, one), [&](Value c) { l.store(l.idx(0), entryStart, {c}); });
    eachEntry([&](Value, Value, Value column, Value) {
      Value next = l.add(column, one);
      l.store(l.add(l.load(entryStart, {next}), one), entryStart, {next});
    });
    l.loop(l.idx(0), cols, [&](Value c) {
      Value next = l.add(c, one);
      l.store(l.add(l.load(entryStart, {next}), l.load(entryStart, {c})), entryStart, {next});
      l.store(l.load(entryStart, {c}), cursor, {c});
    });
    eachEntry([&](Value, Value block, Value column, Value code) {
      Value at = l.load(cursor, {column});
      Value full = arith::AndIOp::create(l.b, code, one);
      Value entry = l.add(l.mul(block, l.idx(2)), full);
      l.store(arith::IndexCastOp::create(l.b, l.b.getI32Type(), entry), entries, {at});
      l.store(l.add(at, one), cursor, {column});
    });
  });
  return {colStart, entryStart, entries};
}

Value siluOf(LoopBuilder &l, Value score, ArrayRef<Value>) { return l.silu(score); }

/// The operand the tensor-core passes read for `x` ([rows, heads * width]):
/// a bf16 copy (a kernel of a thread per element; bf16, not i16, so that
/// mtgr-plan-on-host keeps it in device memory as data), which they stage
/// with 16-byte cp.async, when every 8 columns of a head start 16 bytes
/// apart; else x itself (rounded to bf16 as it is staged). Activations
/// stored in bf16 are used as they are.
Value tensorCoreOperand(LoopBuilder &l, Value x, int64_t width, int64_t blockSize) {
  // (Stored in bf16 already, --dtype=bf16: x is that copy.)
  if (width % 8 != 0 || cast<MemRefType>(x.getType()).getElementType().isBF16())
    return x;
  Type bf16 = l.b.getBF16Type();
  Value copy = l.alloc(bf16, {cast<MemRefType>(x.getType()).getDimSize(1)}, l.rows(x));
  launchPerElement(l, x, blockSize, [&](ValueRange at) {
    l.store(arith::BitcastOp::create(l.b, bf16, toBf16Bits(l, l.load(x, at))), copy, at);
  });
  return copy;
}

/// A kernel of a block per (row block, head), a thread per row of the
/// block; body(row, start, end, head, each) for the rows that exist, where
/// each(fn) calls fn(col) for every visible column of the row's listed
/// tiles.
void forEachListedPair(
    LoopBuilder &l, const AttentionInputs &in, const TileListBuffers &tiles, int64_t BR, int64_t BC,
    function_ref<void(Value row, Value start, Value end, Value head,
                      function_ref<void(function_ref<void(Value col)>)> each)>
        body) {
  Value B = l.samples(in.layout);
  Value blocks = l.load(tiles.blockStart, {B});
  Value one = l.idx(1);
  auto launch = gpu::LaunchOp::create(l.b, blocks, l.idx(in.heads), one, l.idx(BR), one, one);
  nameKernel(l, launch);
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());
  Value g = launch.getBlockIds().x, head = launch.getBlockIds().y, t = launch.getThreadIds().x;
  Value s = lastAtOrBelow(l, tiles.blockStart, B, g);
  Value start = l.load(in.layout.offsets, {s});
  Value end = l.load(in.layout.offsets, {l.add(s, one)});
  Value n = l.sub(end, start);
  Value i = l.add(l.mul(l.sub(g, l.load(tiles.blockStart, {s})), l.idx(BR)), t);
  l.ifThen(l.cmp(arith::CmpIPredicate::ult, i, n), [&] {
    Value row = l.add(start, i);
    body(row, start, end, head, [&](function_ref<void(Value)> fn) {
      Value first = l.load(tiles.tileStart, {g});
      Value last = l.load(tiles.tileStart, {l.add(g, one)});
      l.loop(first, last, [&](Value e) {
        Value code = l.toIndex(l.load(tiles.tiles, {e}));
        Value ct = arith::ShRUIOp::create(l.b, code, l.idx(2));
        Value half = l.cmp(arith::CmpIPredicate::ne,
                           arith::AndIOp::create(l.b, code, l.idx(2)), l.idx(0));
        Value full = l.cmp(arith::CmpIPredicate::ne,
                           arith::AndIOp::create(l.b, code, one), l.idx(0));
        Value c0 = l.mul(ct, l.idx(BC));
        Value c1 = l.minI(l.add(c0, l.select(half, l.idx(BC / 2 > 0 ? BC / 2 : 1), l.idx(BC))), n);
        l.loop(c0, c1, [&](Value j) {
          Value seen = arith::OrIOp::create(l.b, full, columnVisible(l, in.mask, row, j));
          l.ifThen(seen, [&] { fn(l.add(start, j)); });
        });
      });
    });
  });
  gpu::TerminatorOp::create(l.b);
}

/// The buffers and options of an attention op or its gradient.
template <typename Op, typename Adaptor> AttentionInputs inputsOf(Op op, Adaptor a) {
  std::array<int64_t, 3> dims = headDims(op);
  return {a.getQ()[0],
          a.getK()[0],
          a.getV()[0],
          a.getMask()[0],
          LayoutBuffers(a.getLayout()),
          op.getRabPos() ? a.getRabPos()[0] : Value(),
          op.getRabTime() ? a.getRabTime()[0] : Value(),
          dims[0],
          dims[1],
          dims[2],
          op.getAlpha().convertToDouble(),
          op.getNNorm(),
          op.getNNormConstant()};
}

FailureOr<TileListType> tilesOf(Operation *op, Value tiles) {
  if (!tiles) {
    op->emitError("attention without a tile list: run mtgr-plan-attention first");
    return failure();
  }
  return cast<TileListType>(tiles.getType());
}

struct GpuHstuAttention : GpuPattern<HstuAttentionOp> {
  GpuHstuAttention(BufferTypeConverter &c, MLIRContext *ctx, int64_t blockSize, bool tensorCores,
                   bool wgmma)
      : GpuPattern(c, ctx, blockSize), tensorCores(tensorCores), wgmma(wgmma) {}
  bool tensorCores, wgmma;

  Results lower(HstuAttentionOp op, Adaptor a, LoopBuilder &l) const override {
    auto type = tilesOf(op, op.getTiles());
    if (failed(type))
      return failure();
    AttentionInputs in = inputsOf(op, a);
    int64_t h = in.heads, dv = in.dv;
    Value o = l.alloc(l.act(), {h * dv}, l.rows(in.q));
    if (tensorCores) {
      if (failed(checkTensorCoreTiles(op, *type)))
        return failure();
      TileListBuffers tiles(a.getTiles());
      Value q = tensorCoreOperand(l, in.q, in.dqk, blockSize);
      Value k = tensorCoreOperand(l, in.k, in.dqk, blockSize);
      Value v = tensorCoreOperand(l, in.v, dv, blockSize);
      FusedAttentionPass pass{tiles.blockStart,
                              type->getRowBlock(),
                              true,
                              tiles.tileStart,
                              tiles.tiles,
                              type->getColTile(),
                              decodeForward,
                              {{q, k, in.dqk}},
                              siluOf,
                              v,
                              o,
                              dv,
                              /*outputChunk=*/128};
      if (wgmma && !wgmmaAttentionProblem(pass))
        launchWgmmaAttentionForward(l, in, pass);
      else
        launchFusedAttentionPass(l, in, pass);
      return Buffers{{o, in.layout.offsets}};
    }
    forEachListedPair(l, in, TileListBuffers(a.getTiles()), type->getRowBlock(),
                      type->getColTile(), [&](Value row, Value start, Value end, Value head,
                                              auto each) {
                        Value vOff = l.mul(head, l.idx(dv));
                        l.loop(l.idx(0), l.idx(dv), [&](Value c) {
                          l.store(l.cf32(0.0), o, {row, l.add(vOff, c)});
                        });
                        Value inv = in.inverseNorm(l, row, start, end);
                        each([&](Value col) {
                          Value w = in.pair(l, row, col, head, inv).weight;
                          l.loop(l.idx(0), l.idx(dv), [&](Value c) {
                            Value at = l.add(vOff, c);
                            l.store(math::FmaOp::create(l.b, w, l.load(in.v, {col, at}),
                                                        l.load(o, {row, at})),
                                    o, {row, at});
                          });
                        });
                      });
    return Buffers{{o, in.layout.offsets}};
  }
};

/// ds_ij = <dO_i, V_j> silu'(s) / n_norm(i), silu'(s) = sig (1 + s (1 - sig)),
/// for the SIMT kernels (alpha left out: the rab tables' gradients take
/// it without).
std::function<Value(LoopBuilder &, Value, Value, Value, const Pair &, Value)>
scoreGradient(const AttentionInputs &in, Value dO) {
  return [in, dO](LoopBuilder &l, Value row, Value col, Value head, const Pair &p, Value inv) {
    Value one = l.cf32(1.0);
    Value vOff = l.mul(head, l.idx(in.dv));
    Value dA = dot(l, dO, row, vOff, in.v, col, vOff, in.dv);
    Value grad = l.fmul(p.sigmoid, l.fadd(one, l.fmul(p.score, l.fsub(one, p.sigmoid))));
    return l.fmul(l.fmul(dA, grad), inv);
  };
}

struct GpuHstuAttentionBackward : GpuPattern<HstuAttentionBackwardOp> {
  GpuHstuAttentionBackward(BufferTypeConverter &c, MLIRContext *ctx, int64_t blockSize,
                           bool tensorCores)
      : GpuPattern(c, ctx, blockSize), tensorCores(tensorCores) {}
  bool tensorCores;

  /// dQ, dK and dV as fused tensor-core passes: dQ over the forward list
  /// (dS = alpha dP silu'(s) / n_norm, dQ += dS K), dV and dK over the
  /// transposed list (dV += A dO, dK += dS Q), with dP = <dO, V> recomputed
  /// next to S.
  void tensorCoreGradients(const AttentionInputs &in, Value dO, TileListType type,
                           const TileListBuffers &tiles, LoopBuilder &l, Value dq, Value dk,
                           Value dvb) const {
    double alpha = in.alpha;
    auto scoreGrad = [alpha](LoopBuilder &l, Value score, ArrayRef<Value> sums) {
      return l.fmul(l.fmul(l.cf32(alpha), sums[1]), siluDerivative(l, score));
    };
    int64_t BR = type.getRowBlock(), BC = type.getColTile();
    Value q = tensorCoreOperand(l, in.q, in.dqk, blockSize);
    Value k = tensorCoreOperand(l, in.k, in.dqk, blockSize);
    Value v = tensorCoreOperand(l, in.v, in.dv, blockSize);
    Value dO16 = tensorCoreOperand(l, dO, in.dv, blockSize);
    launchFusedAttentionPass(
        l, in,
        FusedAttentionPass{tiles.blockStart, BR, true, tiles.tileStart, tiles.tiles, BC,
                           decodeForward, {{q, k, in.dqk}, {dO16, v, in.dv}}, scoreGrad, k, dq,
                           in.dqk, /*outputChunk=*/64});
    TransposedTiles byColumn = transposeTiles(l, in, tiles, BC);
    launchFusedAttentionPass(
        l, in,
        FusedAttentionPass{byColumn.colStart, BC, false, byColumn.entryStart, byColumn.entries,
                           BR, decodeTransposed, {{k, q, in.dqk}}, siluOf, dO16, dvb, in.dv,
                           /*outputChunk=*/128});
    launchFusedAttentionPass(
        l, in,
        FusedAttentionPass{byColumn.colStart, BC, false, byColumn.entryStart, byColumn.entries,
                           BR, decodeTransposed, {{k, q, in.dqk}, {v, dO16, in.dv}}, scoreGrad, q,
                           dk, in.dqk, /*outputChunk=*/64});
  }

  /// dQ over the tile list (a thread per row, as the forward); dK and dV
  /// a thread per (key row, head) over the rows of its sample that see it.
  void simtGradients(const AttentionInputs &in, Value dO, TileListType type,
                     const TileListBuffers &tiles, LoopBuilder &l, Value dq, Value dk,
                     Value dvb) const {
    int64_t h = in.heads, dqk = in.dqk, dv = in.dv;
    Value rows = l.rows(in.q);
    Value alpha = l.cf32(in.alpha);
    auto scoreGrad = scoreGradient(in, dO);
    // dQ_i = sum_j alpha ds_ij K_j, over the listed tiles of i's block.
    forEachListedPair(
        l, in, tiles, type.getRowBlock(), type.getColTile(),
        [&](Value row, Value start, Value end, Value head, auto each) {
          Value qOff = l.mul(head, l.idx(dqk));
          l.loop(l.idx(0), l.idx(dqk), [&](Value c) {
            l.store(l.cf32(0.0), dq, {row, l.add(qOff, c)});
          });
          Value inv = in.inverseNorm(l, row, start, end);
          each([&](Value col) {
            Pair p = in.pair(l, row, col, head, inv);
            Value ds = l.fmul(alpha, scoreGrad(l, row, col, head, p, inv));
            l.loop(l.idx(0), l.idx(dqk), [&](Value c) {
              Value at = l.add(qOff, c);
              l.store(math::FmaOp::create(l.b, ds, l.load(in.k, {col, at}), l.load(dq, {row, at})),
                      dq, {row, at});
            });
          });
        });
    // dK_j = sum_i alpha ds_ij Q_i and dV_j = sum_i a_ij dO_i: a thread per
    // (key row, head) over the rows of its sample that see it.
    Value B = l.samples(in.layout);
    launchThreads(l, l.mul(rows, l.idx(h)), blockSize, [&](Value t) {
      Value col = arith::DivUIOp::create(l.b, t, l.idx(h));
      Value head = arith::RemUIOp::create(l.b, t, l.idx(h));
      Value s = lastAtOrBelow(l, in.layout.offsets, B, col);
      Value start = l.load(in.layout.offsets, {s});
      Value end = l.load(in.layout.offsets, {l.add(s, l.idx(1))});
      Value qOff = l.mul(head, l.idx(dqk)), vOff = l.mul(head, l.idx(dv));
      l.loop(l.idx(0), l.idx(dqk), [&](Value c) {
        l.store(l.cf32(0.0), dk, {col, l.add(qOff, c)});
      });
      l.loop(l.idx(0), l.idx(dv), [&](Value c) {
        l.store(l.cf32(0.0), dvb, {col, l.add(vOff, c)});
      });
      Value j = l.sub(col, start);
      l.loop(start, end, [&](Value row) {
        l.ifThen(columnVisible(l, in.mask, row, j), [&] {
          Value inv = in.inverseNorm(l, row, start, end);
          Pair p = in.pair(l, row, col, head, inv);
          Value ds = l.fmul(alpha, scoreGrad(l, row, col, head, p, inv));
          l.loop(l.idx(0), l.idx(dv), [&](Value c) {
            Value at = l.add(vOff, c);
            l.store(
                math::FmaOp::create(l.b, p.weight, l.load(dO, {row, at}), l.load(dvb, {col, at})),
                dvb, {col, at});
          });
          l.loop(l.idx(0), l.idx(dqk), [&](Value c) {
            Value at = l.add(qOff, c);
            l.store(math::FmaOp::create(l.b, ds, l.load(in.q, {row, at}), l.load(dk, {col, at})),
                    dk, {col, at});
          });
        });
      });
    });
  }

  Results lower(HstuAttentionBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    auto type = tilesOf(op, op.getTiles());
    if (failed(type))
      return failure();
    AttentionInputs in = inputsOf(op, a);
    int64_t h = in.heads, dqk = in.dqk, dv = in.dv;
    Value dO = a.getResultGrad()[0];
    Value rows = l.rows(in.q);
    Value dq = l.alloc(l.act(), {h * dqk}, rows), dk = l.alloc(l.act(), {h * dqk}, rows);
    Value dvb = l.alloc(l.act(), {h * dv}, rows);
    if (tensorCores) {
      if (failed(checkTensorCoreTiles(op, *type)))
        return failure();
      tensorCoreGradients(in, dO, *type, TileListBuffers(a.getTiles()), l, dq, dk, dvb);
    } else {
      simtGradients(in, dO, *type, TileListBuffers(a.getTiles()), l, dq, dk, dvb);
    }
    Buffers out{{dq, in.layout.offsets}, {dk, in.layout.offsets}, {dvb, in.layout.offsets}};
    if (!in.rabPos)
      return out;
    Value B = l.samples(in.layout);
    auto scoreGrad = scoreGradient(in, dO);
    // The relative-bias tables' gradients: sum_h ds_ij (without alpha) into
    // the pair's position entry and, between timed tokens, its time bucket;
    // per sample first, then per entry over the samples in order.
    int64_t np = cast<MemRefType>(in.rabPos.getType()).getDimSize(0);
    int64_t nt = cast<MemRefType>(in.rabTime.getType()).getDimSize(0);
    Value perP = l.alloc(l.f32(), {np}, B), perT = l.alloc(l.f32(), {nt}, B);
    launchThreads(l, B, blockSize, [&](Value s) {
      l.loop(l.idx(0), l.idx(np), [&](Value e) { l.store(l.cf32(0.0), perP, {s, e}); });
      l.loop(l.idx(0), l.idx(nt), [&](Value e) { l.store(l.cf32(0.0), perT, {s, e}); });
      Value start = l.load(in.layout.offsets, {s});
      Value end = l.load(in.layout.offsets, {l.add(s, l.idx(1))});
      l.loop(start, end, [&](Value row) {
        Value inv = in.inverseNorm(l, row, start, end);
        Value gi = l.load(in.layout.group, {row}), ti = l.load(in.layout.time, {row}),
              pi = l.load(in.layout.pos, {row});
        l.loop(start, end, [&](Value col) {
          l.ifThen(columnVisible(l, in.mask, row, l.sub(col, start)), [&] {
            Value sum = l.loopAcc(l.idx(0), l.idx(h), l.cf32(0.0), [&](Value head, Value acc) {
              Pair p = in.pair(l, row, col, head, inv);
              return l.fadd(acc, scoreGrad(l, row, col, head, p, inv));
            });
            RabTerms r = rabTerms(l, in.layout, in.rabPos, in.rabTime, gi, ti, pi, col);
            l.store(l.fadd(l.load(perP, {s, r.posIndex}), sum), perP, {s, r.posIndex});
            Value old = l.load(perT, {s, r.bucket});
            l.store(l.select(r.bothTimed, l.fadd(old, sum), old), perT, {s, r.bucket});
          });
        });
      });
    });
    Value dP = l.allocStatic(l.f32(), {np}), dT = l.allocStatic(l.f32(), {nt});
    for (auto [table, partial, size] : {std::tuple{dP, perP, np}, std::tuple{dT, perT, nt}})
      launchThreads(l, l.idx(size), blockSize, [&, table = table, partial = partial](Value e) {
        l.store(l.loopAcc(l.idx(0), B, l.cf32(0.0),
                          [&](Value s, Value acc) { return l.fadd(acc, l.load(partial, {s, e})); }),
                table, {e});
      });
    out.append({{dP}, {dT}});
    return out;
  }
};
} // namespace

void mlir::mtgr::populateGpuAttentionPatterns(BufferTypeConverter &converter,
                                              RewritePatternSet &patterns, int64_t blockSize,
                                              GpuAttentionKind kind) {
  // wgmma: the forward on sm_90a's warpgroup MMA where its heads allow, the
  // backward's passes on mma.sync.
  patterns.add<GpuHstuAttention>(converter, patterns.getContext(), blockSize,
                                 kind != GpuAttentionKind::Simt, kind == GpuAttentionKind::Wgmma);
  patterns.add<GpuHstuAttentionBackward>(converter, patterns.getContext(), blockSize,
                                         kind != GpuAttentionKind::Simt);
}
