// RUN: mtgr-opt %s -split-input-file -allow-unregistered-dialect --pass-pipeline='builtin.module(func.func(mtgr-cpu-fuse-norm-backward))' | FileCheck %s

// An HSTU layer's projection backward: linear_backward, the norm's backward
// of its input gradient and the residual gradient's add become one op at the
// add's place; the parameters' gradients are the fused op's.
// CHECK-LABEL: func.func @layer
// CHECK-NOT: mtgr.linear_backward
// CHECK-NOT: mtgr.group_layer_norm_backward
// CHECK: %[[DX:[^ ,]+]], %[[DW:[^ ,]+]], %[[DB:[^ ,]+]], %[[DG:[^ ,]+]], %[[DBETA:[^ ,]+]] = mtgr.linear_norm_backward %arg0, %arg1, %arg2 norm(%arg3, %arg4, %arg5) residual(%arg6 : !mtgr.jagged<4xf32>) {eps = 1.000000e-03 : f64} : !mtgr.jagged<4xf32>, tensor<16x4xf32>, !mtgr.jagged<16xf32> -> tensor<16x4xf32>, tensor<16xf32>, tensor<4x4xf32>
// CHECK-NOT: mtgr.add
// CHECK: return %[[DX]], %[[DW]], %[[DB]], %[[DG]], %[[DBETA]]
func.func @layer(%n: !mtgr.jagged<4xf32>, %w: tensor<16x4xf32>, %dy: !mtgr.jagged<16xf32>,
                 %x: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x4xf32>,
                 %dr: !mtgr.jagged<4xf32>)
    -> (!mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %dn, %dw, %db = mtgr.linear_backward %n, %w, %dy : !mtgr.jagged<4xf32>, tensor<16x4xf32>, !mtgr.jagged<16xf32> -> !mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32>
  %dx, %dg, %dbeta = mtgr.group_layer_norm_backward %x, %l, %g, %dn {eps = 1.0e-3 : f64} : !mtgr.jagged<4xf32>, tensor<4x4xf32>
  %sum = mtgr.add %dr, %dx : !mtgr.jagged<4xf32>
  return %sum, %dw, %db, %dg, %dbeta : !mtgr.jagged<4xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----
// The norm's input gradient read twice (the output gate's two products):
// no add to absorb; the fused op stands at the norm's place.
// CHECK-LABEL: func.func @two_readers
// CHECK: %[[DX:[^ ,]+]], %[[DW:[^ ,]+]], %[[DB:[^ ,]+]], %[[DG:[^ ,]+]], %[[DBETA:[^ ,]+]] = mtgr.linear_norm_backward %arg0, %arg1, %arg2 norm(%arg3, %arg4, %arg5) :
// CHECK: mtgr.mul %[[DX]], %arg3
// CHECK: mtgr.mul %[[DX]], %arg0
func.func @two_readers(%n: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %dy: !mtgr.jagged<4xf32>,
                       %x: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<1x4xf32>)
    -> (!mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>) {
  %dn, %dw, %db = mtgr.linear_backward %n, %w, %dy : !mtgr.jagged<4xf32>, tensor<4x4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>
  %dx, %dg, %dbeta = mtgr.group_layer_norm_backward %x, %l, %g, %dn : !mtgr.jagged<4xf32>, tensor<1x4xf32>
  %a = mtgr.mul %dx, %x : !mtgr.jagged<4xf32>
  %b = mtgr.mul %dx, %n : !mtgr.jagged<4xf32>
  return %a, %b : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
}

// -----
// The weight gradient read between the norm's backward and the add: the add
// stays, the linear and the norm still fuse.
// CHECK-LABEL: func.func @read_before_the_add
// CHECK: %[[DX:[^ ,]+]], %[[DW:[^ ,]+]], %[[DB:[^ ,]+]], %[[DG:[^ ,]+]], %[[DBETA:[^ ,]+]] = mtgr.linear_norm_backward %arg0, %arg1, %arg2 norm(%arg3, %arg4, %arg5) :
// CHECK: test.use
// CHECK: mtgr.add %arg6, %[[DX]]
func.func @read_before_the_add(%n: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %dy: !mtgr.jagged<4xf32>,
                               %x: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x4xf32>,
                               %dr: !mtgr.jagged<4xf32>) -> !mtgr.jagged<4xf32> {
  %dn, %dw, %db = mtgr.linear_backward %n, %w, %dy : !mtgr.jagged<4xf32>, tensor<4x4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>
  %dx, %dg, %dbeta = mtgr.group_layer_norm_backward %x, %l, %g, %dn : !mtgr.jagged<4xf32>, tensor<4x4xf32>
  "test.use"(%dw) : (tensor<4x4xf32>) -> ()
  %sum = mtgr.add %dr, %dx : !mtgr.jagged<4xf32>
  return %sum : !mtgr.jagged<4xf32>
}

// -----
// The linear's input gradient read besides the norm, or no norm at all:
// nothing fuses.
// CHECK-LABEL: func.func @kept
// CHECK: mtgr.linear_backward
// CHECK: mtgr.group_layer_norm_backward
// CHECK: mtgr.linear_backward
// CHECK-NOT: mtgr.linear_norm_backward
func.func @kept(%n: !mtgr.jagged<4xf32>, %w: tensor<4x4xf32>, %dy: !mtgr.jagged<4xf32>,
                %x: !mtgr.jagged<4xf32>, %l: !mtgr.layout, %g: tensor<4x4xf32>)
    -> (!mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>) {
  %dn, %dw, %db = mtgr.linear_backward %n, %w, %dy : !mtgr.jagged<4xf32>, tensor<4x4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>
  %dx, %dg, %dbeta = mtgr.group_layer_norm_backward %x, %l, %g, %dn : !mtgr.jagged<4xf32>, tensor<4x4xf32>
  %dn2, %dw2, %db2 = mtgr.linear_backward %n, %w, %dy : !mtgr.jagged<4xf32>, tensor<4x4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4xf32>
  return %dx, %dn, %dn2 : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
}
