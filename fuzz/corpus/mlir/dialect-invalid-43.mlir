
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{eps must be positive}}
  %0 = mtgr.group_layer_norm %x, %l, %g, %g {eps = 0.0 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  return
}

