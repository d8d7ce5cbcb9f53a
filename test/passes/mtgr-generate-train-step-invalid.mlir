// RUN: mtgr-opt %s -split-input-file --mtgr-generate-train-step -verify-diagnostics
// IR the pass cannot make a train step of is refused with a diagnostic (each
// case once crashed the pass; found by the mlir fuzz harness).

mtgr.table @item fixed rows(10) dim(4)
mtgr.parameter @w : tensor<1x4xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}
// Embedding ids whose role is not a feature (here: timestamps).
func.func @forward(%ids: !mtgr.jagged<i64> {mtgr.input = "candidate.time", mtgr.role = #mtgr.role<time, group = candidate>})
    -> (!mtgr.jagged<1xf32> {mtgr.output = "ctr"}) {
  // expected-error @+1 {{embedding ids must be an entry point argument with its mtgr.input name and a 'feature' mtgr.role}}
  %e = mtgr.embedding_lookup @item %ids : !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  %w = mtgr.param @w : tensor<1x4xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %e, %w, %b : !mtgr.jagged<4xf32>, tensor<1x4xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 8.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----
mtgr.parameter @w : tensor<1x1xf32> init(xavier_uniform)
mtgr.parameter @b : tensor<1xf32> init(zeros) {no_decay}
// A forward result without its task name.
// expected-error @+1 {{result 0 lacks its mtgr.output (task) name}}
func.func @forward(%x: !mtgr.jagged<1xf32> {mtgr.input = "candidate.c", mtgr.role = #mtgr.role<feature, group = candidate, index = 0>})
    -> !mtgr.jagged<1xf32> {
  %w = mtgr.param @w : tensor<1x1xf32>
  %b = mtgr.param @b : tensor<1xf32>
  %y = mtgr.linear %x, %w, %b : !mtgr.jagged<1xf32>, tensor<1x1xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 8.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----
// A declared @forward without a body.
// expected-error @+1 {{mtgr-generate-train-step needs @forward with a body of one block}}
func.func private @forward(%x: !mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>
func.func @loss(%l: !mtgr.jagged<1xf32>, %y: !mtgr.jagged<1xf32>) -> tensor<f32> {
  %0 = mtgr.bce_loss (%l) labels(%y) {task_weights = [1.0], normalizer = 8.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
