
// expected-error @+1 {{unknown ABI argument kind 'weights'}}
func.func private @f(memref<4xf32>) attributes {mtgr.abi = [#mtgr.abi<weights "w">]}

