//===- GpuTensorCoreAttention.cpp - HSTU attention on tensor cores --------===//
//
// `--attention=tensor-core` (issue 25): the forward and the backward's dQ,
// dK and dV as fused passes of one generator (GpuAttention.h
// FusedAttentionPass). A block per (outer block, head, chunk of the
// output's columns), a warp per 16 outer rows. Per listed inner tile:
//   sums      each product (Q.K; dO.V for the gradients) with both sides
//             staged as bf16 in shared memory in chunks of up to 64 along
//             the head dimension (the outer side once per block when one
//             chunk holds the only product), ldmatrix.x4 / .x2 fragments,
//             mma.sync m16n8k16 into f32;
//   W         each lane finishes its own accumulator elements (outer rows
//             g and g + 8 of its warp's 16, inner columns 2t, 2t + 1 of
//             each 8): s = alpha <q, k> + rab, the pass's weight, 1 /
//             n_norm of the query row, and unless the tile is full the
//             interval test and the sample's edges; rounded to bf16 and
//             packed, the fragments of two 8-column tiles are W's operand
//             fragment for 16 inner rows (TensorCore.h): no shared-memory
//             round trip;
//   out += W second   the second operand staged as bf16 [inner][column]
//             (ldmatrix.x2.trans gives the column-major B fragment), f32
//             accumulators carried over the list, stored once at the end.
// Query rows outer (forward, dQ): each lane's two query rows (n_norm, mask
// intervals, rab's group/time/position) are loaded once per block. Keys
// outer (dK, dV, over the transposed list): the query rows are the inner
// columns, loaded per tile (16 distinct rows per lane).
// HSTU has no softmax: sums of weighted products, no running maximum, no
// rescaling; every output element is one block's registers: deterministic,
// no atomics. Shared-memory rows are padded by 16 bytes, so the 8 row
// addresses of an ldmatrix phase hit 8 different bank quads. Numerics:
// operands and W rounded to bf16 (8 significant bits), sums in f32.
//
// The staging is pipelined: a listed tile is a fixed sequence of steps
// (per product, a chunk of the head each; then the second operand), and
// the steps of all the block's tiles run through a ring of two shared-
// memory slots, step k + 1's copies issued (cp.async, a group a step)
// before step k is computed, so that loads overlap tensor-core work across
// chunks, operands and tiles. The sums are recomputed per chunk of output
// columns (register budget: up to 64 output + 32 per product accumulators
// a lane).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/AttentionMath.h"
#include "codegen/cuda/GpuAttention.h"
#include "codegen/cuda/GpuGemm.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/TensorCore.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
constexpr int64_t kMaxChunk = 64;
int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

/// A query row's part in its pairs' weights.
struct QueryRow {
  Value in, abs, inv;           // exists (< n), absolute (clamped into the sample), 1 / n_norm
  SmallVector<Value, 6> bounds; // the mask's 3 intervals [lo, hi)
  Value group, time, pos;       // for the relative bias
};

QueryRow queryRow(LoopBuilder &l, const AttentionInputs &in, Value local, Value start, Value end,
                  Value n) {
  QueryRow r;
  r.in = l.cmp(arith::CmpIPredicate::ult, local, n);
  r.abs = l.add(start, l.minI(local, l.sub(n, l.idx(1))));
  r.inv = in.inverseNorm(l, r.abs, start, end);
  for (int k = 0; k < 6; ++k)
    r.bounds.push_back(l.toIndex(l.load(in.mask, {r.abs, l.idx(k / 2), l.idx(k % 2)})));
  if (in.rabPos) {
    r.group = l.load(in.layout.group, {r.abs});
    r.time = l.load(in.layout.time, {r.abs});
    r.pos = l.load(in.layout.pos, {r.abs});
  }
  return r;
}

/// Whether sample-local key `j` is in one of the query row's intervals.
Value visibleTo(LoopBuilder &l, const QueryRow &r, Value j) {
  Value visible;
  for (int k = 0; k < 3; ++k) {
    Value inside = arith::AndIOp::create(l.b, l.cmp(arith::CmpIPredicate::sle, r.bounds[2 * k], j),
                                         l.cmp(arith::CmpIPredicate::slt, j, r.bounds[2 * k + 1]));
    visible = visible ? arith::OrIOp::create(l.b, visible, inside).getResult() : inside;
  }
  return visible;
}
} // namespace

