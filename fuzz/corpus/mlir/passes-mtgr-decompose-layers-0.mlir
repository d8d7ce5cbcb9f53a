// RUN: mtgr-opt %s -split-input-file --mtgr-decompose-layers | FileCheck %s

// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%[[X:.*]]: !mtgr.jagged<8xf32>, %[[W0:.*]]: tensor<16x8xf32>, %[[W1:.*]]: tensor<4x16xf32>, %[[B0:.*]]: tensor<16xf32>, %[[B1:.*]]: tensor<4xf32>)
// CHECK:      %[[H:.*]] = mtgr.linear %[[X]], %[[W0]], %[[B0]] : {{.*}} -> !mtgr.jagged<16xf32>
// CHECK-NEXT: %[[A:.*]] = mtgr.silu %[[H]] : !mtgr.jagged<16xf32>
// CHECK-NEXT: %[[Y:.*]] = mtgr.linear %[[A]], %[[W1]], %[[B1]] : {{.*}} -> !mtgr.jagged<4xf32>
// CHECK-NEXT: return %[[Y]]
// CHECK-NOT:  mtgr.mlp
func.func @mlp(%x: !mtgr.jagged<8xf32>, %w0: tensor<16x8xf32>, %w1: tensor<4x16xf32>, %b0: tensor<16xf32>, %b1: tensor<4xf32>) -> !mtgr.jagged<4xf32> {
  %y = mtgr.mlp %x weights(%w0, %w1) biases(%b0, %b1) : (!mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<4x16xf32>, tensor<16xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
  return %y : !mtgr.jagged<4xf32>
}

