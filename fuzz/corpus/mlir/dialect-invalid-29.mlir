
func.func @f() {
  // expected-error @+1 {{needs at least one input}}
  %0 = "mtgr.concat"() : () -> !mtgr.jagged<4xf32>
  return
}

