
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{needs at least one task}}
  %0 = "mtgr.bce_loss"() <{task_weights = [], normalizer = 1.0 : f64}> : () -> tensor<f32>
  return
}

