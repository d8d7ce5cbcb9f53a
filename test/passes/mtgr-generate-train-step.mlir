// RUN: mtgr-opt %s -split-input-file --mtgr-generate-train-step -verify-diagnostics | FileCheck %s

mtgr.table @item fixed rows(10) dim(4)
mtgr.parameter @w : tensor<1x5xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}

func.func @forward(%ids: !mtgr.jagged<i64> {mtgr.input = "candidate.item"},
                   %x: !mtgr.jagged<1xf32> {mtgr.input = "candidate.c"})
    -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr"}) {
  %e = mtgr.embedding_lookup @item %ids : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  %c = mtgr.concat %e, %x : !mtgr.jagged<4xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<5xf32>
  %a = mtgr.silu %c : !mtgr.jagged<5xf32>
  %w = mtgr.param @w : tensor<1x5xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %a, %w, %b : !mtgr.jagged<5xf32>, tensor<1x5xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [2.0], normalizer = 8.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: {mtgr.input = "candidate.item"}
// CHECK-SAME: %[[Y:[a-z0-9]+]]: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr"})
// CHECK-SAME: -> (tensor<f32> {mtgr.output = "loss"}, tensor<1x5xf32> {mtgr.output = "grad:w"}, tensor<1xf32> {mtgr.output = "grad:b"}, !mtgr.jagged<4xf32> {mtgr.output = "embedding_grad:candidate.item"})
// CHECK: %[[E:.*]] = mtgr.embedding_lookup @item
// CHECK: %[[C:.*]] = mtgr.concat %[[E]]
// CHECK: %[[A:.*]] = mtgr.silu %[[C]]
// CHECK: %[[L:.*]] = mtgr.linear %[[A]]
// CHECK: %[[LOSS:.*]] = mtgr.bce_loss(%[[L]]) labels(%[[Y]]) {normalizer = 8.000000e+00 : f64, task_weights = [2.000000e+00]}
// CHECK: %[[DL:.*]] = mtgr.bce_loss_backward(%[[L]]) labels(%[[Y]])
// CHECK: %[[DA:.*]], %[[DW:.*]], %[[DB:.*]] = mtgr.linear_backward %[[A]], %{{.*}}, %[[DL]]
// CHECK: %[[DC:.*]] = mtgr.silu_backward %[[C]], %[[DA]]
// CHECK-DAG: %[[DE:.*]] = mtgr.column_slice %[[DC]][0, 4]
// CHECK-DAG: mtgr.column_slice %[[DC]][4, 1]
// CHECK: return %[[LOSS]], %[[DW]], %[[DB]], %[[DE]]

// -----

// A value used twice gets the sum of its gradients.
mtgr.parameter @w : tensor<1x2xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}
func.func @forward(%x: !mtgr.jagged<2xf32> {mtgr.input = "candidate.c"}) -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr"}) {
  %m = mtgr.mul %x, %x : !mtgr.jagged<2xf32>
  %w = mtgr.param @w : tensor<1x2xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %m, %w, %b : !mtgr.jagged<2xf32>, tensor<1x2xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 1.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// CHECK-LABEL: func.func @train_step(
// CHECK: %[[DM:.*]], %{{.*}}, %{{.*}} = mtgr.linear_backward
// CHECK: %[[G1:.*]] = mtgr.mul %[[DM]], %arg0
// CHECK: %[[G2:.*]] = mtgr.mul %[[DM]], %arg0
// CHECK: mtgr.add %[[G1]], %[[G2]]

// -----

// HSTU ops have no gradient rule yet: a clear error.
func.func @forward(%x: !mtgr.jagged<8xf32> {mtgr.input = "x"}, %l: !mtgr.layout {mtgr.input = "layout"},
                   %g: tensor<4x8xf32> {mtgr.input = "g"}) -> (!mtgr.jagged<8xf32> {mtgr.output = "ctr"}) {
  // expected-error @+1 {{no gradient rule for 'mtgr.group_layer_norm' yet}}
  %y = mtgr.group_layer_norm %x, %l, %g, %g : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  return %y : !mtgr.jagged<8xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 1.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
