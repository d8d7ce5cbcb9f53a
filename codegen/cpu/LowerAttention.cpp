//===- LowerAttention.cpp - masks, tile lists and tiled HSTU attention ----===//
//
// build_mask writes, per row, at most 3 column intervals (DESIGN 1.5).
// attention_tiles turns them into per-row-block lists of column tiles with a
// visible pair (full or partial). The attention walks (sample, row block,
// listed tile, head): the scores of a tile are BR vectors of BC lanes kept in
// registers (QK^T as BR broadcast-FMA chains over d_qk), SiLU and 1/n_norm
// are applied on the vectors, the mask test only on partial tiles, and PV
// accumulates into a BR x (heads * dv) block of rows through vector FMAs.
// K (and V for the gradient) is transposed once per op, padded by one tile
// of zero columns, so a tile's key vector is one contiguous load.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
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
  AttentionEmitter(OpBuilder &b, Location loc, int64_t rowBlock = 1, int64_t colTile = 1)
      : LoopBuilder(b, loc), BR(rowBlock), BC(colTile), TW(colTile) {}
  /// Row block, column tile, and the width of the tile being emitted: a
  /// listed tile is BC columns wide, or BC / 2 when its second half holds
  /// no visible pair (the edge of a visible region: half the waste).
  int64_t BR, BC, TW;

  Value buildMask(MaskKind kind, const LayoutBuffers &l);
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

  // --- tile lists ----------------------------------------------------------
  SmallVector<Value> buildTiles(Value mask, const LayoutBuffers &l);
  /// Visible pairs of rows [r0, r1) x columns [c0, c1) (sample-local; the
  /// intervals of a row are disjoint, so their overlaps add up).
  Value visibleIn(Value mask, Value start, Value r0, Value r1, Value c0, Value c1);

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
  /// scores[r] = sum_k X[rows[r], off + k] * panel[off + k][0 .. BC), k < width.
  SmallVector<Value> tileProduct(Value x, ArrayRef<Value> rows, Value panels, Value panel,
                                 Value off, int64_t width);
  /// out[r, outOff + c] += sum_j P[r, j] * Y[min(col0 + j, last), yOff + c] for
  /// r < BR, j < BC, c < width.
  void accumulateRows(Value out, Value outOff, Value p, Value y, Value yOff, int64_t width,
                      Value col0, Value last);
  /// out[col0 + j, off + c] += sum_r P[r, j] * Y[rows[r], off + c] for j < count.
  void accumulateColumns(Value out, Value p, Value y, ArrayRef<Value> rows, Value off,
                         int64_t width, Value col0, Value count);
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
  };
  struct Tile {
    Value full, half, c0, col0; // full: no mask test; half: BC / 2 columns wide
    Value index;          // the column tile within the sample
    Value panel;          // its panel of packed keys (packPanels)
  };
  /// Per row of a block, the lanes of a tile it sees: all of them on full
  /// tiles (no test), the mask's on partial ones; `rowsMustExist`: rows past
  /// the sample's end (clamped copies of its last row) see nothing.
  SmallVector<Value> tileMasks(const Block &blk, const Tile &tile, Value mask, bool rowsMustExist);
  /// inv[r] = 1 / n_norm of each row of a block.
  void inverseNorms(const Block &blk, Value inv, Value mask, NNorm mode,
                    std::optional<APFloat> constant) {
    for (size_t r = 0; r < blk.rows.size(); ++r)
      store(fdiv(cf32(1.0), attentionNorm(mode, constant, mask, blk.rows[r], blk.start, blk.end)),
            inv, {idx(r)});
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
  /// Over row blocks [firstBlock, endBlock) of the whole list (numbered
  /// across samples; null: all of them).
  void forEachTile(const LayoutBuffers &l, const TileListBuffers &t, Value panelStart,
                   function_ref<void(Block &)> perBlock, function_ref<void(Block &, Tile &)> perTile,
                   function_ref<void(Block &)> afterBlock, Value firstBlock = {},
                   Value endBlock = {});
  /// Threads by cost: part `part` of `parts` gets the row blocks [lo, hi)
  /// whose costs (listed tiles + 1 for the block's own rows) sum to about
  /// 1 / parts of the list's; a block's cost is known from the tile list.
  std::pair<Value, Value> costShare(const TileListBuffers &t, Value samples, Value part,
                                    Value parts);

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
  /// then dq, dk, dv, panel starts, K panels, V panels, dqAcc, weights,
  /// dScores, inv, [bias, dsSum, dP, dT].
  SmallVector<Value> attentionBackwardBuffers(HstuAttentionBackwardOp op, const LayoutBuffers &l,
                                              Value rabPos, Value rabTime);
  void attentionBackwardKernel(HstuAttentionBackwardOp op, ValueRange a, bool rab);
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

Value AttentionEmitter::panelStarts(const LayoutBuffers &l) {
  Value B = samples(l);
  Value panelStart = alloc(b.getIndexType(), {}, add(B, idx(1)));
  store(idx(0), panelStart, {idx(0)});
  loop(idx(0), B, [&](Value s) {
    Value n = sub(load(l.offsets, {add(s, idx(1))}), load(l.offsets, {s}));
    Value tiles = arith::DivUIOp::create(b, add(n, idx(BC - 1)), idx(BC));
    store(add(load(panelStart, {s}), tiles), panelStart, {add(s, idx(1))});
  });
  return panelStart;
}

Value AttentionEmitter::allocPanels(Value panelStart, Value B, int64_t w) {
  return memref::AllocOp::create(b, MemRefType::get({ShapedType::kDynamic, w, BC}, f32()),
                                 ValueRange{load(panelStart, {B})});
}

void AttentionEmitter::fillPanels(Value x, const LayoutBuffers &l, Value panelStart, Value panels,
                                  int64_t w) {
  // Per panel: BC rows of x read in turn (each row contiguous), written as
  // the panel's lanes; lanes past the sample's end are zero.
  loop(idx(0), samples(l), [&](Value s) {
    Value start = load(l.offsets, {s}), end = load(l.offsets, {add(s, idx(1))});
    Value first = load(panelStart, {s});
    loop(idx(0), sub(load(panelStart, {add(s, idx(1))}), first), [&](Value t) {
      Value panel = add(first, t);
      for (int64_t lane = 0; lane < BC; ++lane) {
        Value row = add(start, add(mul(t, idx(BC)), idx(lane)));
        Value inside = cmp(arith::CmpIPredicate::slt, row, end);
        Value safe = minI(row, sub(end, idx(1)));
        loop(idx(0), idx(w), [&](Value c) {
          store(select(inside, load(x, {safe, c}), cf32(0.0)), panels, {panel, c, idx(lane)});
        });
      }
    });
  });
}

void AttentionEmitter::callKernel(Operation *op, StringRef kind, ArrayRef<Value> args,
                                  function_ref<void(AttentionEmitter &, ValueRange)> body) {
  auto module = op->getParentOfType<ModuleOp>();
  SmallVector<Type> types;
  for (Value a : args)
    types.push_back(a.getType());
  // Named by a hash of the op's attributes, the tile sizes and the argument
  // types as text: the same in every compile (attributes' addresses are not).
  std::string key;
  llvm::raw_string_ostream os(key);
  os << op->getName() << op->getPropertiesAsAttribute() << BR << "x" << BC;
  for (Type t : types)
    os << t;
  std::string name =
      ("mtgr_attention_" + kind + "_" + llvm::utohexstr(llvm::xxh3_64bits(key))).str();
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    fn = func::FuncOp::create(b, name, b.getFunctionType(types, {}));
    fn.setPrivate();
    fn->setAttr("mtgr.kernel", b.getUnitAttr());
    SmallVector<Location> locs(types.size(), op->getLoc());
    mlir::Block *entry = b.createBlock(&fn.getBody(), {}, types, locs);
    b.setInsertionPointToStart(entry);
    AttentionEmitter kernel(b, op->getLoc(), BR, BC);
    body(kernel, entry->getArguments());
    func::ReturnOp::create(kernel.b);
  }
  auto call = func::CallOp::create(b, fn, args);
  call->setAttr("mtgr.kernel_call", b.getUnitAttr()); // reads and writes, keeps nothing
}

