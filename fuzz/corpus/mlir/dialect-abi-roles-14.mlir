
// expected-error @+1 {{a 'loss' role has no field 'index'}}
func.func private @f() -> (tensor<f32> {mtgr.role = #mtgr.role<loss, index = 0>})

