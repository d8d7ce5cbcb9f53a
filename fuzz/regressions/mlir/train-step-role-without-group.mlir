// RUN: mtgr-opt %s -split-input-file --mtgr-generate-train-step -verify-diagnostics | FileCheck %s

mtgr.table @item fixed rows(10) dim(4)
mtgr.parameter @w : tensor<1x5xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}

func.func @forward(%ids: !mtgr.jagged<i64> {mtgr.input = "candidate.item", mtgr.role = #mtgr.role<feature, index = 0>},
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
// CHECK-SAME: {mtgr.input = "candidate.item", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}
// CHECK-SAME: %[[Y:[a-z0-9]+]]: !mtgr.jagged<1xf32> {mtgr.input = "labels.ctr", mtgr.role = #mtgr.role<labels, group = candidate, index = 0>})
// CHECK-SAME: -> (tensor<f32> {mtgr.output = "loss", mtgr.role = #mtgr.role<loss>}, tensor<1x5xf32> {mtgr.output = "grad:w", mtgr.role = #mtgr.role<grad, param = "w">}, tensor<1xf32> {mtgr.output = "grad:b", mtgr.role = #mtgr.role<grad, param = "b">}, !mtgr.jagged<4xf32> {mtgr.output = "embedding_grad:candidate.item", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>})
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

