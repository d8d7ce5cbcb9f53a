//===- RowMath.h - per-row math shared by standalone and fused lowerings -*- C++ -*-===//
//
// One home for the math an op has wherever it is lowered: the layer norm's
// statistics and affine map are written once here and used by the standalone
// `mtgr.group_layer_norm` lowering (scalars) and by the fused linear's A-panel
// packing (vectors), so the two cannot drift apart; SiLU's derivative serves
// the CPU loops and the GPU kernels alike. With one
// lane the code is exactly the scalar loop, so the standalone lowering's
// results do not change bit for bit.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_COMMON_ROWMATH_H
#define MTGR_CODEGEN_COMMON_ROWMATH_H

#include "codegen/common/LoweringSupport.h"

namespace mlir::mtgr {

/// Row-wise code on scalars (width 1) or vectors of `width` f32 lanes.
struct Lanes {
  LoopBuilder &l;
  int64_t width;
  Type type();
  Value load(Value m, ValueRange at);
  void store(Value v, Value m, ValueRange at);
  Value splat(Value s);
  /// The scalar sum of a value of type(): itself for one lane.
  Value sum(Value v);
  /// sum over k in [0, n) step width of body(k), reduced to a scalar, in
  /// order (one lane: ((0 + body(0)) + body(1)) + ...).
  Value accumulate(int64_t n, function_ref<Value(Value)> body);
  /// body(k) for k in [0, n) step width.
  void each(int64_t n, function_ref<void(Value)> body);
  /// Vectors of `lanes` across a row of n when they tile it, else scalars:
  /// the standalone norms and the fused linear's norm prologue choose alike,
  /// so both sum a row the same way.
  static Lanes across(LoopBuilder &l, int64_t n, int64_t lanes) {
    return Lanes{l, n % lanes == 0 ? lanes : 1};
  }
};

/// A row's layer-norm statistics (DESIGN 1.4): its mean and
/// 1 / sqrt(biased variance + eps), as scalars.
struct NormStatistics {
  Value mean, rstd;
};
/// The statistics of the row whose element k is `input(k)` (one lane's worth
/// of elements at k), `n` elements: the mean first, then the mean of squared
/// deviations from it (two passes, as the reference computes them).
NormStatistics layerNormStatistics(Lanes &v, int64_t n, function_ref<Value(Value)> input,
                                   Value eps);
/// The statistics of row r of a [rows, n] buffer, on scalars: what the
/// standalone norm of every back end computes per row.
NormStatistics layerNormRowStatistics(LoopBuilder &l, Value x, Value r, int64_t n, Value eps);
/// gamma * ((x - mean) * rstd) + beta, in lanes.
Value layerNormAffine(Lanes &v, Value x, const NormStatistics &s, Value gamma, Value beta);

/// The layer norm's backward over a row of n (DESIGN 1.4): mean(dxhat) and
/// mean(dxhat * xhat), dxhat = dy * gamma, each summed in order (per lane),
/// as scalars; dy, gamma and xhat give one lane's worth at k.
std::pair<Value, Value> layerNormGradMeans(Lanes &v, int64_t n, function_ref<Value(Value)> dy,
                                           function_ref<Value(Value)> gamma,
                                           function_ref<Value(Value)> xhat);
/// dx = rstd * ((dxhat - m1) - xhat * m2), in lanes (rstd, m1, m2 scalars).
Value layerNormInputGrad(Lanes &v, Value rstd, Value dxhat, Value xhat, Value m1, Value m2);
/// xhat = (x - mean) * rstd, in lanes (mean, rstd scalars).
Value layerNormNormalized(Lanes &v, Value x, Value mean, Value rstd);

/// The group layer norm's backward on row r of x [rows, n] (DESIGN 1.4):
/// the row's statistics, kept at means[r] and rstds[r] for
/// groupLayerNormParamGrads, then dx's lanes at each k handed to
/// `store(k, dx)`; dy[r] is the result's gradient. The standalone
/// norm backward and the CPU's linear_norm_backward (after the GEMM
/// finishes dy's rows) run this same code.
void groupLayerNormBackwardRow(Lanes &v, int64_t n, Value x, const LayoutBuffers &layout,
                               Value gamma, Value dy, Value r, Value eps, Value means, Value rstds,
                               function_ref<void(Value k, Value dx)> store);
/// dgamma [groups, n] and dbeta (zeroed here) summed over `rows` rows of
/// dy * xhat and dy, xhat from x and each row's means[r], rstds[r]: the
/// threads take ranges of column vectors (`lanes` wide when they tile n)
/// and add the rows in order, so no sum depends on the thread count.
void groupLayerNormParamGrads(LoopBuilder &l, int64_t lanes, int64_t n, Value x,
                              const LayoutBuffers &layout, Value gamma, Value dy, Value rows,
                              Value means, Value rstds, Value dgamma, Value dbeta);

/// The elementwise family's binary ops on scalars: mtgr.add as u + w,
/// mtgr.mul as u * w (every back end's kernels).
Value elementwiseBinary(LoopBuilder &l, Operation *op, Value u, Value w);

/// silu'(v) = s (1 + v (1 - s)), s = sigmoid(v): the elementwise family's
/// gradient, on scalars (every back end's silu_backward).
Value siluDerivative(LoopBuilder &l, Value v);
/// dy * silu'(x): silu_backward's element (the CPU's silu_backward and
/// concat_silu_backward, the GPU's silu_backward: the same bits).
Value siluBackward(LoopBuilder &l, Value x, Value dy);

/// Columns [0, n) in chunks of one vector (`lanes` wide when they tile n,
/// else single columns), split over the threads as contiguous ranges of
/// chunks (as many parts as threads, at most one per chunk), in a parallel
/// region named `kind`: body(v, c0, c1) per part, chunk c's columns from c
/// v.width. A column's sum over rows then runs on one thread, in row order:
/// the same bits on any thread count (dgamma/dbeta, a bias's gradient).
void forColumnRanges(LoopBuilder &l, int64_t lanes, int64_t n, StringRef kind,
                     function_ref<void(Lanes &v, Value c0, Value c1)> body);

} // namespace mlir::mtgr

#endif
