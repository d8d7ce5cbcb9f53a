
func.func @f(%u: tensor<?x2x8xf32>) {
  // expected-error @+1 {{input must be tensor<?x3xDxf32>}}
  %a, %b, %c = mtgr.unstack %u : tensor<?x2x8xf32> -> tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  return
}

