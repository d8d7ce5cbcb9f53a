
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: tensor<?x4xf32>) {
  // expected-error @+1 {{input, result gradient and input gradient must be rows of the same kind}}
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<?x4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>
  return
}