SmallVector<Value> AttentionEmitter::tileProduct(Value x, ArrayRef<Value> rows, Value panels,
                                                 Value panel, Value off, int64_t width) {
  VectorType t = vec(TW, f32());
  Value zero = splat(t, cf32(0.0));
  SmallVector<Value> init(rows.size(), zero);
  auto f = scf::ForOp::create(b, idx(0), idx(width), idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(f.getBody());
    Value k = add(off, f.getInductionVar());
    Value keys = vload(t, panels, {panel, k, idx(0)});
    SmallVector<Value> next;
    for (auto [r, row] : llvm::enumerate(rows))
      next.push_back(fma(splat(t, load(x, {row, k})), keys, f.getRegionIterArgs()[r]));
    scf::YieldOp::create(b, next);
  }
  return SmallVector<Value>(f.getResults());
}

void AttentionEmitter::accumulateRows(Value out, Value outOff, Value p, Value y, Value yOff,
                                      int64_t width, Value col0, Value last) {
  // Register tile: kRows rows x kVectors vectors of the output, loaded once
  // for the BC columns of the tile; per column kVectors loads of Y and kRows
  // broadcasts feed kRows * kVectors FMAs.
  int64_t lanes = laneWidth(width), vectors = width / lanes;
  int64_t kRows = BR % 4 == 0 ? 4 : (BR % 2 == 0 ? 2 : 1);
  int64_t kVectors = std::min<int64_t>(BC >= 16 ? 4 : 2, vectors);
  while (vectors % kVectors != 0)
    --kVectors;
  VectorType t = vec(lanes, f32());
  auto rowBlocks = scf::ForOp::create(b, idx(0), idx(BR), idx(kRows));
  OpBuilder::InsertionGuard rowGuard(b);
  b.setInsertionPointToStart(rowBlocks.getBody());
  Value r0 = rowBlocks.getInductionVar();
  auto chunks = scf::ForOp::create(b, idx(0), idx(vectors), idx(kVectors));
  OpBuilder::InsertionGuard chunkGuard(b);
  b.setInsertionPointToStart(chunks.getBody());
  Value c0 = mul(chunks.getInductionVar(), idx(lanes));
  SmallVector<Value> acc;
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t v = 0; v < kVectors; ++v)
      acc.push_back(vload(t, out, {add(r0, idx(r)), add(outOff, add(c0, idx(v * lanes)))}));
  auto cols = scf::ForOp::create(b, idx(0), idx(TW), idx(1), acc);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(cols.getBody());
    Value j = cols.getInductionVar();
    Value col = minI(add(col0, j), last);
    SmallVector<Value> ys, next;
    for (int64_t v = 0; v < kVectors; ++v)
      ys.push_back(vload(t, y, {col, add(yOff, add(c0, idx(v * lanes)))}));
    for (int64_t r = 0; r < kRows; ++r) {
      Value weight = splat(t, load(p, {add(r0, idx(r)), j}));
      for (int64_t v = 0; v < kVectors; ++v)
        next.push_back(fma(weight, ys[v], cols.getRegionIterArgs()[r * kVectors + v]));
    }
    scf::YieldOp::create(b, next);
  }
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t v = 0; v < kVectors; ++v)
      vstore(cols.getResult(r * kVectors + v), out,
             {add(r0, idx(r)), add(outOff, add(c0, idx(v * lanes)))});
}

