
func.func @f(%l: !mtgr.layout) {
  // expected-error @+1 {{result #0 must be per-row attention intervals !mtgr.jagged<3x2xi32>}}
  %0 = mtgr.build_mask causal %l : !mtgr.jagged<2x2xi32>
  return
}

