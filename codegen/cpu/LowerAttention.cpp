//===- LowerAttention.cpp - the attention family: shared tile helpers, patterns -===//
//
// The attention's shared tile helpers (relative bias terms, n_norm, key
// panels, tile products, the walk over listed tiles, threads by cost) and the
// patterns of the family. AttentionEmitter.h says how the rest is split.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::mtgr;
using namespace mlir::mtgr::cpu;

AttentionEmitter::Rab AttentionEmitter::rabTerms(const LayoutBuffers &l, Value rabPos,
                                                 Value rabTime, Value gi, Value ti, Value pi,
                                                 Value col) {
  return mtgr::rabTerms(*this, l, rabPos, rabTime, gi, ti, pi, col);
}

Value AttentionEmitter::attentionNorm(NNorm mode, std::optional<APFloat> constant, Value mask,
                                      Value row, Value start, Value end) {
  return mtgr::attentionNorm(*this, mode, constant, mask, row, start, end);
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
  // Per panel: BC rows of x, written as the panel's lanes; lanes past the
  // sample's end are zero. Whole vectors of L = BC / 2 columns are moved as
  // L x L squares transposed in registers (a lane at a time, the stores
  // became scatters: 18% of the attention's time on MTGR-small); the last
  // w % L columns lane by lane. A square's L rows go across all columns
  // before the next square's: L streams of K's rows at a time, not BC (the
  // fill went from ~1.0% to ~0.85% of MTGR-small's forward on znver4). The
  // threads take even shares of all panels
  // (a request is often one sample): every row of K once per layer, a cost
  // the forward and the prefix split's score_candidates pay for the whole
  // sample.
  int64_t L = BC >= 4 && llvm::isPowerOf2_64(BC / 2) ? BC / 2 : 1;
  int64_t squares = L > 1 ? BC / L : 0, vectorColumns = L > 1 ? w / L * L : 0;
  Value B = samples(l), parts = threads();
  parallelParts(parts, "panels", [&](Value part) {
    auto [firstPanel, endPanel] = evenShare(load(panelStart, {B}), part, parts);
    loop(firstPanel, endPanel, [&](Value panel) {
      Value s = lastAtOrBelow(panelStart, B, panel);
      Value start = load(l.offsets, {s}), end = load(l.offsets, {add(s, idx(1))});
      Value row0 = add(start, mul(sub(panel, load(panelStart, {s})), idx(BC)));
      SmallVector<Value> inside, rows;
      for (int64_t lane = 0; lane < BC; ++lane) {
        Value row = add(row0, idx(lane));
        inside.push_back(cmp(arith::CmpIPredicate::slt, row, end));
        rows.push_back(minI(row, sub(end, idx(1))));
      }
      for (int64_t sq = 0; sq < squares && vectorColumns > 0; ++sq)
        packSquares(*this, x, ArrayRef(rows).slice(sq * L, L), ArrayRef(inside).slice(sq * L, L),
                    panels, panel, sq * L, vectorColumns / L);
      loop(idx(vectorColumns), idx(w), [&](Value c) {
        for (int64_t lane = 0; lane < BC; ++lane)
          store(select(inside[lane], load(x, {rows[lane], c}), cf32(0.0)), panels,
                {panel, c, idx(lane)});
      });
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
  os << op->getName() << op->getPropertiesAsAttribute() << BR << "x" << BC << "r"
     << machine.vectorRegisters << "s" << machine.sweepBytes << "l" << machine.l1Bytes << "L"
     << machine.l2Bytes;
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
    AttentionEmitter kernel(b, op->getLoc(), BR, BC, machine);
    body(kernel, entry->getArguments());
    func::ReturnOp::create(kernel.b);
  }
  auto call = func::CallOp::create(b, fn, args);
  call->setAttr("mtgr.kernel_call", b.getUnitAttr()); // reads and writes, keeps nothing
}

void AttentionEmitter::packRowBlock(Value x, ArrayRef<Value> rows, Value block, int64_t w,
                                    Value slot) {
  slot = slot ? slot : idx(0);
  // Rows in power-of-two groups (8; 6 = 4 + 2), each group's columns as
  // L x L squares transposed in registers; the last w % L columns and
  // single rows element by element.
  int64_t r0 = 0, n = static_cast<int64_t>(rows.size());
  while (r0 < n) {
    int64_t L = int64_t(1) << llvm::Log2_64(n - r0);
    int64_t vectorColumns = L > 1 ? w / L * L : 0;
    if (vectorColumns > 0)
      packSquares(*this, x, rows.slice(r0, L), SmallVector<Value>(L), block, slot, r0,
                  vectorColumns / L);
    if (vectorColumns < w)
      loop(idx(vectorColumns), idx(w), [&](Value c) {
        for (int64_t r = r0; r < r0 + L; ++r)
          store(load(x, {rows[r], c}), block, {slot, c, idx(r)});
      });
    r0 += L;
  }
}

SmallVector<Value> AttentionEmitter::tileProduct(Value block, Value slot, int64_t rows,
                                                 Value panels, Value panel, Value off,
                                                 int64_t width) {
  VectorType t = vec(TW, f32());
  Value zero = splat(t, cf32(0.0));
  SmallVector<Value> init(rows, zero);
  auto f = scf::ForOp::create(b, idx(0), idx(width), idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(f.getBody());
    Value k = add(off, f.getInductionVar());
    Value keys = vload(t, panels, {panel, k, idx(0)});
    SmallVector<Value> next;
    for (int64_t r = 0; r < rows; ++r)
      next.push_back(fma(splat(t, load(block, {slot, k, idx(r)})), keys, f.getRegionIterArgs()[r]));
    scf::YieldOp::create(b, next);
  }
  return SmallVector<Value>(f.getResults());
}

void AttentionEmitter::accumulateRows(int64_t rows, Value out, Value outRow0, Value outOff, Value p,
                                      Value pRow0, Value y, Value yOff, int64_t width, Value count,
                                      function_ref<Span(Value)> spanAt, Value fresh) {
  // Register tile: all `rows` rows x kVectors vectors of the output (8 x 2
  // with 32 registers, 6 x 2 with 16), loaded once for all the spans: per
  // column kVectors loads of Y and `rows` broadcasts feed rows * kVectors
  // FMAs. Loaded and stored per tile, the accumulators took ~5% of the
  // forward kernel's samples (8 rows x dv floats per head per 32 columns,
  // AVX-512); over a group of tiles they stay in registers. Each output
  // element adds the spans' columns in order, as tile by tile.
  int64_t lanes = laneWidth(width), vectors = width / lanes;
  RegisterTile tile =
      bestRegisterTile(machine.vectorRegisters, rows, vectors,
                       [&](int64_t r, int64_t v) { return r == rows && vectors % v == 0; });
  int64_t kVectors = tile.vectors;
  VectorType t = vec(lanes, f32());
  loop(idx(0), idx(vectors / kVectors), [&](Value chunk) {
    Value c0 = mul(chunk, idx(kVectors * lanes));
    auto at = [&](int64_t r, int64_t v) -> SmallVector<Value> {
      return {add(outRow0, idx(r)), add(outOff, add(c0, idx(v * lanes)))};
    };
    auto loadAll = [&] {
      SmallVector<Value> loaded;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t v = 0; v < kVectors; ++v)
          loaded.push_back(vload(t, out, at(r, v)));
      return loaded;
    };
    SmallVector<Value> acc;
    if (fresh) {
      // Zeros where the output starts here, else its sums so far.
      SmallVector<Type> types(rows * kVectors, t);
      auto start = scf::IfOp::create(b, types, fresh, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&start.getThenRegion().front());
      scf::YieldOp::create(b, SmallVector<Value>(rows * kVectors, splat(t, cf32(0.0))));
      b.setInsertionPointToStart(&start.getElseRegion().front());
      scf::YieldOp::create(b, loadAll());
      acc.assign(start.getResults().begin(), start.getResults().end());
    } else {
      acc = loadAll();
    }
    // The same row's next chunk, prefetched a line per 16 floats: Y's rows
    // lie a row stride apart (2 KiB on MTGR-small), and the hardware's
    // prefetchers did not keep up (AVX2 on znver4: 74-76 -> 78-79 GFLOP/s).
    Value nextChunk = minI(add(c0, idx(kVectors * lanes)), idx(width - lanes));
    auto spans = scf::ForOp::create(b, idx(0), count, idx(1), acc);
    {
      OpBuilder::InsertionGuard spanGuard(b);
      b.setInsertionPointToStart(spans.getBody());
      Value s = spans.getInductionVar();
      Span span = spanAt(s);
      Value pCol0 = mul(s, idx(BC));
      auto cols = scf::ForOp::create(b, span.first, span.end, idx(1), spans.getRegionIterArgs());
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(cols.getBody());
        Value j = cols.getInductionVar();
        Value col = add(span.col0, j); // a visible column exists: no clamp
        SmallVector<Value> ys, next;
        for (int64_t v = 0; v < kVectors; ++v)
          ys.push_back(vload(t, y, {col, add(yOff, add(c0, idx(v * lanes)))}));
        for (int64_t v = 0; v < kVectors; v += std::max<int64_t>(1, 16 / lanes))
          prefetch(y, {col, add(yOff, add(nextChunk, idx(v * lanes)))});
        Value pj = add(pCol0, j);
        for (int64_t r = 0; r < rows; ++r) {
          Value weight = splat(t, load(p, {add(pRow0, idx(r)), pj}));
          for (int64_t v = 0; v < kVectors; ++v)
            next.push_back(fma(weight, ys[v], cols.getRegionIterArgs()[r * kVectors + v]));
        }
        scf::YieldOp::create(b, next);
      }
      scf::YieldOp::create(b, cols.getResults());
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < kVectors; ++v)
        vstore(spans.getResult(r * kVectors + v), out, at(r, v));
  });
}

void AttentionEmitter::accumulateColumns(Value out, Value p, Value y, ArrayRef<Value> rows,
                                         Value off, int64_t width, Value col0, Value first,
                                         Value end) {
  // Register tile (bestRegisterTile: 6 x 4 with 32 registers, 6 x 2 with
  // 16): kCols output rows (key columns j) x kVectors vectors, loaded once,
  // then per block row r kVectors loads of Y and kCols broadcasts of P feed
  // kCols * kVectors FMAs (one column at a time, each FMA needed a load of Y
  // and a broadcast). Each element still adds the rows in order: the same
  // sums as column by column.
  int64_t lanes = laneWidth(width), vectors = width / lanes;
  RegisterTile shape = bestRegisterTile(machine.vectorRegisters, BC, vectors,
                                        [&](int64_t, int64_t v) { return vectors % v == 0; });
  int64_t kCols = shape.rows, kVectors = shape.vectors;
  VectorType t = vec(lanes, f32());
  auto tile = [&](Value j0, int64_t cols) {
    loop(idx(0), idx(vectors / kVectors), [&](Value chunk) {
      Value c0 = add(off, mul(chunk, idx(kVectors * lanes)));
      SmallVector<Value> acc;
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t v = 0; v < kVectors; ++v)
          acc.push_back(vload(t, out, {add(col0, add(j0, idx(j))), add(c0, idx(v * lanes))}));
      for (auto [r, row] : llvm::enumerate(rows)) {
        SmallVector<Value> ys;
        for (int64_t v = 0; v < kVectors; ++v)
          ys.push_back(vload(t, y, {row, add(c0, idx(v * lanes))}));
        for (int64_t j = 0; j < cols; ++j) {
          Value weight = splat(t, load(p, {idx(r), add(j0, idx(j))}));
          for (int64_t v = 0; v < kVectors; ++v)
            acc[j * kVectors + v] = fma(weight, ys[v], acc[j * kVectors + v]);
        }
      }
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t v = 0; v < kVectors; ++v)
          vstore(acc[j * kVectors + v], out, {add(col0, add(j0, idx(j))), add(c0, idx(v * lanes))});
    });
  };
  Value count = maxI(sub(end, first), idx(0));
  Value groups = arith::DivUIOp::create(b, count, idx(kCols));
  loop(idx(0), groups, [&](Value g) { tile(add(first, mul(g, idx(kCols))), kCols); });
  loop(add(first, mul(groups, idx(kCols))), end, [&](Value j) { tile(j, 1); });
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