void AttentionEmitter::accumulateColumns(Value out, Value p, Value y, ArrayRef<Value> rows,
                                         Value off, int64_t width, Value col0, Value count) {
  int64_t lanes = laneWidth(width), vectors = width / lanes;
  VectorType t = vec(lanes, f32());
  loop(idx(0), count, [&](Value j) {
    Value col = add(col0, j);
    loop(idx(0), idx(vectors), [&](Value v) {
      Value c = add(off, mul(v, idx(lanes)));
      Value acc = vload(t, out, {col, c});
      for (auto [r, row] : llvm::enumerate(rows))
        acc = fma(splat(t, load(p, {idx(r), j})), vload(t, y, {row, c}), acc);
      vstore(acc, out, {col, c});
    });
  });
}

SmallVector<Value> AttentionEmitter::visibleLanes(Value mask, ArrayRef<Value> rows, Value c0) {
  Type i32 = b.getI32Type();
  VectorType t = vec(TW, i32);
  SmallVector<int32_t> iota(TW);
  for (int64_t j = 0; j < TW; ++j)
    iota[j] = static_cast<int32_t>(j);
  Value lanes = arith::ConstantOp::create(b, DenseElementsAttr::get(t, ArrayRef<int32_t>(iota)));
  Value cols = arith::AddIOp::create(b, lanes, splat(t, arith::IndexCastOp::create(b, i32, c0)));
  SmallVector<Value> seen;
  for (Value row : rows) {
    Value any;
    for (int k = 0; k < 3; ++k) {
      Value lo = splat(t, load(mask, {row, idx(k), idx(0)}));
      Value hi = splat(t, load(mask, {row, idx(k), idx(1)}));
      Value in = arith::AndIOp::create(b, cmp(arith::CmpIPredicate::sge, cols, lo),
                                       cmp(arith::CmpIPredicate::slt, cols, hi));
      any = any ? arith::OrIOp::create(b, any, in).getResult() : in;
    }
    seen.push_back(any);
  }
  return seen;
}

