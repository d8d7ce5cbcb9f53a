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

