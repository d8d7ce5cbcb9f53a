
func.func @f(%a: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{result must be '!mtgr.jagged<4xf32>'}}
  %0 = mtgr.column_slice %a [4, 4] : !mtgr.jagged<8xf32> -> !mtgr.jagged<3xf32>
  return
}

