
mtgr.parameter @w : tensor<2x3xf32> init(xavier_uniform)
func.func @f(%g: tensor<3x2xf32>) {
  // expected-error @+1 {{gradient type 'tensor<3x2xf32>' does not match the parameter's type 'tensor<2x3xf32>'}}
  mtgr.adam_update @w, %g {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64, weight_decay = 0.0 : f64} : tensor<3x2xf32>
  return
}

