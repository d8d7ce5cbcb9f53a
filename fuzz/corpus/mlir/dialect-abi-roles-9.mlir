
// expected-error @+1 {{a role's index must be >= 0, got -2}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = user, index = -2>})

