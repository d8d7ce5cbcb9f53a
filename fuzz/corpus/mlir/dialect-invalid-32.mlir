
func.func @f(%a: tensor<?x4xf32>, %b: tensor<?x5xf32>) {
  // expected-error @+1 {{inputs must all have type 'tensor<?x4xf32>'}}
  %0 = mtgr.stack %a, %b : tensor<?x4xf32>, tensor<?x5xf32> -> tensor<?x2x4xf32>
  return
}

