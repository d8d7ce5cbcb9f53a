
func.func @f(%l: !mtgr.jagged<1xf32>) {
  // expected-error @+1 {{needs one weight and one gradient per task}}
  %d = mtgr.bce_loss_backward (%l) labels(%l) {task_weights = [1.0, 2.0], normalizer = 4.0 : f64}
      : (!mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>) -> !mtgr.jagged<1xf32>
  return
}

