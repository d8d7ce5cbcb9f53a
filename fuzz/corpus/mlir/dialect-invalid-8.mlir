
func.func @f() {
  // expected-error @+1 {{'missing' does not name an mtgr.parameter}}
  %0 = mtgr.param @missing : tensor<4xf32>
  return
}

