
func.func @f(%a: tensor<?x8xf32>, %like: !mtgr.jagged<i64>) {
  // expected-error @+1 {{result rows must have the input's row shape}}
  %0 = mtgr.broadcast_rows %a, %like : tensor<?x8xf32>, !mtgr.jagged<i64> -> !mtgr.jagged<4xf32>
  return
}

