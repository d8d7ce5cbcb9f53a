// RUN: mtgr-opt %s --convert-scf-to-openmp --mtgr-cpu-set-team-sizes -split-input-file -verify-diagnostics | FileCheck %s

// Each OpenMP team gets as many threads as its loop has parts (the upper
// bound: the environment's thread count), and the alloca scopes the
// conversion wrapped the body in are inlined.

// CHECK-LABEL: func.func @parts
// CHECK-SAME: (%[[BUF:.*]]: memref<?xf32>, %[[PARTS:.*]]: index)
// CHECK: %[[N:.*]] = arith.index_cast %[[PARTS]] : index to i32
// CHECK: omp.parallel num_threads(%[[N]] : i32)
// CHECK-NOT: memref.alloca_scope
// CHECK: omp.wsloop
func.func @parts(%buf: memref<?xf32>, %parts: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%p) = (%c0) to (%parts) step (%c1) {
    memref.store %one, %buf[%p] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// A two-dimensional parallel loop is not what the loop level makes: refused.
func.func @two_dims(%buf: memref<?x?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  // expected-error @+1 {{an OpenMP parallel region without its one-dimensional loop}}
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %n) step (%c1, %c1) {
    memref.store %one, %buf[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}
