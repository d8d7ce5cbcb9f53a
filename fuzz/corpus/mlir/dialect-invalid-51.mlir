
func.func @f(%x: !mtgr.jagged<8xf32>, %m: !mtgr.jagged<3x2xi32>, %l: !mtgr.layout) {
  // expected-error @+1 {{n_norm_constant must be positive and finite}}
  %0 = mtgr.hstu_attention %x, %x, %x, %m, %l {heads = 2 : i64, alpha = 1.0 : f64, n_norm = #mtgr<n_norm constant>, n_norm_constant = 0.0 : f64}
      : !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<8xf32>, !mtgr.jagged<3x2xi32> -> !mtgr.jagged<8xf32>
  return
}

