
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{q/k width 8 and v width 8 must be multiples of heads = 3}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 3 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

