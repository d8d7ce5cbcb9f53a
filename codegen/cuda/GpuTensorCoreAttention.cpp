//===- GpuTensorCoreAttention.cpp - HSTU attention forward on tensor cores -===//
//
// `--attention=tensor-core` (issue 25): the forward as one fused kernel. A
// block per (row block of the tile list, head, chunk of up to 128 of V's
// columns), a warp per 16 rows of the block. Per listed column tile:
//   S = Q K^T   Q and K staged as bf16 in shared memory in chunks of up to
//               64 along the head dimension (Q once when one chunk holds
//               it), ldmatrix.x4 / .x2 fragments, mma.sync m16n8k16 into f32;
//   P           each lane finishes its own accumulator elements (rows g and
//               g + 8 of its warp's 16): alpha s + rab, SiLU, 1 / n_norm,
//               and, unless the tile is full, the interval test of the
//               lane's two rows (their bounds loaded once per block) and
//               the sample's edge; rounded to bf16 and packed, S's
//               fragments of two 8-column tiles are P's operand fragment
//               for 16 columns (TensorCore.h): no shared-memory round trip;
//   O += P V    V staged as bf16 ([key][column]: ldmatrix.x2.trans gives
//               the column-major B fragment), f32 accumulators carried
//               over the tile list, stored once at the end.
// HSTU has no softmax: O sums the tiles' products directly (no running
// maximum, no rescaling). Shared-memory rows are padded by 16 bytes, so
// the 8 row addresses of an ldmatrix phase hit 8 different bank quads.
// Numerics: Q, K, V and P rounded to bf16 (8 significant bits), sums in
// f32 (tolerance measured in docs/gpu-backend.md).
//
// The simple form first: operands staged by the threads from fp32 buffers
// (no cp.async or TMA ring), one tile in flight, S recomputed per chunk of
// V's columns when dv > 128 (register budget: 64 O + 32 S accumulators per
// lane).
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
constexpr int64_t kMaxQChunk = 64, kMaxVChunk = 128;
int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

/// One of the two rows a lane holds in S's and O's fragments, and what the
/// weights need of it, loaded once per block.
struct LaneRow {
  Value local, in, abs, inv; // sample-local index, < n, absolute (clamped), 1 / n_norm
  SmallVector<Value, 6> bounds; // the mask's 3 intervals [lo, hi)
  Value group, time, pos;       // for the relative bias
};
} // namespace

std::optional<std::string> mlir::mtgr::tensorCoreAttentionTilesProblem(int64_t rowBlock,
                                                                       int64_t colTile) {
  if (rowBlock % 16 == 0 && rowBlock >= 16 && rowBlock <= 128 && colTile % 16 == 0 &&
      colTile >= 16 && colTile <= 64)
    return std::nullopt;
  return "the tile list's " + std::to_string(rowBlock) + " x " + std::to_string(colTile) +
         " tiles are not row blocks of 16 .. 128 rows and column tiles of 16 .. 64 columns, "
         "multiples of 16 (mtgr-plan-attention row-block=64 col-tile=64)";
}