AttentionEmitter::TileView AttentionEmitter::tileMasks(const Block &blk, const Tile &tile,
                                                       Value mask, bool rowsMustExist) {
  VectorType lanes = vec(TW, b.getI1Type());
  SmallVector<Type> types(BR, lanes);
  types.append(2, b.getIndexType());
  auto test = scf::IfOp::create(b, types, tile.full, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&test.getThenRegion().front());
  Value all = splat(lanes, arith::ConstantIntOp::create(b, 1, 1));
  SmallVector<Value> whole(BR, all);
  whole.append({idx(0), idx(TW)});
  scf::YieldOp::create(b, whole);
  b.setInsertionPointToStart(&test.getElseRegion().front());
  SmallVector<Value> seen = visibleLanes(mask, blk.rows, tile.c0);
  if (rowsMustExist)
    for (int64_t r = 0; r < BR; ++r) {
      Value exists = cmp(arith::CmpIPredicate::slt, add(blk.r0, idx(r)), blk.n);
      seen[r] = arith::AndIOp::create(b, seen[r], splat(lanes, exists));
    }
  // The columns the rows' intervals reach inside the tile. Rows past the
  // sample's end are copies of its last row: they widen nothing.
  Value first = idx(TW), end = idx(0);
  for (Value row : blk.rows)
    for (int k = 0; k < 3; ++k) {
      Value lo = maxI(sub(toIndex(load(mask, {row, idx(k), idx(0)})), tile.c0), idx(0));
      Value hi = minI(sub(toIndex(load(mask, {row, idx(k), idx(1)})), tile.c0), idx(TW));
      Value some = cmp(arith::CmpIPredicate::slt, lo, hi);
      first = select(some, minI(first, lo), first);
      end = select(some, maxI(end, hi), end);
    }
  seen.append({first, end});
  scf::YieldOp::create(b, seen);
  TileView view;
  view.seen.assign(test.getResults().begin(), test.getResults().begin() + BR);
  view.first = test.getResult(BR);
  view.end = test.getResult(BR + 1);
  return view;
}

