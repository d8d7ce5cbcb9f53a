
// expected-error @+1 {{jagged row dimensions must be positive, got 0}}
func.func @f(%a: !mtgr.jagged<0xf32>)

