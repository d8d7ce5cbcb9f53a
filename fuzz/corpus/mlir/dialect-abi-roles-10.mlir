
// expected-error @+1 {{a 'feature' role needs a 'group' (user, sequence, realtime, candidate, tokens)}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, index = 0>})

