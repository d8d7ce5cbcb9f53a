
func.func @f(%x: !mtgr.jagged<8xf32>, %k: !mtgr.jagged<4xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{q has width 8 but k has width 4}}
  %0 = mtgr.hstu_attention %x, %k, %x, %m, %l {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm total>}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