void AttentionEmitter::biasTile(Value tile, const LayoutBuffers &l, Value rabPos, Value rabTime,
                                ArrayRef<Value> rows, Value col0, Value last) {
  for (size_t r = 0; r < rows.size(); ++r) {
    Value row = rows[r];
    Value gi = load(l.group, {row}), ti = load(l.time, {row}), pi = load(l.pos, {row});
    loop(idx(0), idx(TW), [&](Value j) {
      Value col = minI(add(col0, j), last);
      store(rabTerms(l, rabPos, rabTime, gi, ti, pi, col).bias, tile, {idx(r), j});
    });
  }
}

SmallVector<Value> AttentionEmitter::tileMasks(const Block &blk, const Tile &tile, Value mask,
                                              bool rowsMustExist) {
  VectorType lanes = vec(TW, b.getI1Type());
  SmallVector<Type> types(BR, lanes);
  auto test = scf::IfOp::create(b, types, tile.full, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&test.getThenRegion().front());
  Value all = splat(lanes, arith::ConstantIntOp::create(b, 1, 1));
  scf::YieldOp::create(b, SmallVector<Value>(BR, all));
  b.setInsertionPointToStart(&test.getElseRegion().front());
  SmallVector<Value> seen = visibleLanes(mask, blk.rows, tile.c0);
  if (rowsMustExist)
    for (int64_t r = 0; r < BR; ++r) {
      Value exists = cmp(arith::CmpIPredicate::slt, add(blk.r0, idx(r)), blk.n);
      seen[r] = arith::AndIOp::create(b, seen[r], splat(lanes, exists));
    }
  scf::YieldOp::create(b, seen);
  return SmallVector<Value>(test.getResults());
}

void AttentionEmitter::forEachTile(const LayoutBuffers &l, const TileListBuffers &t,
                                   Value panelStart, function_ref<void(Block &)> perBlock,
                                   function_ref<void(Block &, Tile &)> perTile,
                                   function_ref<void(Block &)> afterBlock, Value firstBlock,
                                   Value endBlock) {
  loop(idx(0), samples(l), [&](Value s) {
    Block blk;
    blk.start = load(l.offsets, {s});
    blk.sample = s;
    blk.end = load(l.offsets, {add(s, idx(1))});
    blk.n = sub(blk.end, blk.start);
    Value first = load(t.blockStart, {s}), firstPanel = load(panelStart, {s});
    Value last = load(t.blockStart, {add(s, idx(1))});
    Value lo = idx(0), hi = sub(last, first);
    if (firstBlock) { // the sample's blocks inside [firstBlock, endBlock)
      lo = sub(maxI(first, firstBlock), first);
      hi = maxI(lo, sub(minI(last, endBlock), first));
    }
    loop(lo, hi, [&](Value rb) {
      blk.r0 = mul(rb, idx(BR));
      blk.rows.clear();
      Value lastRow = sub(blk.end, idx(1));
      for (int64_t r = 0; r < BR; ++r)
        blk.rows.push_back(minI(add(blk.start, add(blk.r0, idx(r))), lastRow));
      perBlock(blk);
      Value g = add(first, rb);
      loop(load(t.tileStart, {g}), load(t.tileStart, {add(g, idx(1))}), [&](Value e) {
        Value code = toIndex(load(t.tiles, {e}));
        Tile tile;
        tile.full = cmp(arith::CmpIPredicate::eq, arith::AndIOp::create(b, code, idx(1)), idx(1));
        tile.half = cmp(arith::CmpIPredicate::eq, arith::AndIOp::create(b, code, idx(2)), idx(2));
        tile.index = arith::ShRUIOp::create(b, code, idx(2));
        tile.panel = add(firstPanel, tile.index);
        tile.c0 = mul(tile.index, idx(BC));
        tile.col0 = add(blk.start, tile.c0);
        perTile(blk, tile);
      });
      afterBlock(blk);
    });
  });
}

