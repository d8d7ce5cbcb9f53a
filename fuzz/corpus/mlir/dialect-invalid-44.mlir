
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout, %g: tensor<3x8xf32>) {
  // expected-error @+1 {{group_layer_norm gamma and beta must be [4, 8] (one row per token group), got [3, 8]}}
  %0 = mtgr.group_layer_norm %x, %l, %g, %g : !mtgr.jagged<8xf32>, tensor<3x8xf32>, tensor<3x8xf32>
  return
}

