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

/// Where a pair's weight comes from: the key (sample-local), whether key
/// and query exist, whether the mask shows the pair, the query's 1 / n_norm
/// and its relative-bias inputs.
struct PairInputs {
  Value key, keyIn, queryIn, seen, inv, group, time, pos;
};

/// The bf16 bits of one pair's weight from its products' sums (`element`:
/// one per product): s = alpha sums[0] + rab, the pass's weight times
/// 1 / n_norm; zero unless the tile is `full` or the pair exists and is
/// visible.
Value pairWeightBits(LoopBuilder &l, const AttentionInputs &in, const FusedAttentionPass &p,
                     ArrayRef<Value> element, const PairInputs &pair, Value start, Value n,
                     Value full) {
  Value score = l.fmul(l.cf32(in.alpha), element[0]);
  if (in.rabPos) {
    Value keyAbs = l.add(start, l.minI(pair.key, l.sub(n, l.idx(1))));
    score = l.fadd(score, rabTerms(l, in.layout, in.rabPos, in.rabTime, pair.group, pair.time,
                                   pair.pos, keyAbs)
                              .bias);
  }
  Value weight = l.fmul(p.weight(l, score, element), pair.inv);
  Value kept = arith::OrIOp::create(
      l.b, full,
      arith::AndIOp::create(l.b, arith::AndIOp::create(l.b, pair.queryIn, pair.keyIn), pair.seen));
  return toBf16Bits(l, l.select(kept, weight, l.cf32(0.0)));
}

/// A fused kernel's block (x: its outer block g, y: the head) and thread:
/// the sample [start, end) of n rows the block is in, its first outer row
/// r0 (sample-local, blocks of `rows`), the thread's warp and fragments.
struct OuterBlock {
  Value g, head, start, end, n, r0, tid, warp;
  LaneFragments f;
  OuterBlock(LoopBuilder &l, gpu::LaunchOp launch, Value outerStart, Value offsets, Value B,
             int64_t rows)
      : f(l, arith::RemUIOp::create(l.b, launch.getThreadIds().x, l.idx(32))) {
    Value one = l.idx(1);
    g = launch.getBlockIds().x, head = launch.getBlockIds().y;
    Value s = lastAtOrBelow(l, outerStart, B, g);
    start = l.load(offsets, {s});
    end = l.load(offsets, {l.add(s, one)});
    n = l.sub(end, start);
    r0 = l.mul(l.sub(g, l.load(outerStart, {s})), l.idx(rows));
    tid = launch.getThreadIds().x;
    warp = arith::DivUIOp::create(l.b, tid, l.idx(32));
  }
};