std::pair<Value, Value> AttentionEmitter::costShare(const TileListBuffers &t, Value samples,
                                                    Value part, Value parts) {
  Value blocks = load(t.blockStart, {samples});
  Value total = add(load(t.tileStart, {blocks}), blocks);
  // The first block whose cost so far reaches part / parts of the total.
  auto boundary = [&](Value p) {
    Value target = arith::DivUIOp::create(b, mul(total, p), parts);
    Value zero = idx(0), one = idx(1);
    return loopAcc(idx(0), blocks, zero, [&](Value g, Value n) {
      Value before = add(load(t.tileStart, {g}), g);
      return add(n, select(cmp(arith::CmpIPredicate::ult, before, target), one, zero));
    });
  };
  Value lo = boundary(part);
  Value hi = select(cmp(arith::CmpIPredicate::eq, add(part, idx(1)), parts), blocks,
                    boundary(add(part, idx(1))));
  return {lo, hi};
}

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
  // accumulators, weights and norms.
  Value parts = threads();
  SmallVector<std::pair<Type, SmallVector<int64_t>>> scratch{
      {f32(), {BR, h * dv}}, {f32(), {BR, BC}}, {f32(), {BR}}};
  if (rab)
    scratch.push_back({f32(), {BR, BC}});
  // One part: its row blocks [firstBlock, endBlock), with its own scratch.
  auto part = [&](Value firstBlock, Value endBlock, ArrayRef<Value> own) {
    Value acc = own[0], weights = own[1], inv = own[2];
    Value bias = rab ? own[3] : Value();
    forEachTile(
        l, t, panelStart,
        [&](Block &blk) {
          fill(acc, cf32(0.0));
          inverseNorms(blk, inv, mask, op.getNNorm(), op.getNNormConstant());
        },
        [&](Block &blk, Tile &tile) { byWidth(tile.half, [&] {
          VectorType vt = vec(TW, f32());
          Value alpha = splat(vt, cf32(alphaValue)), zero = splat(vt, cf32(0.0));
          Value last = sub(blk.end, idx(1));
          SmallVector<Value> seen = tileMasks(blk, tile, mask, /*rowsMustExist=*/false);
          if (bias)
            biasTile(bias, l, rabPos, rabTime, blk.rows, tile.col0, last);
          loop(idx(0), idx(h), [&](Value head) {
            SmallVector<Value> scores =
                tileProduct(q, blk.rows, panels, tile.panel, mul(head, idx(dqk)), dqk);
            for (int64_t r = 0; r < BR; ++r) {
              Value s = arith::MulFOp::create(b, alpha, scores[r], fast());
              if (bias)
                s = arith::AddFOp::create(b, s, vload(vt, bias, {idx(r), idx(0)}), fast());
              Value a = arith::MulFOp::create(b, silu(s), splat(vt, load(inv, {idx(r)})), fast());
              vstore(select(seen[r], a, zero), weights, {idx(r), idx(0)});
            }
            accumulateRows(acc, mul(head, idx(dv)), weights, v, mul(head, idx(dv)), dv, tile.col0,
                           last);
          });
        }); },
        [&](Block &blk) {
          // The block's rows that exist.
          loop(idx(0), minI(idx(BR), sub(blk.n, blk.r0)), [&](Value r) {
            Value row = add(blk.start, add(blk.r0, r));
            loop(idx(0), idx(h * dv), [&](Value c) { store(load(acc, {r, c}), o, {row, c}); });
          });
        },
        firstBlock, endBlock);
  };
  parallelParts(parts, "attention", [&](Value p) {
    auto [firstBlock, endBlock] = costShare(t, samples(l), p, parts);
    withScratch(scratch, [&](ArrayRef<Value> own) { part(firstBlock, endBlock, own); });
  });
}

