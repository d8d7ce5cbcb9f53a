// RUN: mtgr-opt %s -split-input-file -verify-diagnostics | FileCheck %s
// The typed ABI on entry point arguments and results (mtgr.role, mtgr.input,
// mtgr.output) and on bound functions (mtgr.abi) is verified where it is
// attached: passes and code generation read it without further checks (a
// fuzzed role once crashed mtgr-generate-train-step). The kinds and groups
// are the ABI leaf's enums (abi/AbiKinds.h), printed by its one table.

// A well-formed set: every kind with its fields, printed back the same way.
// CHECK-LABEL: func.func private @ok
// CHECK-SAME: mtgr.role = #mtgr.role<feature, group = user, index = 0>
// CHECK-SAME: mtgr.role = #mtgr.role<time, group = sequence>
// CHECK-SAME: mtgr.role = #mtgr.role<labels, group = candidate, index = 1>
// CHECK-SAME: mtgr.role = #mtgr.role<grad, param = "w">
// CHECK-SAME: mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>
// CHECK-SAME: mtgr.role = #mtgr.role<intervals, group = tokens>
// CHECK-SAME: mtgr.role = #mtgr.role<logits, index = 2>
// CHECK-SAME: -> (tensor<f32> {mtgr.role = #mtgr.role<loss>}, !mtgr.jagged<1xf32> {mtgr.output = "ctr", mtgr.role = #mtgr.role<output, index = 0>})
func.func private @ok(%a: tensor<?xi64> {mtgr.input = "user.id", mtgr.role = #mtgr.role<feature, group = user, index = 0>},
              %t: !mtgr.jagged<i64> {mtgr.role = #mtgr.role<time, group = sequence>},
              %l: !mtgr.jagged<1xf32> {mtgr.role = #mtgr.role<labels, index = 1, group = candidate>},
              %g: tensor<4xf32> {mtgr.role = #mtgr.role<grad, param = "w">},
              %e: !mtgr.jagged<4xf32> {mtgr.role = #mtgr.role<embedding_grad, group = candidate, index = 0>},
              %i: !mtgr.jagged<3x2xi32> {mtgr.role = #mtgr.role<intervals, group = tokens>},
              %z: !mtgr.jagged<1xf32> {mtgr.role = #mtgr.role<logits, index = 2>})
    -> (tensor<f32> {mtgr.role = #mtgr.role<loss>}, !mtgr.jagged<1xf32> {mtgr.output = "ctr", mtgr.role = #mtgr.role<output, index = 0>})

// -----
// A bound function's ABI: one #mtgr.abi per argument.
// CHECK-LABEL: func.func private @mtgr_forward
// CHECK-SAME: mtgr.abi = [#mtgr.abi<input "candidate.c", group = candidate, index = 1>, #mtgr.abi<embedding "candidate.item", group = candidate, index = 0, table = "item">, #mtgr.abi<state "w", slot = "m">, #mtgr.abi<grad_input "grad:w", param = "w">]
func.func private @mtgr_forward(memref<?x1xf32>, memref<?x4xf32>, memref<4xf32>, memref<4xf32>) attributes {mtgr.abi = [#mtgr.abi<input "candidate.c", group = candidate, index = 1>, #mtgr.abi<embedding "candidate.item", group = candidate, index = 0, table = "item">, #mtgr.abi<state "w", slot = "m">, #mtgr.abi<grad_input "grad:w", param = "w">]}

// -----
// expected-error @+1 {{argument 0: "mtgr.role" must be a #mtgr.role<...>}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = "feature"})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" must be a #mtgr.role<...>}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", group = "user", index = 0}})

// -----
// expected-error @+1 {{unknown role kind 'weights'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<weights>})

// -----
// expected-error @+1 {{unknown field 'grosp'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, grosp = user, index = 0>})

// -----
// expected-error @+1 {{unknown group 'items'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = items, index = 0>})

// -----
// expected-error @+1 {{field 'index' given twice}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = user, index = 0, index = 1>})

// -----
// expected-error @+1 {{a 'feature' role needs an 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = user>})

// -----
// expected-error @+1 {{a role's index must be >= 0, got -2}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, group = user, index = -2>})

// -----
// expected-error @+1 {{a 'feature' role needs a 'group' (user, sequence, realtime, candidate, tokens)}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<feature, index = 0>})

// -----
// expected-error @+1 {{a 'embedding_grad' role needs an 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = #mtgr.role<embedding_grad, group = user>})

// -----
// expected-error @+1 {{a 'grad' role needs a 'param' (the parameter's name)}}
func.func private @f(%a: tensor<4xf32> {mtgr.role = #mtgr.role<grad>})

// -----
// expected-error @+1 {{expected string}}
func.func private @f(%a: tensor<4xf32> {mtgr.role = #mtgr.role<grad, param = 3>})

// -----
// expected-error @+1 {{a 'loss' role has no field 'index'}}
func.func private @f() -> (tensor<f32> {mtgr.role = #mtgr.role<loss, index = 0>})

// -----
// expected-error @+1 {{a 'time' role has no field 'param'}}
func.func private @f(%t: !mtgr.jagged<i64> {mtgr.role = #mtgr.role<time, group = sequence, param = "w">})

// -----
// expected-error @+1 {{argument 0: "mtgr.input" must be a string}}
func.func private @f(%a: tensor<4xf32> {mtgr.input = 3})

// -----
// expected-error @+1 {{result 0: "mtgr.output" must be a string}}
func.func private @f() -> (tensor<f32> {mtgr.output = ["ctr"]})

// -----
// expected-error @+1 {{unknown ABI argument kind 'weights'}}
func.func private @f(memref<4xf32>) attributes {mtgr.abi = [#mtgr.abi<weights "w">]}

// -----
// expected-error @+1 {{'func.func' op mtgr.abi must be a list of #mtgr.abi<...>}}
func.func private @f(memref<4xf32>) attributes {mtgr.abi = [{kind = "param", name = "w"}]}
