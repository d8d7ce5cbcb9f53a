
// expected-error @+1 {{unknown field 'grosp'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, grosp = user, index = 0>})

