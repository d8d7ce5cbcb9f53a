
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'feature' needs 'group', one of user, sequence, realtime, candidate, tokens}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", group = "items", index = 0}})

