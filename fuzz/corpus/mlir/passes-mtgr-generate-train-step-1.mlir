

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