void mlir::mtgr::launchTensorCoreAttention(LoopBuilder &l, const AttentionInputs &in,
                                           const TileListBuffers &tiles, int64_t BR,
                                           int64_t BC, Value out) {
  const int64_t warps = BR / 16, threads = warps * 32;
  const int64_t qChunk = std::min(roundUp(in.dqk, 16), kMaxQChunk);
  const int64_t chunks = ceilDiv(in.dqk, qChunk);
  const int64_t vChunk = std::min(roundUp(in.dv, 8), kMaxVChunk);
  const int64_t vChunks = ceilDiv(in.dv, vChunk);
  const int64_t sTiles = BC / 8, oTiles = vChunk / 8;
  const int64_t qStride = qChunk + 8, vStride = vChunk + 8; // padded rows
  auto lt = [&](Value x, Value y) { return l.cmp(arith::CmpIPredicate::ult, x, y); };
  auto bytesOf = [&](Value row, int64_t stride, Value colBytes) {
    return l.add(l.mul(row, l.idx(stride * 2)), colBytes);
  };

  Value B = l.samples(in.layout);
  Value blocks = l.load(tiles.blockStart, {B});
  Value one = l.idx(1);
  auto launch = gpu::LaunchOp::create(l.b, blocks, l.idx(in.heads), l.idx(vChunks),
                                      l.idx(threads), one, one);
  nameKernel(l, launch);
  Value qTile = addSharedBf16Tile(l, launch, BR, qStride);
  Value kTile = addSharedBf16Tile(l, launch, BC, qStride);
  Value vTile = addSharedBf16Tile(l, launch, BC, vStride);
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());

  Value g = launch.getBlockIds().x, head = launch.getBlockIds().y;
  Value vc0 = l.mul(launch.getBlockIds().z, l.idx(vChunk));
  Value s = lastAtOrBelow(l, tiles.blockStart, B, g);
  Value start = l.load(in.layout.offsets, {s});
  Value end = l.load(in.layout.offsets, {l.add(s, one)});
  Value n = l.sub(end, start);
  Value r0 = l.mul(l.sub(g, l.load(tiles.blockStart, {s})), l.idx(BR));
  Value tid = launch.getThreadIds().x;
  Value warp = arith::DivUIOp::create(l.b, tid, l.idx(32));
  Value lane = arith::RemUIOp::create(l.b, tid, l.idx(32));
  Value gq = arith::DivUIOp::create(l.b, lane, l.idx(4));
  Value t2 = l.mul(arith::RemUIOp::create(l.b, lane, l.idx(4)), l.idx(2));
  Value qBase = l.mul(head, l.idx(in.dqk)), vBase = l.mul(head, l.idx(in.dv));

  LaneRow rows[2];
  for (int h = 0; h < 2; ++h) {
    LaneRow &r = rows[h];
    r.local = l.add(l.add(r0, l.mul(warp, l.idx(16))), l.add(gq, l.idx(8 * h)));
    r.in = lt(r.local, n);
    r.abs = l.add(start, l.minI(r.local, l.sub(n, one)));
    r.inv = in.inverseNorm(l, r.abs, start, end);
    for (int k = 0; k < 6; ++k)
      r.bounds.push_back(l.toIndex(l.load(in.mask, {r.abs, l.idx(k / 2), l.idx(k % 2)})));
    if (in.rabPos) {
      r.group = l.load(in.layout.group, {r.abs});
      r.time = l.load(in.layout.time, {r.abs});
      r.pos = l.load(in.layout.pos, {r.abs});
    }
  }

  // tile[r][c] = bf16(src[start + first + r][col0 + c]) for r < rows, c <
  // cols: zero past the sample's rows and the `valid` columns. Threads take
  // consecutive elements (coalesced loads).
  auto stage = [&](Value tile, int64_t rowCount, int64_t cols, Value src, Value first,
                   Value col0, Value valid) {
    auto loop = scf::ForOp::create(l.b, tid, l.idx(rowCount * cols), l.idx(threads));
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    Value r = arith::DivUIOp::create(l.b, e, l.idx(cols));
    Value c = arith::RemUIOp::create(l.b, e, l.idx(cols));
    Value row = l.add(first, r);
    Value ok = arith::AndIOp::create(l.b, lt(row, n), lt(c, valid));
    Value x = loadOrZero(l, ok, [&] { return l.load(src, {l.add(start, row), l.add(col0, c)}); });
    l.store(toBf16Bits(l, x), tile, {r, c});
  };
  Value dqk = l.idx(in.dqk);
  if (chunks == 1)
    stage(qTile, BR, qChunk, in.q, r0, qBase, dqk);

  // ldmatrix addressing (as in the GEMM): lanes 8i .. 8i + 7 give matrix
  // i's rows; A's matrices are (rows 0-7 | 8-15) x (columns 0-7 | 8-15),
  // B's (k 0-7 | 8-15).
  Value matrix = arith::DivUIOp::create(l.b, lane, l.idx(8));
  Value rowInMatrix = arith::RemUIOp::create(l.b, lane, l.idx(8));
  Value rowHalf = l.mul(arith::RemUIOp::create(l.b, matrix, l.idx(2)), l.idx(8));
  Value colHalfBytes = l.mul(arith::DivUIOp::create(l.b, matrix, l.idx(2)), l.idx(16));
  Value kHalfBytes = l.mul(arith::RemUIOp::create(l.b, matrix, l.idx(2)), l.idx(16));
  Value aRow = l.add(l.mul(warp, l.idx(16)), l.add(rowHalf, rowInMatrix));

  Value firstTile = l.load(tiles.tileStart, {g});
  Value lastTile = l.load(tiles.tileStart, {l.add(g, one)});
  auto tileLoop = scf::ForOp::create(l.b, firstTile, lastTile, one,
                                     SmallVector<Value>(oTiles * 4, l.cf32(0.0)));
  {
    OpBuilder::InsertionGuard inner(l.b);
    l.b.setInsertionPointToStart(tileLoop.getBody());
    Value code = l.toIndex(l.load(tiles.tiles, {tileLoop.getInductionVar()}));
    Value c0 = l.mul(arith::ShRUIOp::create(l.b, code, l.idx(2)), l.idx(BC));
    Value full = l.cmp(arith::CmpIPredicate::ne, arith::AndIOp::create(l.b, code, one), l.idx(0));

    // S = Q K^T over the head dimension's chunks.
    auto chunkLoop = scf::ForOp::create(l.b, l.idx(0), l.idx(chunks * qChunk), l.idx(qChunk),
                                        SmallVector<Value>(sTiles * 4, l.cf32(0.0)));
    {
      OpBuilder::InsertionGuard innermost(l.b);
      l.b.setInsertionPointToStart(chunkLoop.getBody());
      Value d0 = chunkLoop.getInductionVar();
      // Nobody overwrites Q, K or V before every warp has read them.
      gpu::BarrierOp::create(l.b);
      Value col0 = l.add(qBase, d0), valid = l.sub(dqk, d0);
      if (chunks > 1)
        stage(qTile, BR, qChunk, in.q, r0, col0, valid);
      stage(kTile, BC, qChunk, in.k, c0, col0, valid);
      gpu::BarrierOp::create(l.b);
      SmallVector<Value> acc(chunkLoop.getRegionIterArgs());
      for (int64_t ks = 0; ks < qChunk / 16; ++ks) {
        Value kBytes = l.idx(ks * 32);
        SmallVector<Value> a = loadMatrices(
            l, sharedPointer(l, qTile, bytesOf(aRow, qStride, l.add(kBytes, colHalfBytes))), 4);
        for (int64_t ni = 0; ni < sTiles; ++ni) {
          Value kRow = l.add(l.idx(ni * 8), rowInMatrix);
          SmallVector<Value> b = loadMatrices(
              l, sharedPointer(l, kTile, bytesOf(kRow, qStride, l.add(kBytes, kHalfBytes))), 2);
          SmallVector<Value> d = mmaBf16(l, a, b, ArrayRef(acc).slice(ni * 4, 4));
          std::copy(d.begin(), d.end(), acc.begin() + ni * 4);
        }
      }
      scf::YieldOp::create(l.b, acc);
    }

    // The weights, on the lane's own elements of S: element i of 8-column
    // tile ni is row g + 8 (i / 2), column 2t + i % 2.
    SmallVector<Value> p;
    for (int64_t ni = 0; ni < sTiles; ++ni)
      for (int i = 0; i < 4; ++i) {
        const LaneRow &r = rows[i / 2];
        Value j = l.add(c0, l.add(l.idx(ni * 8 + i % 2), t2));
        Value jIn = lt(j, n);
        Value score = l.fmul(l.cf32(in.alpha), chunkLoop.getResult(ni * 4 + i));
        if (in.rabPos) {
          Value col = l.add(start, l.minI(j, l.sub(n, one)));
          score = l.fadd(score, rabTerms(l, in.layout, in.rabPos, in.rabTime, r.group, r.time,
                                         r.pos, col)
                                    .bias);
        }
        Value w = l.fmul(l.silu(score), r.inv);
        Value visible;
        for (int k = 0; k < 3; ++k) {
          Value inside =
              arith::AndIOp::create(l.b, l.cmp(arith::CmpIPredicate::sle, r.bounds[2 * k], j),
                                    l.cmp(arith::CmpIPredicate::slt, j, r.bounds[2 * k + 1]));
          visible = visible ? arith::OrIOp::create(l.b, visible, inside).getResult() : inside;
        }
        Value seen = arith::AndIOp::create(l.b, arith::AndIOp::create(l.b, r.in, jIn), visible);
        p.push_back(toBf16Bits(l, l.select(arith::OrIOp::create(l.b, full, seen), w,
                                           l.cf32(0.0))));
      }
    // P's operand fragment for columns 16 kk .. 16 kk + 15: the C fragments
    // of 8-column tiles 2 kk and 2 kk + 1.
    SmallVector<SmallVector<Value>> pFragments;
    for (int64_t kk = 0; kk < BC / 16; ++kk) {
      auto at = [&](int64_t tile, int i) { return p[tile * 4 + i]; };
      pFragments.push_back({packBf16(l, at(2 * kk, 0), at(2 * kk, 1)),
                            packBf16(l, at(2 * kk, 2), at(2 * kk, 3)),
                            packBf16(l, at(2 * kk + 1, 0), at(2 * kk + 1, 1)),
                            packBf16(l, at(2 * kk + 1, 2), at(2 * kk + 1, 3))});
    }

    // O += P V (the chunk loop's barriers keep the last tile's readers of
    // V ahead of this write).
    stage(vTile, BC, vChunk, in.v, c0, l.add(vBase, vc0), l.sub(l.idx(in.dv), vc0));
    gpu::BarrierOp::create(l.b);
    SmallVector<Value> o(tileLoop.getRegionIterArgs());
    for (int64_t kk = 0; kk < BC / 16; ++kk) {
      Value vRow = l.add(l.idx(kk * 16), l.add(rowHalf, rowInMatrix));
      for (int64_t ni = 0; ni < oTiles; ++ni) {
        SmallVector<Value> b = loadMatrices(
            l, sharedPointer(l, vTile, bytesOf(vRow, vStride, l.idx(ni * 16))), 2,
            /*transposed=*/true);
        SmallVector<Value> d = mmaBf16(l, pFragments[kk], b, ArrayRef(o).slice(ni * 4, 4));
        std::copy(d.begin(), d.end(), o.begin() + ni * 4);
      }
    }
    scf::YieldOp::create(l.b, o);
  }

  // The store: rows that exist, columns below dv.
  for (int64_t ni = 0; ni < oTiles; ++ni)
    for (int i = 0; i < 4; ++i) {
      const LaneRow &r = rows[i / 2];
      Value col = l.add(vc0, l.add(l.idx(ni * 8 + i % 2), t2));
      l.ifThen(arith::AndIOp::create(l.b, r.in, lt(col, l.idx(in.dv))), [&] {
        l.store(tileLoop.getResult(ni * 4 + i), out,
                {l.add(start, r.local), l.add(vBase, col)});
      });
    }
  gpu::TerminatorOp::create(l.b);
}