SmallVector<Value> AttentionEmitter::attentionBackwardBuffers(HstuAttentionBackwardOp op,
                                                              const LayoutBuffers &l,
                                                              Value rabPos, Value rabTime) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  Value B = samples(l), N = load(l.offsets, {B});
  Value panelStart = panelStarts(l);
  SmallVector<Value> out{alloc(f32(), {h * dqk}, N), alloc(f32(), {h * dqk}, N),
                         alloc(f32(), {h * dv}, N), panelStart,
                         allocPanels(panelStart, B, h * dqk), allocPanels(panelStart, B, h * dv),
                         allocStatic(f32(), {BR, h * dqk}), allocStatic(f32(), {BR, BC}),
                         allocStatic(f32(), {BR, BC}), allocStatic(f32(), {BR})};
  if (rabPos)
    out.append({allocStatic(f32(), {BR, BC}), allocStatic(f32(), {BR, BC}),
                allocStatic(f32(), {cast<MemRefType>(rabPos.getType()).getDimSize(0)}),
                allocStatic(f32(), {cast<MemRefType>(rabTime.getType()).getDimSize(0)})});
  return out;
}

void AttentionEmitter::attentionBackwardKernel(HstuAttentionBackwardOp op, ValueRange a, bool rab) {
  std::array<int64_t, 3> dims = headDims(op);
  int64_t h = dims[0], dqk = dims[1], dv = dims[2];
  double alphaValue = op.getAlpha().convertToDouble();
  KernelArgs next{a};
  Value q = next()[0], k = next()[0], v = next()[0], mask = next()[0], dO = next()[0];
  LayoutBuffers l(next(5));
  TileListBuffers t(next(4));
  Value rabPos = rab ? next()[0] : Value(), rabTime = rab ? next()[0] : Value();
  Value dq = next()[0], dk = next()[0], dvb = next()[0];
  Value panelStart = next()[0], kPanels = next()[0], vPanels = next()[0];
  Value dqAcc = next()[0], weights = next()[0], dScores = next()[0], inv = next()[0];
  Value bias, dsSum, dP, dT;
  if (rab) {
    bias = next()[0], dsSum = next()[0], dP = next()[0], dT = next()[0];
    fill(dP, cf32(0.0));
    fill(dT, cf32(0.0));
  }
  fill(dk, cf32(0.0));
  fill(dvb, cf32(0.0));
  fillPanels(k, l, panelStart, kPanels, h * dqk);
  fillPanels(v, l, panelStart, vPanels, h * dv);
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
          SmallVector<Value> scores = tileProduct(q, blk.rows, kPanels, tile.panel, qOff, dqk);
          SmallVector<Value> dA = tileProduct(dO, blk.rows, vPanels, tile.panel, vOff, dv);
          for (int64_t r = 0; r < BR; ++r) {
            Value s = arith::MulFOp::create(b, alpha, scores[r], fast());
            if (bias)
              s = arith::AddFOp::create(b, s, vload(vt, bias, {idx(r), idx(0)}), fast());
            Value sig = sigmoid(s), invNorm = splat(vt, load(inv, {idx(r)}));
            Value a = fmul(fmul(s, sig), invNorm);
            // ds = dA silu'(s) / n_norm, silu'(s) = sig (1 + s (1 - sig))
            Value grad = fmul(sig, fadd(one, fmul(s, fsub(one, sig))));
            Value ds = select(seen[r], fmul(fmul(dA[r], grad), invNorm), zero);
            vstore(select(seen[r], a, zero), weights, {idx(r), idx(0)});
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
      });
}

struct LowerBuildMask : LoopPattern<BuildMaskOp> {
  using LoopPattern::LoopPattern;
  Results lower(BuildMaskOp op, Adaptor a, LoopBuilder &l) const override {
    LayoutBuffers lay(a.getLayout());
    AttentionEmitter e(l.b, op.getLoc());
    return Buffers{{e.buildMask(op.getKind(), lay), lay.offsets}};
  }
};

