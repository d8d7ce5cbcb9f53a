
// expected-error @+1 {{argument 0: "mtgr.role" has unknown kind 'weights'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "weights"}})

