// RUN: mtgr-opt %s -split-input-file --mtgr-generate-train-step -verify-diagnostics | FileCheck %s

mtgr.table @item fixed rows(10) dim(4)
mtgr.parameter @w : tensor<1x5xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}

func.func @forward(%ids: !mtgr.jagged<i64> {mtgr.input = "candidate.item", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>},
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

// Layer norm and attention: their backward ops, with rab tables' gradients;
// layouts, masks and timestamps get none.
mtgr.parameter @g : tensor<4x4xf32> init(ones) {no_decay}
mtgr.parameter @p : tensor<3xf32> init(zeros) {no_decay}
mtgr.parameter @t : tensor<2xf32> init(zeros) {no_decay}
mtgr.parameter @w : tensor<1x4xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}
func.func @forward(%u: tensor<?x1x4xf32> {mtgr.input = "u"}, %s: !mtgr.jagged<4xf32> {mtgr.input = "s"},
                   %c: !mtgr.jagged<4xf32> {mtgr.input = "c"}, %ts: !mtgr.jagged<i64> {mtgr.input = "ts"},
                   %tc: !mtgr.jagged<i64> {mtgr.input = "tc"}) -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr"}) {
  %x, %l = mtgr.assemble_tokens %u, %s, %s, %c times(%ts, %ts, %tc)
      : tensor<?x1x4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>,
        !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>, !mtgr.layout
  %g = mtgr.param @g : tensor<4x4xf32>
  %n = mtgr.group_layer_norm %x, %l, %g, %g : !mtgr.jagged<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
  %m = mtgr.build_mask dynamic %l : !mtgr.jagged<3x2xi32>
  %p = mtgr.param @p : tensor<3xf32>
  %t = mtgr.param @t : tensor<2xf32>
  %o = mtgr.hstu_attention %n, %n, %n, %m, %l rab(%p, %t) {heads = 1 : i64, alpha = 0.5 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<3x2xi32>, tensor<3xf32>, tensor<2xf32> -> !mtgr.jagged<4xf32>
  %cand = mtgr.extract_group candidate %o, %l : !mtgr.jagged<4xf32>
  %w = mtgr.param @w : tensor<1x4xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %cand, %w, %b : !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 1.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: {mtgr.output = "grad:g", mtgr.role = #mtgr.role<grad, param = "g">}, tensor<3xf32> {mtgr.output = "grad:p", mtgr.role = #mtgr.role<grad, param = "p">}, tensor<2xf32> {mtgr.output = "grad:t", mtgr.role = #mtgr.role<grad, param = "t">}
// CHECK: %[[D:.*]] = mtgr.scatter_group candidate
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}:2 = mtgr.hstu_attention_backward {{.*}}, %[[D]] rab(
// CHECK: mtgr.group_layer_norm_backward
// CHECK: mtgr.extract_user
// CHECK: mtgr.extract_group sequence
// CHECK: mtgr.extract_group realtime
// CHECK: mtgr.extract_group candidate

// -----

// With an mtgr.optimizer: @apply_update takes train_step's gradients (by the
// same names) and applies one adam_update per dense parameter (no weight
// decay where the parameter says no_decay) and one sparse_update per table
// over all of its lookups.
mtgr.optimizer adamw lr(1.0e-3) betas(0.9, 0.999) eps(1.0e-8) weight_decay(0.01) sparse(rowwise_adagrad lr(0.05))
mtgr.table @item fixed rows(10) dim(2)
mtgr.parameter @w : tensor<1x4xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}

func.func @forward(%c: !mtgr.jagged<i64> {mtgr.input = "candidate.item", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>},
                   %s: !mtgr.jagged<i64> {mtgr.input = "candidate.last_item", mtgr.role = #mtgr.role<feature, group = candidate, index = 1>})
    -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr"}) {
  %e1 = mtgr.embedding_lookup @item %c : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
  %e2 = mtgr.embedding_lookup @item %s : !mtgr.jagged<i64> -> !mtgr.jagged<2xf32>
  %x = mtgr.concat %e1, %e2 : !mtgr.jagged<2xf32>, !mtgr.jagged<2xf32> -> !mtgr.jagged<4xf32>
  %w = mtgr.param @w : tensor<1x4xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 8.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: -> (tensor<f32> {mtgr.output = "loss", mtgr.role = #mtgr.role<loss>}, tensor<1x4xf32> {mtgr.output = "grad:w", mtgr.role = #mtgr.role<grad, param = "w">}, tensor<1xf32> {mtgr.output = "grad:b", mtgr.role = #mtgr.role<grad, param = "b">}, !mtgr.jagged<2xf32> {mtgr.output = "embedding_grad:candidate.item", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>}, !mtgr.jagged<2xf32> {mtgr.output = "embedding_grad:candidate.last_item", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 1>})
// CHECK-NOT: _update
// CHECK: return
// CHECK-LABEL: func.func @apply_update(
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<1x4xf32> {mtgr.input = "grad:w", mtgr.role = #mtgr.role<grad, param = "w">}, %[[B:[a-z0-9]+]]: tensor<1xf32> {mtgr.input = "grad:b", mtgr.role = #mtgr.role<grad, param = "b">},
// CHECK-SAME: %[[C:[a-z0-9]+]]: !mtgr.jagged<i64> {mtgr.input = "candidate.item", mtgr.role = {{.*}}}, %[[GC:[a-z0-9]+]]: !mtgr.jagged<2xf32> {mtgr.input = "embedding_grad:candidate.item", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>},
// CHECK-SAME: %[[S:[a-z0-9]+]]: !mtgr.jagged<i64> {mtgr.input = "candidate.last_item", mtgr.role = {{.*}}}, %[[GS:[a-z0-9]+]]: !mtgr.jagged<2xf32> {mtgr.input = "embedding_grad:candidate.last_item", mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 1>})
// CHECK-NEXT: mtgr.adam_update @w, %[[W]] {{{.*}}decoupled, {{.*}}weight_decay = 1.000000e-02 : f64} : tensor<1x4xf32>
// CHECK-NEXT: mtgr.adam_update @b, %[[B]] {{{.*}}decoupled, {{.*}}weight_decay = 0.000000e+00 : f64} : tensor<1xf32>
// CHECK-NEXT: mtgr.sparse_update @item rowwise_adagrad ids(%[[C]], %[[S]]) grads(%[[GC]], %[[GS]]) {eps = 1.000000e-08 : f64, lr = 5.000000e-02 : f64}
// CHECK-NEXT: return
