
func.func @f(%g: tensor<2xf32>) {
  // expected-error @+1 {{'missing' does not name an mtgr.parameter}}
  mtgr.adam_update @missing, %g {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64, weight_decay = 0.0 : f64} : tensor<2xf32>
  return
}

