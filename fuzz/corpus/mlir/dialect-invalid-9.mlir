
mtgr.parameter @p : tensor<4xf32> init(zeros)
func.func @f() {
  // expected-error @+1 {{type 'tensor<8xf32>' does not match the parameter's type 'tensor<4xf32>'}}
  %0 = mtgr.param @p : tensor<8xf32>
  return
}