AttentionEmitter::Block AttentionEmitter::blockAt(const LayoutBuffers &l, Value s, Value rb) {
  Block blk;
  blk.sample = s;
  blk.start = load(l.offsets, {s});
  blk.end = load(l.offsets, {add(s, idx(1))});
  blk.n = sub(blk.end, blk.start);
  blk.r0 = mul(rb, idx(BR));
  Value lastRow = sub(blk.end, idx(1));
  for (int64_t r = 0; r < BR; ++r)
    blk.rows.push_back(minI(add(blk.start, add(blk.r0, idx(r))), lastRow));
  return blk;
}

AttentionEmitter::Tile AttentionEmitter::tileOf(Value code, Value panelStart, const Block &blk) {
  // attention_tiles' code: bit 0 full, bit 1 half, the column tile above.
  Tile tile;
  tile.full = cmp(arith::CmpIPredicate::eq, arith::AndIOp::create(b, code, idx(1)), idx(1));
  tile.half = cmp(arith::CmpIPredicate::eq, arith::AndIOp::create(b, code, idx(2)), idx(2));
  tile.index = arith::ShRUIOp::create(b, code, idx(2));
  tile.panel = add(load(panelStart, {blk.sample}), tile.index);
  tile.c0 = mul(tile.index, idx(BC));
  tile.col0 = add(blk.start, tile.c0);
  return tile;
}

