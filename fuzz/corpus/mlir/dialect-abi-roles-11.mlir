
// expected-error @+1 {{result 0: "mtgr.role" of kind 'loss' has no field 'index'}}
func.func private @f() -> (tensor<f32> {mtgr.role = {kind = "loss", index = 0}})
