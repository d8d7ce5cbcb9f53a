
// expected-error @+1 {{a 'time' role has no field 'param'}}
func.func private @f(%t: !mtgr.jagged<i64> {mtgr.role = #mtgr.role<time, group = sequence, param = "w">})

