
func.func @f(%v: tensor<?x8xf32>, %o: tensor<?xindex>) {
  // expected-error @+1 {{values must be 'tensor<?x16xf32>' for '!mtgr.jagged<16xf32>', got 'tensor<?x8xf32>'}}
  %0 = mtgr.jagged_from_parts %v, %o : tensor<?x8xf32>, tensor<?xindex> -> !mtgr.jagged<16xf32>
  return
}

