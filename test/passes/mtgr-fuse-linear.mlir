// RUN: mtgr-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(mtgr-fuse-linear))' | FileCheck %s

// The HSTU layer (inference): GLN into the uvqk GEMM's prologue, SiLU and
// the U/V/Q/K split into its epilogue; gate * GLN into the output
// projection's prologue and the residual into its epilogue.
// CHECK-LABEL: func.func @layer
// CHECK: %[[P:.*]]:4 = mtgr.fused_linear %[[X:[^ ]*]] norm(%{{.*}}, %{{.*}}, %{{.*}}) weight %{{.*}} bias %{{.*}} {eps = 1.000000e-05 : f64, silu, splits = array<i64: 4, 4, 4, 4>}
// CHECK-NOT: mtgr.column_slice
// CHECK: %[[A:.*]] = mtgr.hstu_attention %[[P]]#2, %[[P]]#3, %[[P]]#1
// CHECK: %[[Y:.*]] = mtgr.fused_linear %[[A]] gate %[[P]]#0 norm(%{{.*}}, %{{.*}}, %{{.*}}) weight %{{.*}} bias %{{.*}} residual %[[X]] {eps = 1.000000e-05 : f64}
// CHECK-NOT: mtgr.group_layer_norm
// CHECK-NOT: mtgr.silu
// CHECK-NOT: mtgr.mul
// CHECK-NOT: mtgr.add
// CHECK: return %[[Y]]
func.func @layer(%x: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %m: !mtgr.jagged<3x2xi32>,
                 %g: tensor<4x4xf32>, %b: tensor<4x4xf32>, %w: tensor<16x4xf32>, %c: tensor<16xf32>,
                 %wo: tensor<4x4xf32>, %co: tensor<4xf32>) -> !mtgr.jagged<4xf32> {
  %n = mtgr.group_layer_norm %x, %l, %g, %b : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
  %y = mtgr.linear %n, %w, %c : !mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32> -> !mtgr.jagged<16xf32>
  %s = mtgr.silu %y : !mtgr.jagged<16xf32>
  %u = mtgr.column_slice %s [0, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
  %v = mtgr.column_slice %s [4, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
  %q = mtgr.column_slice %s [8, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
  %k = mtgr.column_slice %s [12, 4] : !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>
  %a = mtgr.hstu_attention %q, %k, %v, %m, %l {heads = 1 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<4xf32>
  %gated = mtgr.mul %a, %u : !mtgr.jagged<4xf32>
  %n2 = mtgr.group_layer_norm %gated, %l, %g, %b : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
  %o = mtgr.linear %n2, %wo, %co : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
  %r = mtgr.add %x, %o : !mtgr.jagged<4xf32>
  return %r : !mtgr.jagged<4xf32>
}

// -----
// Train step: the norm's output, which the backward pass reads, stays; the
// pre-activation that silu_backward reads becomes the fused op's first
// result; the residual fuses.
// CHECK-LABEL: func.func @shared
// CHECK: %[[N:.*]] = mtgr.group_layer_norm
// CHECK: %[[F:.*]]:2 = mtgr.fused_linear %[[N]] weight %{{.*}} bias %{{.*}} {preactivation, silu}
// CHECK: mtgr.silu_backward %[[F]]#0, %[[F]]#1
// CHECK: mtgr.fused_linear %[[N]] weight %{{.*}} bias %{{.*}} residual %{{.*}} :
// CHECK-NOT: mtgr.add
// CHECK-NOT: mtgr.silu %
func.func @shared(%x: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x4xf32>, %b: tensor<4x4xf32>,
                  %w: tensor<4x4xf32>, %c: tensor<4xf32>)
    -> (!mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>) {
  %n = mtgr.group_layer_norm %x, %l, %g, %b : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
  %y = mtgr.linear %n, %w, %c : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
  %s = mtgr.silu %y : !mtgr.jagged<4xf32>
  %d = mtgr.silu_backward %y, %s : !mtgr.jagged<4xf32>
  %z = mtgr.linear %n, %w, %c : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
  %r = mtgr.add %z, %x : !mtgr.jagged<4xf32>
  return %s, %d, %r, %n : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
}

// -----
// Inapplicable: slices that overlap or leave a gap are not a split; a lone
// linear stays a linear.
// CHECK-LABEL: func.func @partial
// CHECK: mtgr.linear
// CHECK: mtgr.column_slice
// CHECK: mtgr.column_slice
// CHECK-NOT: mtgr.fused_linear
func.func @partial(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %c: tensor<8xf32>)
    -> (!mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>) {
  %y = mtgr.linear %x, %w, %c : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  %a = mtgr.column_slice %y [0, 4] : !mtgr.jagged<8xf32> -> !mtgr.jagged<4xf32>
  %b = mtgr.column_slice %y [6, 2] : !mtgr.jagged<8xf32> -> !mtgr.jagged<2xf32>
  return %a, %b : !mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>
}

// -----
// Train step of an HSTU layer: SiLU and the U/V/Q/K split fuse, the
// pre-activation is the first result.
// CHECK-LABEL: func.func @split_train
// CHECK: %[[F:.*]]:3 = mtgr.fused_linear %arg0 weight %arg1 bias %arg2 {preactivation, silu, splits = array<i64: 2, 2>}
// CHECK-SAME: -> (!mtgr.jagged<4xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>)
// CHECK-NOT: mtgr.column_slice
// CHECK: %[[D:.*]] = mtgr.silu_backward %[[F]]#0, %arg3
// CHECK: return %[[F]]#1, %[[F]]#2, %[[D]]
func.func @split_train(%x: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %c: tensor<4xf32>, %dy: !mtgr.jagged<4xf32>)
    -> (!mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<4xf32>) {
  %y = mtgr.linear %x, %w, %c : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
  %s = mtgr.silu %y : !mtgr.jagged<4xf32>
  %a = mtgr.column_slice %s [0, 2] : !mtgr.jagged<4xf32> -> !mtgr.jagged<2xf32>
  %b = mtgr.column_slice %s [2, 2] : !mtgr.jagged<4xf32> -> !mtgr.jagged<2xf32>
  %d = mtgr.silu_backward %y, %dy : !mtgr.jagged<4xf32>
  return %a, %b, %d : !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32>, !mtgr.jagged<4xf32>
}

// -----
// Inapplicable: another reader of the pre-activation comes before the SiLU
// (the fused op, placed where the SiLU is, would not dominate it).
// CHECK-LABEL: func.func @reader_first
// CHECK: %[[Y:.*]] = mtgr.linear
// CHECK: mtgr.mul %[[Y]], %[[Y]]
// CHECK: mtgr.silu %[[Y]]
// CHECK-NOT: mtgr.fused_linear
func.func @reader_first(%x: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %c: tensor<4xf32>)
    -> (!mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>) {
  %y = mtgr.linear %x, %w, %c : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32> -> !mtgr.jagged<4xf32>
  %m = mtgr.mul %y, %y : !mtgr.jagged<4xf32>
  %s = mtgr.silu %y : !mtgr.jagged<4xf32>
  return %m, %s : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
}