/// With queries outer: the pair of `query` and sample-local key `key`.
PairInputs queryOuterPair(LoopBuilder &l, const QueryRow &query, Value key, Value n) {
  return {key,        l.cmp(arith::CmpIPredicate::ult, key, n),
          query.in,   visibleTo(l, query, key),
          query.inv,  query.group,
          query.time, query.pos};
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

  OuterBlock block(l, launch, p.outerStart, in.layout.offsets, B, BM);
  Value g = block.g, head = block.head, start = block.start, end = block.end, n = block.n;
  Value r0 = block.r0, tid = block.tid, warp = block.warp;
  const LaneFragments &f = block.f;
  Value t2 = f.t2;
  Value oc0 = l.mul(launch.getBlockIds().z, l.idx(oChunk));

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
        SmallVector<Value> element;
        for (const SmallVector<Value> &product : sums)
          element.push_back(product[ni * 4 + i]);
        PairInputs pair;
        if (p.outerIsQuery) {
          pair = queryOuterPair(l, outerQuery[i / 2], innerLocal, n);
        } else {
          pair.key = outerLocal[i / 2], pair.keyIn = outerIn[i / 2];
          pair.queryIn = lt(innerLocal, n);
          pair.inv = normPerRow ? l.load(invT, {column}) : sampleInv;
          Value inBlock = l.sub(pair.key, r0);
          Value bits = l.load(bitsT, {column, arith::DivUIOp::create(l.b, inBlock, l.idx(32))});
          Value shift =
              arith::IndexCastOp::create(l.b, i32, arith::RemUIOp::create(l.b, inBlock, l.idx(32)));
          Value bit = arith::AndIOp::create(l.b, arith::ShRUIOp::create(l.b, bits, shift),
                                            arith::ConstantIntOp::create(l.b, i32, 1));
          pair.seen =
              l.cmp(arith::CmpIPredicate::ne, bit, arith::ConstantIntOp::create(l.b, i32, 0));
          if (in.rabPos) {
            pair.group = l.load(groupT, {column});
            pair.time = l.load(timeT, {column});
            pair.pos = l.load(posT, {column});
          }
        }
        w.push_back(pairWeightBits(l, in, p, element, pair, start, n, full));
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

std::optional<std::string> mlir::mtgr::wgmmaAttentionProblem(const FusedAttentionPass &p) {
  if (!p.outerIsQuery || p.products.size() != 1)
    return std::string("only the forward runs on wgmma");
  if (p.outerBlock != 64 || p.innerTile != 64)
    return "tiles of " + std::to_string(p.outerBlock) + " x " + std::to_string(p.innerTile) +
           ", not 64 x 64";
  const FusedProduct &qk = p.products[0];
  for (auto [what, width] : {std::pair{"dqk", qk.width}, std::pair{"dv", p.secondWidth}})
    if (width % 16 != 0 || width > 256)
      return std::string("heads with ") + what + " = " + std::to_string(width) +
             " (wgmma takes multiples of 16 up to 256)";
  for (Value x : {qk.outer, qk.inner, p.second})
    if (!cast<MemRefType>(x.getType()).getElementType().isBF16())
      return std::string("operands not in bf16");
  return std::nullopt;
}

// `--attention=wgmma` (sm_90a), the forward: a block of one warpgroup (128
// threads, a warp per 16 query rows) per (row block of 64 queries, head).
// Shared memory (dynamic, aligned to the 1024-byte swizzle atom): Q's row
// block, a ring of two stages of (K's tile, V^T's tile) and P, each in
// boxes of 64 rows x 128 bytes (64 bf16), 128-byte swizzled as TMA writes
// and wgmma reads them; an mbarrier for Q and one per stage.
//   V^T: a transposed bf16 copy of V first, [heads * dv][rows rounded up to
//   8] (wgmma's B operand is K-major: for P V the keys must be contiguous;
//   the padding zero, so that keys past the last sample read zeros).
//   Thread 0 arms Q's mbarrier and issues Q's boxes (a box per 64 columns
//   of the head), and the first listed tile's K and V^T boxes into stage 0.
//   Per listed tile i (stage i % 2): a barrier (every thread is done with
//   tile i - 1: its wgmma groups retired, so P and stage (i + 1) % 2 are
//   free), thread 0 issues tile i + 1 into the other stage, every thread
//   waits for its stage's phase; S = Q K^T by wgmma m64n64k16 over the head
//   (dqk / 16 steps), committed and waited for; the weights on S's
//   fragments (as in the mma.sync kernel: thread 32 w + 4 g + t holds query
//   rows 16 w + g, + 8 and keys 8 j + 2 t, + 1); P in bf16 into shared memory
//   in the swizzled layout, fence.proxy.async, a barrier; O += P V by wgmma
//   m64n(dv)k16 over the tile's 64 keys, waited for. O (dv / 2 accumulators
//   a thread) is stored once at the end. Rows past the sample read the next
//   sample's (or TMA's zeros) and are masked or not stored.
void mlir::mtgr::launchWgmmaAttentionForward(LoopBuilder &l, const AttentionInputs &in,
                                             const FusedAttentionPass &p) {
  constexpr int64_t kRows = 64, kBox = 64, kBoxBytes = kRows * 128, kAtom = 1024;
  const FusedProduct &qk = p.products[0];
  const int64_t dqk = qk.width, dv = p.secondWidth;
  const int64_t qBoxes = ceilDiv(dqk, kBox), vBoxes = ceilDiv(dv, kBox);
  const int64_t qBytes = qBoxes * kBoxBytes, vBytes = vBoxes * kBoxBytes;
  const int64_t stageBytes = qBytes + vBytes; // K's tile, then V^T's
  const int64_t pAt = qBytes + 2 * stageBytes, barriersAt = pAt + kBoxBytes;
  const int64_t sharedBytes = barriersAt + 3 * 8 + kAtom;
  Value one = l.idx(1);
  Type i32 = l.b.getI32Type();
  auto lt = [&](Value x, Value y) { return l.cmp(arith::CmpIPredicate::ult, x, y); };
  auto toI32 = [&](Value v) { return arith::IndexCastOp::create(l.b, i32, v).getResult(); };

  // V^T, [heads * dv][rows rounded up to 8], zero past the rows.
  Value rows = l.rows(p.second);
  Value padded = l.mul(arith::CeilDivUIOp::create(l.b, rows, l.idx(8)), l.idx(8));
  auto vtType = MemRefType::get({in.heads * dv, ShapedType::kDynamic}, l.b.getBF16Type());
  Value vt = memref::AllocOp::create(l.b, vtType, ValueRange{padded});
  launchThreads(l, l.mul(l.idx(in.heads * dv), padded), 256, [&](Value t) {
    Value c = arith::DivUIOp::create(l.b, t, padded);
    Value r = arith::RemUIOp::create(l.b, t, padded);
    l.store(loadOrZero(l, lt(r, rows), [&] { return l.load(p.second, {r, c}); }), vt, {c, r});
  });
  Value qMap = swizzledTensorMap(l, qk.outer, kRows, kBox);
  Value kMap = swizzledTensorMap(l, qk.inner, kRows, kBox);
  Value vMap = swizzledTensorMap(l, vt, kRows, kBox);

  Value B = l.samples(in.layout);
  Value blocks = l.load(p.outerStart, {B});
  Value shared = arith::ConstantIntOp::create(l.b, i32, sharedBytes);
  auto launch =
      gpu::LaunchOp::create(l.b, blocks, l.idx(in.heads), one, l.idx(128), one, one, shared);
  nameKernel(l, launch);
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());

  OuterBlock block(l, launch, p.outerStart, in.layout.offsets, B, kRows);
  Value g = block.g, head = block.head, start = block.start, end = block.end, n = block.n;
  Value r0 = block.r0, tid = block.tid, warp = block.warp;
  const LaneFragments &f = block.f;
  Value rowInBlock[2], outerLocal[2], outerIn[2];
  QueryRow outerQuery[2];
  for (int h = 0; h < 2; ++h) {
    rowInBlock[h] = l.add(l.mul(warp, l.idx(16)), l.add(f.g, l.idx(8 * h)));
    outerLocal[h] = l.add(r0, rowInBlock[h]);
    outerIn[h] = lt(outerLocal[h], n);
    outerQuery[h] = queryRow(l, in, outerLocal[h], start, end, n);
  }

  auto workgroup = gpu::AddressSpaceAttr::get(l.b.getContext(), gpu::AddressSpace::Workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(
      l.b, MemRefType::get({ShapedType::kDynamic}, l.b.getI8Type(), MemRefLayoutAttrInterface{},
                           workgroup));
  Value window = memref::ExtractAlignedPointerAsIndexOp::create(l.b, smem);
  Value base = l.mul(arith::CeilDivUIOp::create(l.b, window, l.idx(kAtom)), l.idx(kAtom));
  auto at = [&](int64_t bytes) { return l.add(base, l.idx(bytes)); };
  auto stageAt = [&](Value stage) { return l.add(at(qBytes), l.mul(stage, l.idx(stageBytes))); };
  Value qBar = at(barriersAt);
  auto fullBar = [&](Value stage) { return l.add(at(barriersAt + 8), l.mul(stage, l.idx(8))); };
  Value first = l.cmp(arith::CmpIPredicate::eq, tid, l.idx(0));
  l.ifThen(first, [&] {
    mbarrierInit(l, qBar, 1);
    mbarrierInit(l, fullBar(l.idx(0)), 1);
    mbarrierInit(l, fullBar(l.idx(1)), 1);
  });
  gpu::BarrierOp::create(l.b); // the mbarriers are initialised for every thread

  Value firstEntry = l.load(p.entryStart, {g});
  Value lastEntry = l.load(p.entryStart, {l.add(g, one)});
  auto tileOf = [&](Value entry) { // the entry's first key (sample-local) and whether it is full
    auto [index, isFull] = p.decode(l, l.load(p.entries, {entry}));
    return std::pair{l.mul(index, l.idx(64)), isFull};
  };
  Value headQ = l.mul(head, l.idx(dqk)), headV = l.mul(head, l.idx(dv));
  // The first rows the block reads of Q, K and V^T into L2: the kernel's use
  // of the buffers, which keeps them alive until it ran (the copies go
  // through the maps).
  l.ifThen(first, [&] {
    auto prefetch = [&](Value buffer, Value row, Value col) {
      int64_t rowLength = cast<MemRefType>(buffer.getType()).getDimSize(1);
      Value length = ShapedType::isDynamic(rowLength) ? padded : l.idx(rowLength);
      Value element = l.add(l.mul(row, length), col);
      prefetchL2(l, l.add(memref::ExtractAlignedPointerAsIndexOp::create(l.b, buffer),
                          l.mul(element, l.idx(2))));
    };
    prefetch(qk.outer, l.add(start, r0), headQ);
    prefetch(qk.inner, start, headQ);
    prefetch(vt, headV, start);
  });
  // Thread 0: the K and V^T boxes of `entry`'s tile into `stage`.
  auto issueTile = [&](Value entry, Value stage) {
    Value key0 = toI32(l.add(start, tileOf(entry).first));
    Value bar = fullBar(stage);
    mbarrierArriveExpectTx(l, bar, arith::ConstantIntOp::create(l.b, i32, stageBytes));
    for (int64_t c = 0; c < qBoxes; ++c)
      tmaLoad2d(l, l.add(stageAt(stage), l.idx(c * kBoxBytes)), kMap, bar,
                toI32(l.add(headQ, l.idx(c * kBox))), key0);
    for (int64_t c = 0; c < vBoxes; ++c)
      tmaLoad2d(l, l.add(stageAt(stage), l.idx(qBytes + c * kBoxBytes)), vMap, bar, key0,
                toI32(l.add(headV, l.idx(c * kBox))));
  };
  l.ifThen(first, [&] {
    mbarrierArriveExpectTx(l, qBar, arith::ConstantIntOp::create(l.b, i32, qBytes));
    for (int64_t c = 0; c < qBoxes; ++c)
      tmaLoad2d(l, at(c * kBoxBytes), qMap, qBar, toI32(l.add(headQ, l.idx(c * kBox))),
                toI32(l.add(start, r0)));
    l.ifThen(lt(firstEntry, lastEntry), [&] { issueTile(firstEntry, l.idx(0)); });
  });
  mbarrierWaitParity(l, qBar, arith::ConstantIntOp::create(l.b, i32, 0));

  auto tileLoop =
      scf::ForOp::create(l.b, firstEntry, lastEntry, one, SmallVector<Value>(dv / 2, l.cf32(0.0)));
  {
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(tileLoop.getBody());
    Value entry = tileLoop.getInductionVar();
    Value i = l.sub(entry, firstEntry);
    Value stage = arith::RemUIOp::create(l.b, i, l.idx(2));
    Value parity =
        toI32(arith::RemUIOp::create(l.b, arith::DivUIOp::create(l.b, i, l.idx(2)), l.idx(2)));
    auto [tileC0, tileFull] = tileOf(entry);
    Value c0 = tileC0, full = tileFull; // (lambdas capture variables, not bindings)
    gpu::BarrierOp::create(l.b);
    Value next = l.add(entry, one);
    l.ifThen(arith::AndIOp::create(l.b, first, lt(next, lastEntry)),
             [&] { issueTile(next, l.sub(one, stage)); });
    mbarrierWaitParity(l, fullBar(stage), parity);

    // S = Q K^T, 64 x 64.
    Value kTile = stageAt(stage), vTile = l.add(stageAt(stage), l.idx(qBytes));
    SmallVector<Value> sAcc(32, l.cf32(0.0));
    wgmmaFence(l);
    for (int64_t ks = 0; ks < dqk / 16; ++ks) {
      int64_t offset = (ks / 4) * kBoxBytes + (ks % 4) * 32;
      Value da = wgmmaDescriptor(l, at(offset), kAtom, 128);
      Value db = wgmmaDescriptor(l, l.add(kTile, l.idx(offset)), kAtom, 128);
      sAcc = wgmmaBf16(l, 64, da, db, sAcc);
    }
    wgmmaCommit(l);
    wgmmaWait(l, 0);

    // P = the weights in bf16, [query row][key] swizzled: each thread's
    // pairs of neighbouring keys as one 32-bit store.
    for (int64_t j = 0; j < 8; ++j)
      for (int h = 0; h < 2; ++h) {
        Value bits[2];
        for (int e = 0; e < 2; ++e) {
          int idx = 2 * h + e;
          Value key = l.add(c0, l.add(l.idx(j * 8 + e), f.t2));
          bits[e] = pairWeightBits(l, in, p, {sAcc[j * 4 + idx]},
                                   queryOuterPair(l, outerQuery[h], key, n), start, n, full);
        }
        Value offset =
            l.add(swizzledOffset(l, rowInBlock[h], l.idx(j), 128), l.mul(f.t2, l.idx(2)));
        storeShared(l, l.add(at(pAt), offset), packBf16(l, bits[0], bits[1]));
      }
    fenceProxyAsync(l);
    gpu::BarrierOp::create(l.b);

    // O += P V over the tile's 64 keys.
    SmallVector<Value> o(tileLoop.getRegionIterArgs());
    wgmmaFence(l);
    for (int64_t kk = 0; kk < 4; ++kk) {
      Value da = wgmmaDescriptor(l, at(pAt + kk * 32), kAtom, 128);
      Value db = wgmmaDescriptor(l, l.add(vTile, l.idx(kk * 32)), kAtom, 128);
      o = wgmmaBf16(l, dv, da, db, o);
    }
    wgmmaCommit(l);
    wgmmaWait(l, 0);
    scf::YieldOp::create(l.b, o);
  }

  // The store: query rows that exist.
  for (int64_t j = 0; j < dv / 8; ++j)
    for (int i = 0; i < 4; ++i) {
      Value col = l.add(l.idx(j * 8 + i % 2), f.t2);
      l.ifThen(outerIn[i / 2], [&] {
        l.store(tileLoop.getResult(j * 4 + i), p.out,
                {l.add(start, outerLocal[i / 2]), l.add(headV, col)});
      });
    }
  gpu::TerminatorOp::create(l.b);
}
