
func.func @f(%l: !mtgr.jagged<2xf32>) {
  // expected-error @+1 {{logits and labels must be '!mtgr.jagged<1xf32>'}}
  %d = mtgr.bce_loss_backward (%l) labels(%l) {task_weights = [1.0], normalizer = 4.0 : f64}
      : (!mtgr.jagged<2xf32>), (!mtgr.jagged<2xf32>) -> !mtgr.jagged<2xf32>
  return
}

