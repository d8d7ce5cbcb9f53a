
func.func @f(%a: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{result must be 'tensor<?x8xf32>'}}
  %0 = mtgr.mean_pool %a : !mtgr.jagged<8xf32> -> tensor<?x4xf32>
  return
}

