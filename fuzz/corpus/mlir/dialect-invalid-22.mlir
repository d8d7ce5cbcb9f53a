
func.func @f(%x: !mtgr.jagged<2x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{input rows must be vectors}}
  %0 = mtgr.linear %x, %w, %b : !mtgr.jagged<2x4xf32>, tensor<8x4xf32>, tensor<8xf32> -> !mtgr.jagged<8xf32>
  return
}

