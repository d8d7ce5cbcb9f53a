
func.func @f(%j: !mtgr.jagged<i64>) {
  // expected-error @+1 {{values must be 'tensor<?xi64>' for '!mtgr.jagged<i64>', got 'tensor<?x1xi64>'}}
  %0 = mtgr.jagged_values %j : !mtgr.jagged<i64> -> tensor<?x1xi64>
  return
}

