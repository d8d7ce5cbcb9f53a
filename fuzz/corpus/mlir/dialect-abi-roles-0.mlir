// RUN: mtgr-opt %s -split-input-file -verify-diagnostics
// The typed ABI on entry point arguments and results (mtgr.role, mtgr.input,
// mtgr.output) is verified where it is attached: passes and code generation
// read it without further checks (a fuzzed role once crashed
// mtgr-generate-train-step).

// A well-formed set: every kind with its fields.
func.func private @ok(%a: tensor<?xi64> {mtgr.input = "user.id", mtgr.role = {kind = "feature", group = "user", index = 0}},
              %t: !mtgr.jagged<i64> {mtgr.role = {kind = "time", group = "sequence"}},
              %l: !mtgr.jagged<1xf32> {mtgr.role = {kind = "labels", group = "candidate", index = 1}},
              %g: tensor<4xf32> {mtgr.role = {kind = "grad", param = "w"}},
              %e: !mtgr.jagged<4xf32> {mtgr.role = {kind = "embedding_grad", group = "candidate", index = 0}})
    -> (tensor<f32> {mtgr.role = {kind = "loss"}}, !mtgr.jagged<1xf32> {mtgr.output = "ctr", mtgr.role = {kind = "output", index = 0}})

