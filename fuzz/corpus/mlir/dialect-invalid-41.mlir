
func.func @f(%l: !mtgr.layout) {
  // expected-error @+1 {{the intervals mask comes from the batch; it is not built}}
  %0 = mtgr.build_mask intervals %l : !mtgr.jagged<3x2xi32>
  return
}