struct LowerAttentionTiles : LoopPattern<AttentionTilesOp> {
  using LoopPattern::LoopPattern;
  Results lower(AttentionTilesOp op, Adaptor a, LoopBuilder &l) const override {
    auto type = cast<TileListType>(op.getType());
    AttentionEmitter e(l.b, op.getLoc(), type.getRowBlock(), type.getColTile());
    return Buffers{e.buildTiles(a.getMask()[0], LayoutBuffers(a.getLayout()))};
  }
};

/// The inputs every attention kernel takes, in order: the row buffers
/// (q, k, v, mask[, dO]), the layout, the tile list and the rab tables.
SmallVector<Value> kernelInputs(ArrayRef<Value> rows, const LayoutBuffers &lay, ValueRange tiles,
                                Value rabPos, Value rabTime) {
  SmallVector<Value> args(rows.begin(), rows.end());
  llvm::append_range(args, lay.range());
  llvm::append_range(args, tiles);
  if (rabPos)
    args.append({rabPos, rabTime});
  return args;
}

/// The tile sizes of an attention op's list, or an error without one.
FailureOr<TileListType> tilesOf(Operation *op, Value tiles) {
  if (!tiles) {
    op->emitError("attention without a tile list: run mtgr-plan-attention first");
    return failure();
  }
  return cast<TileListType>(tiles.getType());
}

struct LowerHstuAttention : LoopPattern<HstuAttentionOp> {
  using LoopPattern::LoopPattern;
  Results lower(HstuAttentionOp op, Adaptor a, LoopBuilder &l) const override {
    auto type = tilesOf(op, op.getTiles());
    if (failed(type))
      return failure();
    LayoutBuffers lay(a.getLayout());
    AttentionEmitter e(l.b, op.getLoc(), type->getRowBlock(), type->getColTile());
    Value rabPos = op.getRabPos() ? a.getRabPos()[0] : Value();
    Value rabTime = op.getRabTime() ? a.getRabTime()[0] : Value();
    bool rab = static_cast<bool>(rabPos);
    SmallVector<Value> args = kernelInputs({a.getQ()[0], a.getK()[0], a.getV()[0], a.getMask()[0]},
                                           lay, a.getTiles(), rabPos, rabTime);
    SmallVector<Value> buffers = e.attentionBuffers(op, lay, rab);
    llvm::append_range(args, buffers);
    e.callKernel(op, "forward", args,
                 [&](AttentionEmitter &k, ValueRange in) { k.attentionKernel(op, in, rab); });
    return Buffers{{buffers[0], lay.offsets}};
  }
};

struct LowerHstuAttentionBackward : LoopPattern<HstuAttentionBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(HstuAttentionBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    auto type = tilesOf(op, op.getTiles());
    if (failed(type))
      return failure();
    LayoutBuffers lay(a.getLayout());
    AttentionEmitter e(l.b, op.getLoc(), type->getRowBlock(), type->getColTile());
    Value rabPos = op.getRabPos() ? a.getRabPos()[0] : Value();
    Value rabTime = op.getRabTime() ? a.getRabTime()[0] : Value();
    bool rab = static_cast<bool>(rabPos);
    SmallVector<Value> args =
        kernelInputs({a.getQ()[0], a.getK()[0], a.getV()[0], a.getMask()[0], a.getResultGrad()[0]},
                     lay, a.getTiles(), rabPos, rabTime);
    SmallVector<Value> g = e.attentionBackwardBuffers(op, lay, rabPos, rabTime);
    llvm::append_range(args, g);
    e.callKernel(op, "backward", args, [&](AttentionEmitter &k, ValueRange in) {
      k.attentionBackwardKernel(op, in, rab);
    });
    Buffers out{{g[0], lay.offsets}, {g[1], lay.offsets}, {g[2], lay.offsets}};
    if (rab)
      out.append({{g[g.size() - 2]}, {g[g.size() - 1]}});
    return out;
  }
};
} // namespace

void mlir::mtgr::populateAttentionLoweringPatterns(BufferTypeConverter &converter,
                                                   RewritePatternSet &patterns) {
  patterns.add<LowerBuildMask, LowerAttentionTiles, LowerHstuAttention,
               LowerHstuAttentionBackward>(converter, patterns.getContext());
}
