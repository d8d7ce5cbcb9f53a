
func.func @f(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{result must be 'tensor<?x1x4xf32>'}}
  %0 = mtgr.stack %a : tensor<?x4xf32> -> tensor<?x2x4xf32>
  return
}

