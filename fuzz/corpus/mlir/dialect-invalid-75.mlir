
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{normalizer (expected candidates per step) must be positive}}
  %0 = mtgr.bce_loss (%l) labels(%l) {task_weights = [1.0], normalizer = 0.0 : f64} : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> tensor<f32>
  return
}

