
func.func @f(%x: !mtgr.jagged<8xf32>, %w0: tensor<16x8xf32>, %w1: tensor<4x8xf32>, %b0: tensor<16xf32>, %b1: tensor<4xf32>) {
  // expected-error @+1 {{layer 1 weight is [4, 8] but its input has width 16}}
  %0 = mtgr.mlp %x weights(%w0, %w1) biases(%b0, %b1) : (!mtgr.jagged<8xf32>, tensor<16x8xf32>, tensor<4x8xf32>, tensor<16xf32>, tensor<4xf32>) -> !mtgr.jagged<4xf32>
  return
}

