
func.func @f(%a: !mtgr.jagged<4xf32>, %b: !mtgr.jagged<4xf32>) {
  // expected-error @+1 {{result width 9 is not the sum of the input widths 8}}
  %0 = mtgr.concat %a, %b : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<9xf32>
  return
}