std::optional<std::string> mlir::mtgr::tensorCoreAttentionTilesProblem(int64_t rowBlock,
                                                                       int64_t colTile) {
  auto fits = [](int64_t x) { return x % 16 == 0 && x >= 16 && x <= 64; };
  if (fits(rowBlock) && fits(colTile))
    return std::nullopt;
  return "the tile list's " + std::to_string(rowBlock) + " x " + std::to_string(colTile) +
         " tiles are not row blocks and column tiles of 16 .. 64, multiples of 16 "
         "(mtgr-plan-attention row-block=64 col-tile=64)";
}

void mlir::mtgr::launchFusedAttentionPass(LoopBuilder &l, const AttentionInputs &in,
                                          const FusedAttentionPass &p) {
  const int64_t BM = p.outerBlock, BN = p.innerTile;
  const int64_t warps = BM / 16, threads = warps * 32;
  int64_t widest = 0;
  for (const FusedProduct &product : p.products)
    widest = std::max(widest, product.width);
  const int64_t chunk = std::min(roundUp(widest, 16), kMaxChunk);
  const int64_t oChunk = std::min(roundUp(p.secondWidth, 8), p.outputChunk);
  const int64_t oChunks = ceilDiv(p.secondWidth, oChunk);
  const int64_t sTiles = BN / 8, oTiles = oChunk / 8;
  const int64_t stride = chunk + 8, cStride = oChunk + 8; // padded rows
  const bool outerOnce = p.products.size() == 1 && ceilDiv(p.products[0].width, chunk) == 1;
  auto lt = [&](Value x, Value y) { return l.cmp(arith::CmpIPredicate::ult, x, y); };

  // A listed tile's steps, each staging what it computes on: per product,
  // one per chunk of the head (the outer rows' chunk unless staged once,
  // and the inner rows' chunk), then the second operand.
  struct Step {
    int64_t product = -1, d0 = 0; // product -1: the second operand
  };
  SmallVector<Step> steps;
  for (auto [index, product] : llvm::enumerate(p.products))
    for (int64_t d0 = 0; d0 < product.width; d0 += chunk)
      steps.push_back({static_cast<int64_t>(index), d0});
  steps.push_back({});
  const int64_t perTile = static_cast<int64_t>(steps.size());
  // Whether a source is staged by cp.async (see `stage` below), and whether
  // any of the pass's is (else no copy groups to commit or wait for).
  auto copiedAsync = [](Value src, int64_t width) {
    return cast<MemRefType>(src.getType()).getElementType().isBF16() && width % 8 == 0;
  };
  bool anyAsync = copiedAsync(p.second, p.secondWidth);
  for (const FusedProduct &product : p.products)
    anyAsync |=
        copiedAsync(product.outer, product.width) || copiedAsync(product.inner, product.width);
  // Two slots (i16 elements), each holding any step's tiles: the ring.
  const int64_t outerElems = outerOnce ? 0 : BM * stride;
  const int64_t slotElems = std::max(outerElems + BN * stride, BN * cStride);

  Value B = l.samples(in.layout);
  Value blocks = l.load(p.outerStart, {B});
  Value one = l.idx(1);
  auto launch =
      gpu::LaunchOp::create(l.b, blocks, l.idx(in.heads), l.idx(oChunks), l.idx(threads), one, one);
  nameKernel(l, launch);
  Value ring = addSharedBuffer(l, launch, {2 * slotElems}, l.b.getI16Type());
  Value outerTile = outerOnce ? addSharedBuffer(l, launch, {BM * stride}, l.b.getI16Type()) : ring;
  // Keys outer: per tile, the inner query rows' part, staged by the block
  // (held per lane, 16 query rows' intervals and norms cost ptxas its
  // registers): the mask as bits over the block's keys, 1 / n_norm when it
  // varies by row, rab's group, time and position.
  const int64_t words = ceilDiv(BM, 32);
  const bool normPerRow = in.mode == NNorm::visible;
  Type i32 = l.b.getI32Type();
  Value bitsT, invT, groupT, timeT, posT;
  if (!p.outerIsQuery) {
    bitsT = addSharedBuffer(l, launch, {BN, words}, i32);
    if (normPerRow)
      invT = addSharedBuffer(l, launch, {BN}, l.f32());
    if (in.rabPos) {
      groupT = addSharedBuffer(l, launch, {BN}, l.b.getIndexType());
      timeT = addSharedBuffer(l, launch, {BN}, l.i64());
      posT = addSharedBuffer(l, launch, {BN}, l.b.getIndexType());
    }
  }
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());

  Value g = launch.getBlockIds().x, head = launch.getBlockIds().y;
  Value oc0 = l.mul(launch.getBlockIds().z, l.idx(oChunk));
  Value s = lastAtOrBelow(l, p.outerStart, B, g);
  Value start = l.load(in.layout.offsets, {s});
  Value end = l.load(in.layout.offsets, {l.add(s, one)});
  Value n = l.sub(end, start);
  Value r0 = l.mul(l.sub(g, l.load(p.outerStart, {s})), l.idx(BM));
  Value tid = launch.getThreadIds().x;
  Value warp = arith::DivUIOp::create(l.b, tid, l.idx(32));
  Value lane = arith::RemUIOp::create(l.b, tid, l.idx(32));
  LaneFragments f(l, lane);
  Value t2 = f.t2;

  // The lane's two outer rows (sample-local): g and g + 8 of its warp's 16.
  Value outerLocal[2], outerIn[2];
  QueryRow outerQuery[2];
  for (int h = 0; h < 2; ++h) {
    outerLocal[h] = l.add(l.add(r0, l.mul(warp, l.idx(16))), l.add(f.g, l.idx(8 * h)));
    outerIn[h] = lt(outerLocal[h], n);
    if (p.outerIsQuery)
      outerQuery[h] = queryRow(l, in, outerLocal[h], start, end, n);
  }

  // body(r, c) for r < rows, c < perRow, the block's threads taking
  // consecutive (r, c) in turn.
  auto blockLoop = [&](int64_t rows, int64_t perRow, function_ref<void(Value, Value)> body) {
    auto loop = scf::ForOp::create(l.b, tid, l.idx(rows * perRow), l.idx(threads));
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    body(arith::DivUIOp::create(l.b, e, l.idx(perRow)),
         arith::RemUIOp::create(l.b, e, l.idx(perRow)));
  };

  // A tile in shared memory: `rows` of `rowStride` i16 from element `first`
  // of a 1-D buffer (a ring slot's part, or the outer rows staged once).
  struct Tile {
    Value buffer, first;
    int64_t rowStride;
  };
  auto bytesOf = [&](const Tile &t, Value row, Value colBytes) {
    return l.add(l.mul(l.add(t.first, l.mul(row, l.idx(t.rowStride))), l.idx(2)), colBytes);
  };
  // tile[r][c] = bf16(src[start + first + r][col0 + c]) for r < rows, c <
  // cols: zero past the sample's rows and the `valid` columns. A bf16
  // source whose heads start 16 bytes apart (`width` % 8 == 0:
  // tensorCoreOperand's copies, or --dtype=bf16 storage) is copied by
  // cp.async, 16 bytes (8 columns) a copy, rows past the sample and columns
  // past `valid` zero-filled (the copy's source size), the source address
  // kept inside the buffer; any other is loaded by the threads (consecutive
  // elements: coalesced) and rounded as it is stored.
  auto stage = [&](const Tile &tile, int64_t rowCount, int64_t cols, Value src, Value first,
                   Value col0, Value valid, int64_t width) {
    if (copiedAsync(src, width)) {
      int64_t rowLength = cast<MemRefType>(src.getType()).getDimSize(1);
      Value sourceBase = memref::ExtractAlignedPointerAsIndexOp::create(l.b, src);
      Value tileBase = memref::ExtractAlignedPointerAsIndexOp::create(l.b, tile.buffer);
      blockLoop(rowCount, cols / 8, [&](Value r, Value segment) {
        Value c = l.mul(segment, l.idx(8));
        Value row = l.add(first, r);
        Value columns = l.maxI(l.minI(l.sub(valid, c), l.idx(8)), l.idx(0));
        Value bytes = l.select(lt(row, n), l.mul(columns, l.idx(2)), l.idx(0));
        Value sourceCol =
            l.add(col0, l.select(l.cmp(arith::CmpIPredicate::sgt, bytes, l.idx(0)), c, l.idx(0)));
        copyBf16Segment(l, l.add(tileBase, bytesOf(tile, r, l.mul(c, l.idx(2)))), sourceBase,
                        l.add(start, l.minI(row, l.sub(n, one))), l.idx(rowLength), sourceCol,
                        bytes);
      });
      return;
    }
    blockLoop(rowCount, cols, [&](Value r, Value c) {
      Value row = l.add(first, r);
      Value ok = arith::AndIOp::create(l.b, lt(row, n), lt(c, valid));
      Value x = loadOrZero(l, ok, [&] { return l.load(src, {l.add(start, row), l.add(col0, c)}); });
      l.store(toBf16Bits(l, x), tile.buffer,
              {l.add(tile.first, l.add(l.mul(r, l.idx(tile.rowStride)), c))});
    });
  };
  // Where step `j`'s tiles live in the slot starting at element `slot`.
  auto outerOf = [&](Value slot) {
    return outerOnce ? Tile{outerTile, l.idx(0), stride} : Tile{ring, slot, stride};
  };
  auto innerOf = [&](Value slot) { return Tile{ring, l.add(slot, l.idx(outerElems)), stride}; };
  auto secondOf = [&](Value slot) { return Tile{ring, slot, cStride}; };
  // Stages step `j` of the tile at inner rows c0 .. c0 + BN into `slot`.
  auto stageStep = [&](int64_t j, Value c0, Value slot) {
    const Step &step = steps[j];
    if (step.product < 0) {
      stage(secondOf(slot), BN, oChunk, p.second, c0, l.add(l.mul(head, l.idx(p.secondWidth)), oc0),
            l.sub(l.idx(p.secondWidth), oc0), p.secondWidth);
      return;
    }
    const FusedProduct &product = p.products[step.product];
    Value col0 = l.add(l.mul(head, l.idx(product.width)), l.idx(step.d0));
    Value valid = l.idx(product.width - step.d0);
    if (!outerOnce)
      stage(outerOf(slot), BM, chunk, product.outer, r0, col0, valid, product.width);
    stage(innerOf(slot), BN, chunk, product.inner, c0, col0, valid, product.width);
  };
  if (outerOnce) {
    const FusedProduct &product = p.products[0];
    stage(outerOf(Value()), BM, chunk, product.outer, r0, l.mul(head, l.idx(product.width)),
          l.idx(product.width), product.width);
    // Landed (and waited for even when the block has no tile); visible to
    // the block after the first step's barrier.
    if (copiedAsync(product.outer, product.width))
      commitAndWaitCopies(l);
  }

  // Keys outer: the tile's query rows c0 .. c0 + BN into the shared
  // buffers, a thread per (query row, word of 32 keys): the keys of the
  // row's intervals as bits (an interval [lo, hi) is the bits from lo to
  // hi of the word's range), none for rows past the sample. Written at a
  // tile's start, read by its weights; the previous tile's weights were
  // read before its second operand's barriers.
  auto stageQueries = [&](Value c0) {
    blockLoop(BN, words, [&](Value r, Value word) {
      QueryRow query = queryRow(l, in, l.add(c0, r), start, end, n);
      Value base = l.add(r0, l.mul(word, l.idx(32)));
      Type i64 = l.i64();
      auto clampToWord = [&](Value x) {
        Value local = l.maxI(l.minI(l.sub(x, base), l.idx(32)), l.idx(0));
        return arith::IndexCastOp::create(l.b, i64, local).getResult();
      };
      auto ones = [&](Value count) { // the low `count` bits (count <= 32)
        return arith::SubIOp::create(l.b, arith::ShLIOp::create(l.b, l.ci64(1), count), l.ci64(1))
            .getResult();
      };
      Value bits = l.ci64(0);
      for (int k = 0; k < 3; ++k) {
        Value lo = clampToWord(query.bounds[2 * k]);
        Value hi = arith::MaxSIOp::create(l.b, lo, clampToWord(query.bounds[2 * k + 1]));
        bits = arith::OrIOp::create(l.b, bits, arith::SubIOp::create(l.b, ones(hi), ones(lo)));
      }
      bits = l.select(query.in, bits, l.ci64(0));
      l.store(arith::TruncIOp::create(l.b, i32, bits), bitsT, {r, word});
      l.ifThen(l.cmp(arith::CmpIPredicate::eq, word, l.idx(0)), [&] {
        if (normPerRow)
          l.store(query.inv, invT, {r});
        if (in.rabPos) {
          l.store(query.group, groupT, {r});
          l.store(query.time, timeT, {r});
          l.store(query.pos, posT, {r});
        }
      });
    });
  };
  // 1 / n_norm when the same for every row of the sample.
  Value sampleInv = normPerRow ? Value() : in.inverseNorm(l, start, start, end);

  Value aRow = l.add(l.mul(warp, l.idx(16)), f.aRow); // the warp's 16 outer rows

  // The pipeline: the steps of all listed tiles in order, step k's tiles in
  // slot k % 2, staged while step k - 1 is computed. Per step k: a barrier
  // (every warp is done with step k - 1, whose slot step k + 1 takes),
  // step k + 1 staged (its cp.async copies in a group of their own, empty
  // past the last step), all but that newest group waited for, a barrier
  // (step k's tiles landed for every thread), then step k's products.
  Value firstEntry = l.load(p.entryStart, {g});
  Value lastEntry = l.load(p.entryStart, {l.add(g, one)});
  auto tileOf = [&](Value entry) { // the entry's inner rows' first and whether it is full
    auto [index, full] = p.decode(l, l.load(p.entries, {entry}));
    return std::pair{l.mul(index, l.idx(BN)), full};
  };
  auto slotOf = [&](Value entry, int64_t j) { // step j of `entry`'s tile: its slot's first element
    Value k = l.add(l.mul(l.sub(entry, firstEntry), l.idx(perTile)), l.idx(j));
    return l.mul(arith::RemUIOp::create(l.b, k, l.idx(2)), l.idx(slotElems));
  };
  l.ifThen(lt(firstEntry, lastEntry),
           [&] { stageStep(0, tileOf(firstEntry).first, slotOf(firstEntry, 0)); });
  if (anyAsync)
    commitCopies(l);

  auto tileLoop = scf::ForOp::create(l.b, firstEntry, lastEntry, one,
                                     SmallVector<Value>(oTiles * 4, l.cf32(0.0)));
  {
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(tileLoop.getBody());
    Value entry = tileLoop.getInductionVar();
    auto [tileC0, tileFull] = tileOf(entry);
    Value c0 = tileC0, full = tileFull; // (lambdas capture variables, not bindings)
    if (!p.outerIsQuery)
      stageQueries(c0);
    // Step j's start: the next step staged, this one's tiles landed; its
    // slot's first element.
    auto beginStep = [&](int64_t j) {
      gpu::BarrierOp::create(l.b);
      if (j + 1 < perTile) {
        stageStep(j + 1, c0, slotOf(entry, j + 1));
      } else {
        Value next = l.add(entry, one);
        l.ifThen(lt(next, lastEntry), [&] { stageStep(0, tileOf(next).first, slotOf(next, 0)); });
      }
      if (anyAsync) {
        commitCopies(l);
        waitCopies(l, 1);
      }
      gpu::BarrierOp::create(l.b);
      return slotOf(entry, j);
    };

    // Each product's sums over the head dimension's chunks.
    SmallVector<SmallVector<Value>> sums(p.products.size(),
                                         SmallVector<Value>(sTiles * 4, l.cf32(0.0)));
    for (int64_t j = 0; j + 1 < perTile; ++j) {
      Value slot = beginStep(j);
      Tile outer = outerOf(slot), innerTile = innerOf(slot);
      SmallVector<Value> &acc = sums[steps[j].product];
      for (int64_t ks = 0; ks < chunk / 16; ++ks) {
        Value kBytes = l.idx(ks * 32);
        SmallVector<Value> a = loadMatrices(
            l, sharedPointer(l, outer.buffer, bytesOf(outer, aRow, l.add(kBytes, f.aColBytes))), 4);
        for (int64_t ni = 0; ni < sTiles; ++ni) {
          Value bRow = l.add(l.idx(ni * 8), f.rowInMatrix);
          SmallVector<Value> b =
              loadMatrices(l,
                           sharedPointer(l, innerTile.buffer,
                                         bytesOf(innerTile, bRow, l.add(kBytes, f.bColBytes))),
                           2);
          SmallVector<Value> d = mmaBf16(l, a, b, ArrayRef(acc).slice(ni * 4, 4));
          std::copy(d.begin(), d.end(), acc.begin() + ni * 4);
        }
      }
    }

    // The weights, on the lane's own elements: element i of 8-column tile
    // ni is outer row g + 8 (i / 2), inner column 2t + i % 2.
    SmallVector<Value> w;
    for (int64_t ni = 0; ni < sTiles; ++ni)
      for (int i = 0; i < 4; ++i) {
        Value column = l.add(l.idx(ni * 8 + i % 2), t2); // in the tile
        Value innerLocal = l.add(c0, column);
        Value key, keyIn, queryIn, inv, seen, group, time, pos;
        if (p.outerIsQuery) {
          const QueryRow &query = outerQuery[i / 2];
          key = innerLocal, keyIn = lt(innerLocal, n), queryIn = query.in, inv = query.inv;
          seen = visibleTo(l, query, key);
          group = query.group, time = query.time, pos = query.pos;
        } else {
          key = outerLocal[i / 2], keyIn = outerIn[i / 2], queryIn = lt(innerLocal, n);
          inv = normPerRow ? l.load(invT, {column}) : sampleInv;
          Value inBlock = l.sub(key, r0);
          Value bits = l.load(bitsT, {column, arith::DivUIOp::create(l.b, inBlock, l.idx(32))});
          Value shift =
              arith::IndexCastOp::create(l.b, i32, arith::RemUIOp::create(l.b, inBlock, l.idx(32)));
          Value bit = arith::AndIOp::create(l.b, arith::ShRUIOp::create(l.b, bits, shift),
                                            arith::ConstantIntOp::create(l.b, i32, 1));
          seen = l.cmp(arith::CmpIPredicate::ne, bit, arith::ConstantIntOp::create(l.b, i32, 0));
          if (in.rabPos) {
            group = l.load(groupT, {column});
            time = l.load(timeT, {column});
            pos = l.load(posT, {column});
          }
        }
        SmallVector<Value> element;
        for (const SmallVector<Value> &product : sums)
          element.push_back(product[ni * 4 + i]);
        Value score = l.fmul(l.cf32(in.alpha), element[0]);
        if (in.rabPos) {
          Value keyAbs = l.add(start, l.minI(key, l.sub(n, one)));
          score = l.fadd(
              score, rabTerms(l, in.layout, in.rabPos, in.rabTime, group, time, pos, keyAbs).bias);
        }
        Value weight = l.fmul(p.weight(l, score, element), inv);
        Value kept = arith::OrIOp::create(
            l.b, full,
            arith::AndIOp::create(l.b, arith::AndIOp::create(l.b, queryIn, keyIn), seen));
        w.push_back(toBf16Bits(l, l.select(kept, weight, l.cf32(0.0))));
      }
    // W's operand fragment for inner rows 16 kk .. 16 kk + 15: the C
    // fragments of 8-column tiles 2 kk and 2 kk + 1.
    SmallVector<SmallVector<Value>> wFragments;
    for (int64_t kk = 0; kk < BN / 16; ++kk) {
      auto at = [&](int64_t tile, int i) { return w[tile * 4 + i]; };
      wFragments.push_back({packBf16(l, at(2 * kk, 0), at(2 * kk, 1)),
                            packBf16(l, at(2 * kk, 2), at(2 * kk, 3)),
                            packBf16(l, at(2 * kk + 1, 0), at(2 * kk + 1, 1)),
                            packBf16(l, at(2 * kk + 1, 2), at(2 * kk + 1, 3))});
    }

    // out += W second, the second operand from the tile's last step.
    Tile second = secondOf(beginStep(perTile - 1));
    SmallVector<Value> o(tileLoop.getRegionIterArgs());
    for (int64_t kk = 0; kk < BN / 16; ++kk) {
      Value cRow = l.add(l.idx(kk * 16), f.aRow); // [k][n] rows as .trans reads them
      for (int64_t ni = 0; ni < oTiles; ++ni) {
        SmallVector<Value> b = loadMatrices(
            l, sharedPointer(l, second.buffer, bytesOf(second, cRow, l.idx(ni * 16))), 2,
            /*transposed=*/true);
        SmallVector<Value> d = mmaBf16(l, wFragments[kk], b, ArrayRef(o).slice(ni * 4, 4));
        std::copy(d.begin(), d.end(), o.begin() + ni * 4);
      }
    }
    scf::YieldOp::create(l.b, o);
  }
  // Nothing left in flight (the last step's group is empty).
  if (anyAsync)
    waitCopies(l, 0);

  // The store: outer rows that exist, columns below the width.
  for (int64_t ni = 0; ni < oTiles; ++ni)
    for (int i = 0; i < 4; ++i) {
      Value col = l.add(oc0, l.add(l.idx(ni * 8 + i % 2), t2));
      l.ifThen(arith::AndIOp::create(l.b, outerIn[i / 2], lt(col, l.idx(p.secondWidth))), [&] {
        l.store(tileLoop.getResult(ni * 4 + i), p.out,
                {l.add(start, outerLocal[i / 2]), l.add(l.mul(head, l.idx(p.secondWidth)), col)});
      });
    }
  gpu::TerminatorOp::create(l.b);
}
