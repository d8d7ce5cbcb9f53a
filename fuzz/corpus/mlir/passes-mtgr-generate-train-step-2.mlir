

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

