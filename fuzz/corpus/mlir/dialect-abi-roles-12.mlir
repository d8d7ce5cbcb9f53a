
// expected-error @+1 {{a 'grad' role needs a 'param' (the parameter's name)}}
func.func private @f(%a: tensor<4xf32> {mtgr.role = #mtgr.role<grad>})

