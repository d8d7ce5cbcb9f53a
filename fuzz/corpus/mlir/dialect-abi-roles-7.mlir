
// expected-error @+1 {{field 'index' given twice}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = user, index = 0, index = 1>})

