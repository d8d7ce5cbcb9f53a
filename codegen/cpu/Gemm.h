//===- Gemm.h - packed, register-tiled matrix products -----------*- C++ -*-===//
//
// C[M, N] = A[M, K] B[K, N] on the tiled level (DESIGN 2), the one GEMM
// every projection and its gradients use (LowerLinear.cpp). B is packed into
// panels [N / NR][K][NR] (NR = `vectors` vectors of `lanes` floats, zeros
// past column N), so a micro-kernel's B loads are contiguous vectors; the
// micro-kernel keeps a `rows` x NR block of C in vector registers
// (vector.fma of a broadcast A element and a B vector) over a K range. A is
// read where it lies (the caller says how) or packed per row block with a
// prologue applied (a norm, a gate). The last row block of a dynamic M clamps
// its rows to the last one and stores only the real rows: jagged rows are
// never padded. The epilogue (bias, activation, residual, the U/V/Q/K split)
// is the caller's `store` on each finished vector of C.
//
// Cache blocking: with a static K, the panels a row block visits are grouped
// so that the group fits half the L2 (A's rows stay in L1 across it); a
// dynamic K (a weight gradient, K = tokens) runs in blocks of `kBlock`,
// packing B per block (the threads each their share of the panels) and
// accumulating into C. With a prologue each thread
// takes its rows in ranges of MC rows (A's rows a quarter of the L2), every
// panel group over one range before the next.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_GEMM_H
#define MTGR_CODEGEN_GEMM_H

#include "codegen/common/LoweringSupport.h"
#include "codegen/cpu/Target.h"

namespace mlir::mtgr {

struct GemmProblem {
  Value m;          // rows of C (index)
  int64_t n = 0;    // columns of C
  int64_t k = -1;   // the reduction length when static, else `kDynamic`
  Value kDynamic;
  /// B[kk, col] as a scalar, read once per call when packing (unless
  /// bRowMajor says where B lies).
  std::function<Value(LoopBuilder &, Value kk, Value col)> b;
  /// Optional (static K): B is the transpose of this [N, K] buffer (a
  /// weight: B[kk, col] = bTransposed[col, kk]), packed by lanes x lanes
  /// squares transposed in registers instead of element by element.
  Value bTransposed;
  /// Optional: B is this [K, N] buffer as it lies (B[kk, col] =
  /// bRowMajor[kk, col]: a weight's dx = dy W, an activation in a weight
  /// gradient), packed by vector copies of `lanes` floats instead of
  /// element by element.
  Value bRowMajor;
  /// A[row, kk] as a scalar, read in the micro-kernel (rows are in range).
  std::function<Value(LoopBuilder &, Value row, Value kk)> a;
  /// Optional (dynamic K): prefetches the line of A[row, kk], a k block's
  /// copy of A running some k ahead.
  std::function<void(LoopBuilder &, Value row, Value kk)> prefetchA;
  /// Optional prologue (static K only): writes A's row `row` (the input row
  /// after the prologue, K values) into row `slot` of `packed` [MC, K]. Rows
  /// are processed in ranges of MC, each row once; the micro-kernel then
  /// reads A from there.
  std::function<void(LoopBuilder &, Value row, Value packed, Value slot)> packA;
  /// C += A B into this buffer [M, N] (dynamic K), or, when null:
  Value accumulateInto;
  /// the epilogue: `acc` = (A B)[row, col .. col + lanes), `mask` the lanes
  /// inside N (null when N is a multiple of NR). Called for real rows only.
  std::function<void(LoopBuilder &, Value row, Value col, Value acc, Value mask)> store;
  /// Optional (static K): prefetches what `store` will touch at [row, col ..
  /// col + 16 floats), called for every row of a tile (clamped: in range)
  /// before its K loop, so the epilogue's loads and stores find their lines
  /// in cache when the loop ends.
  std::function<void(LoopBuilder &, Value row, Value col)> prefetch;
  /// Optional (static K): rows [first, end) of C are final (every column's
  /// `store` has run for them); called once per row, on the thread that
  /// computed it: after each row block when one panel group holds every
  /// panel (the rows still in L1), else after the last group (each range of
  /// MC rows with a prologue, all of the thread's rows without). A norm's
  /// backward runs there (LowerLinear.cpp, mtgr.linear_norm_backward).
  std::function<void(LoopBuilder &, Value first, Value end)> rowsDone;
};

/// Emits the loops of `p` at the builder's insertion point; its scratch
/// buffers (packed B, packed A) are allocated there too, so mtgr-free-buffers
/// frees and counts them like any other buffer.
void buildGemm(LoopBuilder &l, const GemmTiles &tiles, const GemmProblem &p);

/// The transpose of an L x L square held as L vectors of L lanes (L a
/// power of two): log2(L) stages of two-source shuffles (one vpermt2ps
/// each with AVX-512). Packs transposed panels: the GEMM's weights, the
/// attention's keys.
SmallVector<Value> transposeSquare(OpBuilder &b, ArrayRef<Value> rows);

/// packed[panel, k + c, lane0 + i] = src[rows[i], k + c] (zero where
/// inside[i] is false; a null inside[i]: always) for k in [0, chunks L),
/// L = rows.size() a power of two, by L x L squares transposed in
/// registers: a panel's L lanes from L rows of `src`. The GEMM's weights
/// and the attention's keys are packed so.
void packSquares(LoopBuilder &l, Value src, ArrayRef<Value> rows, ArrayRef<Value> inside,
                 Value packed, Value panel, int64_t lane0, int64_t chunks);

/// Vector helpers shared by the GEMM's callers.
Value loadLanes(LoopBuilder &l, VectorType t, Value mem, ValueRange at, Value mask);
void storeLanes(LoopBuilder &l, Value v, Value mem, ValueRange at, Value mask);

} // namespace mlir::mtgr

#endif