namespace {
/// A sample's row blocks inside [firstBlock, endBlock) (null: all), as
/// block numbers within the sample, and the sample's first in the list.
struct SampleBlocks {
  Value first, lo, hi;
};
SampleBlocks sampleBlocks(LoopBuilder &b, const TileListBuffers &t, Value s, Value firstBlock,
                          Value endBlock) {
  Value first = b.load(t.blockStart, {s});
  Value last = b.load(t.blockStart, {b.add(s, b.idx(1))});
  Value lo = b.idx(0), hi = b.sub(last, first);
  if (firstBlock) {
    lo = b.sub(b.maxI(first, firstBlock), first);
    hi = b.maxI(lo, b.sub(b.minI(last, endBlock), first));
  }
  return {first, lo, hi};
}
} // namespace

void AttentionEmitter::forEachTile(const LayoutBuffers &l, const TileListBuffers &t,
                                   Value panelStart, function_ref<void(Block &)> perBlock,
                                   function_ref<void(Block &, Tile &)> perTile,
                                   function_ref<void(Block &)> afterBlock, Value firstBlock,
                                   Value endBlock) {
  loop(idx(0), samples(l), [&](Value s) {
    SampleBlocks range = sampleBlocks(*this, t, s, firstBlock, endBlock);
    loop(range.lo, range.hi, [&](Value rb) {
      Block blk = blockAt(l, s, rb);
      blk.entry = add(range.first, rb);
      perBlock(blk);
      Value t0 = load(t.tileStart, {blk.entry});
      Value t1 = load(t.tileStart, {add(blk.entry, idx(1))});
      loop(t0, t1, [&](Value e) {
        Tile tile = tileOf(toIndex(load(t.tiles, {e})), panelStart, blk);
        perTile(blk, tile);
      });
      afterBlock(blk);
    });
  });
}

