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

// -----
// expected-error @+1 {{argument 0: "mtgr.role" must be a dictionary}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = "feature"})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" needs a string 'kind'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {group = "user", index = 0}})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" has unknown kind 'weights'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "weights"}})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'feature' has no field 'grosp'}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", grosp = "user", index = 0}})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'feature' needs 'group', one of user, sequence, realtime, candidate, tokens}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", group = "items", index = 0}})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'feature' needs an i64 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "feature", group = "user", index = -1}})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'embedding_grad' needs an i64 'index' >= 0}}
func.func private @f(%a: tensor<?xi64> {mtgr.role = {kind = "embedding_grad", group = "user"}})

// -----
// expected-error @+1 {{argument 0: "mtgr.role" of kind 'grad' needs a string 'param'}}
func.func private @f(%a: tensor<4xf32> {mtgr.role = {kind = "grad", param = 3}})

// -----
// expected-error @+1 {{argument 0: "mtgr.input" must be a string}}
func.func private @f(%a: tensor<4xf32> {mtgr.input = 3})

// -----
// expected-error @+1 {{result 0: "mtgr.output" must be a string}}
func.func private @f() -> (tensor<f32> {mtgr.output = ["ctr"]})

// -----
// expected-error @+1 {{result 0: "mtgr.role" of kind 'loss' has no field 'index'}}
func.func private @f() -> (tensor<f32> {mtgr.role = {kind = "loss", index = 0}})
