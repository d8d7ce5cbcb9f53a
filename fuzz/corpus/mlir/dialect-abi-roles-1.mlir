
// A bound function's ABI: one #mtgr.abi per argument.
// CHECK-LABEL: func.func private @mtgr_forward
// CHECK-SAME: mtgr.abi = [#mtgr.abi<input "candidate.c", group = candidate, index = 1>, #mtgr.abi<embedding "candidate.item", group = candidate, index = 0, table = "item">, #mtgr.abi<state "w", slot = "m">, #mtgr.abi<grad_input "grad:w", param = "w">]
func.func private @mtgr_forward(memref<?x1xf32>, memref<?x4xf32>, memref<4xf32>, memref<4xf32>) attributes {mtgr.abi = [#mtgr.abi<input "candidate.c", group = candidate, index = 1>, #mtgr.abi<embedding "candidate.item", group = candidate, index = 0, table = "item">, #mtgr.abi<state "w", slot = "m">, #mtgr.abi<grad_input "grad:w", param = "w">]}

