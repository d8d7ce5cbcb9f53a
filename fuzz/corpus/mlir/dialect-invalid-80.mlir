
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<4x8xf32>, %dy: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{weight and bias gradients must have the parameters' shapes}}
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<3xf32>
  return
}