void AttentionEmitter::forEachTileGroup(const LayoutBuffers &l, const TileListBuffers &t,
                                        Value panelStart,
                                        function_ref<Value(Value columnTiles)> superBlocksOf,
                                        int64_t groupTiles, Value cursors, Value firstBlock,
                                        Value endBlock, function_ref<void(Block &)> perBlock,
                                        function_ref<void(Block &, Tile &)> perTile,
                                        function_ref<void(Block &, Value count)> afterGroup,
                                        function_ref<void(Block &)> afterBlock) {
  loop(idx(0), samples(l), [&](Value s) {
    SampleBlocks range = sampleBlocks(*this, t, s, firstBlock, endBlock);
    Value columnTiles = sub(load(panelStart, {add(s, idx(1))}), load(panelStart, {s}));
    Value superBlocks = superBlocksOf(columnTiles);
    auto supers = scf::ForOp::create(b, range.lo, range.hi, superBlocks);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(supers.getBody());
    Value sb0 = supers.getInductionVar();
    Value sb1 = minI(add(sb0, superBlocks), range.hi);
    auto eachBlock = [&](function_ref<void(Block &)> body) {
      loop(sb0, sb1, [&](Value rb) {
        Block blk = blockAt(l, s, rb);
        blk.entry = add(range.first, rb);
        blk.slot = sub(rb, sb0);
        body(blk);
      });
    };
    eachBlock([&](Block &blk) {
      perBlock(blk);
      store(load(t.tileStart, {blk.entry}), cursors, {blk.slot});
    });
    auto ranges = scf::ForOp::create(b, idx(0), columnTiles, idx(groupTiles));
    {
      OpBuilder::InsertionGuard rangeGuard(b);
      b.setInsertionPointToStart(ranges.getBody());
      Value limit = add(ranges.getInductionVar(), idx(groupTiles));
      eachBlock([&](Block &blk) {
        // The block's entries from its cursor on whose column tile lies
        // below the range's end (entries ascend by column): at most G.
        Value e0 = load(cursors, {blk.slot});
        Value t1 = load(t.tileStart, {add(blk.entry, idx(1))});
        Value e1 = loopAcc(e0, minI(add(e0, idx(groupTiles)), t1), e0, [&](Value e, Value end) {
          Value column = arith::ShRUIOp::create(b, toIndex(load(t.tiles, {e})), idx(2));
          return select(cmp(arith::CmpIPredicate::ult, column, limit), add(e, idx(1)), end);
        });
        store(e1, cursors, {blk.slot});
        ifThen(cmp(arith::CmpIPredicate::ult, e0, e1), [&] {
          loop(e0, e1, [&](Value e) {
            Tile tile = tileOf(toIndex(load(t.tiles, {e})), panelStart, blk);
            tile.slot = sub(e, e0);
            perTile(blk, tile);
          });
          afterGroup(blk, sub(e1, e0));
        });
      });
    }
    eachBlock(afterBlock);
  });
}

std::pair<Value, Value> AttentionEmitter::shareByCost(Value units,
                                                      function_ref<Value(Value)> costBefore,
                                                      Value part, Value parts) {
  Value total = costBefore(units);
  // The number of units whose cost before them is below part / parts of
  // the total: the first unit of the part (costs ascend).
  auto boundary = [&](Value p) {
    Value target = arith::DivUIOp::create(b, mul(total, p), parts);
    Value zero = idx(0), one = idx(1);
    return loopAcc(idx(0), units, zero, [&](Value u, Value n) {
      return add(n, select(cmp(arith::CmpIPredicate::ult, costBefore(u), target), one, zero));
    });
  };
  Value lo = boundary(part);
  Value hi = select(cmp(arith::CmpIPredicate::eq, add(part, idx(1)), parts), units,
                    boundary(add(part, idx(1))));
  return {lo, hi};
}

std::pair<Value, Value> AttentionEmitter::costShare(const TileListBuffers &t, Value samples,
                                                    Value part, Value parts, bool wholeSamples) {
  // Units are row blocks, or whole samples (from their first block); a
  // block costs its listed tiles + 1.
  auto firstBlock = [&](Value u) { return wholeSamples ? load(t.blockStart, {u}) : u; };
  Value units = wholeSamples ? samples : load(t.blockStart, {samples});
  auto [lo, hi] = shareByCost(
      units,
      [&](Value u) {
        Value g = firstBlock(u);
        return add(load(t.tileStart, {g}), g);
      },
      part, parts);
  return {firstBlock(lo), firstBlock(hi)};
}

