
func.func @f(%a: !mtgr.jagged<4xf32>, %b: tensor<?x4xf32>) {
  // expected-error @+1 {{inputs and result must all be jagged or all per-sample tensors}}
  %0 = mtgr.concat %a, %b : !mtgr.jagged<4xf32>, tensor<?x4xf32> -> !mtgr.jagged<8xf32>
  return
}

