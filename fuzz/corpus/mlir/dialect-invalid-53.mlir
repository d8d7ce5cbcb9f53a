
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{needs at least one layer}}
  %0 = mtgr.mlp %x weights() biases() : (!mtgr.jagged<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

