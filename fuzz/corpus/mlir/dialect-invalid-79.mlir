
func.func @f(%x: !mtgr.jagged<8xf32>, %w: tensor<4x6xf32>, %dy: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{weight [4, 6] does not map width 8 to width 4}}
  %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy : !mtgr.jagged<8xf32>, tensor<4x6xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>, tensor<4x6xf32>, tensor<4xf32>
  return
}

