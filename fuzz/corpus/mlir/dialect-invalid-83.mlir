
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{result rows must have the input's row shape}}
  %s = mtgr.segment_sum %x : !mtgr.jagged<8xf32> -> tensor<?x4xf32>
  return
}

