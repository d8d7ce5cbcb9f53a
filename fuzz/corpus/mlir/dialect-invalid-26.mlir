
func.func @f(%x: !mtgr.jagged<4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{last layer has 8 outputs but the result has width 9}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<4xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<9xf32>
  return
}

