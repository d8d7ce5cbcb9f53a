
func.func @f(%l: !mtgr.jagged<2xf32>) {
  // expected-error @+1 {{logits and labels must be '!mtgr.jagged<1xf32>'}}
  %0 = mtgr.bce_loss (%l) labels(%l) {task_weights = [1.0], normalizer = 1.0 : f64} : (!mtgr.jagged<2xf32>), (!mtgr.jagged<2xf32>) -> tensor<f32>
  return
}

