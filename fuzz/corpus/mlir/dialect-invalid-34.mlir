
func.func @f(%a: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{columns [4, 12) are not inside a row of width 8}}
  %0 = mtgr.column_slice %a [4, 8] : !mtgr.jagged<8xf32> -> !mtgr.jagged<8xf32>
  return
}