namespace {
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

/// What the forward and backward patterns share: the tile sizes from the
/// op's list, the layout, the relative-bias tables, and the kernel's inputs
/// (`values`, then the layout, the tile list and the rab tables); `emit`
/// appends the op's buffers, calls the kernel and returns the results.
template <typename Op, typename Adaptor>
Results lowerAttention(Op op, Adaptor a, LoopBuilder &l, const AttentionMachine &machine,
                       ArrayRef<Value> values,
                       function_ref<Results(AttentionEmitter &, const LayoutBuffers &,
                                            SmallVector<Value> &args, Value rabPos, Value rabTime)>
                           emit) {
  auto type = tilesOf(op, op.getTiles());
  if (failed(type))
    return failure();
  LayoutBuffers lay(a.getLayout());
  AttentionEmitter e(l.b, op.getLoc(), type->getRowBlock(), type->getColTile(), machine);
  Value rabPos = op.getRabPos() ? a.getRabPos()[0] : Value();
  Value rabTime = op.getRabTime() ? a.getRabTime()[0] : Value();
  SmallVector<Value> args = kernelInputs(values, lay, a.getTiles(), rabPos, rabTime);
  return emit(e, lay, args, rabPos, rabTime);
}

struct LowerHstuAttention : LoopPattern<HstuAttentionOp> {
  LowerHstuAttention(const TypeConverter &converter, MLIRContext *ctx,
                     const AttentionMachine &machine)
      : LoopPattern(converter, ctx), machine(machine) {}
  AttentionMachine machine;
  Results lower(HstuAttentionOp op, Adaptor a, LoopBuilder &l) const override {
    return lowerAttention(
        op, a, l, machine, {a.getQ()[0], a.getK()[0], a.getV()[0], a.getMask()[0]},
        [&](AttentionEmitter &e, const LayoutBuffers &lay, SmallVector<Value> &args, Value rabPos,
            Value) -> Results {
          bool rab = static_cast<bool>(rabPos);
          SmallVector<Value> buffers = e.attentionBuffers(op, lay, rab);
          llvm::append_range(args, buffers);
          e.callKernel(op, "forward", args,
                       [&](AttentionEmitter &k, ValueRange in) { k.attentionKernel(op, in, rab); });
          return Buffers{{buffers[0], lay.offsets}};
        });
  }
};

struct LowerHstuAttentionBackward : LoopPattern<HstuAttentionBackwardOp> {
  LowerHstuAttentionBackward(const TypeConverter &converter, MLIRContext *ctx,
                             const AttentionMachine &machine)
      : LoopPattern(converter, ctx), machine(machine) {}
  AttentionMachine machine;
  Results lower(HstuAttentionBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    return lowerAttention(
        op, a, l, machine,
        {a.getQ()[0], a.getK()[0], a.getV()[0], a.getMask()[0], a.getResultGrad()[0]},
        [&](AttentionEmitter &e, const LayoutBuffers &lay, SmallVector<Value> &args, Value rabPos,
            Value rabTime) -> Results {
          bool rab = static_cast<bool>(rabPos);
          SmallVector<Value> g =
              e.attentionBackwardBuffers(op, lay, TileListBuffers(a.getTiles()), rabPos, rabTime);
          llvm::append_range(args, g);
          e.callKernel(op, "backward", args, [&](AttentionEmitter &k, ValueRange in) {
            k.attentionBackwardKernel(op, in, rab);
          });
          Buffers out{{g[0], lay.offsets}, {g[1], lay.offsets}, {g[2], lay.offsets}};
          if (rab) // dP, dT (then their chunks' partial sums)
            out.append({{g[g.size() - 4]}, {g[g.size() - 3]}});
          return out;
        });
  }
};
} // namespace

void mlir::mtgr::populateAttentionLoweringPatterns(BufferTypeConverter &converter,
                                                   RewritePatternSet &patterns,
                                                   const AttentionMachine &machine) {
  patterns.add<LowerHstuAttention, LowerHstuAttentionBackward>(converter, patterns.getContext(),
                                                               machine);
  populateMaskLoweringPatterns(converter, patterns);
}
