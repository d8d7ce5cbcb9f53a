
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{has 2 weights but 1 biases}}
  %0 = mtgr.mlp %x weights(%w, %w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> !mtgr.jagged<8xf32>
  return
}

