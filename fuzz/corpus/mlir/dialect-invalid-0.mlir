// RUN: mtgr-opt %s -split-input-file -verify-diagnostics
// One case (at least) per verifier rule of the mtgr dialect.

// expected-error @+1 {{jagged rows have at most 2 dimensions, got 3}}
func.func @f(%a: !mtgr.jagged<2x2x2xf32>)

