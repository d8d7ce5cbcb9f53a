
func.func @f(%x: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{rate must be in [0, 1), got 1}}
  %0 = mtgr.dropout %x {rate = 1.0 : f64, stream = 0 : i64} : !mtgr.jagged<4xf32>
  return
}

