
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{has 2 task weights for 1 tasks}}
  %0 = mtgr.bce_loss (%l) labels(%l) {task_weights = [1.0, 1.0], normalizer = 1.0 : f64} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return
}

