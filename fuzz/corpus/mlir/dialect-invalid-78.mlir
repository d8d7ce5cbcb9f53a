
func.func @f(%a: !mtgr.jagged<4xf32>, %b: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{'mtgr.add' op requires the same type for all operands and results}}
  %0 = "mtgr.add"(%a, %b) : (!mtgr.jagged<4xf32>, !mtgr.jagged<8xf32>) -> !mtgr.jagged<4xf32>
  return
}

