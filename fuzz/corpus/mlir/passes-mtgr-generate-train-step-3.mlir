

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
