
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{alpha must be finite}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 2 : i64, alpha = 0x7FF0000000000000 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

