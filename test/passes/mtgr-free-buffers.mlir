// RUN: mtgr-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(mtgr-free-buffers))' -verify-diagnostics | FileCheck %s

// Success: each buffer dies right after its last use (a use inside a loop
// counts as the loop); the entry point records its peak: %a and %b are live
// together (8 + 4 bytes per row), %c (4 per row) only after %a died.
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: mtgr.memory = {fixed = 0 : i64, per_row = 12 : i64}
// CHECK: %[[A:.*]] = memref.alloc
// CHECK: %[[B:.*]] = memref.alloc
// CHECK: scf.for
// CHECK: }
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK: %[[C:.*]] = memref.alloc
// CHECK: memref.copy %[[B]]
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK: memref.copy %[[C]]
// CHECK-NEXT: memref.dealloc %[[C]]
// CHECK-NEXT: return
func.func @mtgr_forward(%n: index, %out: memref<?x2xf32>, %out2: memref<?xf32>) attributes {mtgr.abi = []} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc(%n) : memref<?x2xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  scf.for %i = %c0 to %n step %c1 {
    memref.store %f, %a[%i, %c0] : memref<?x2xf32>
    %v = memref.load %a[%i, %c0] : memref<?x2xf32>
    memref.store %v, %b[%i] : memref<?xf32>
  }
  %c = memref.alloc(%n) : memref<?xf32>
  memref.copy %b, %c : memref<?xf32> to memref<?xf32>
  memref.copy %c, %out2 : memref<?xf32> to memref<?xf32>
  return
}

// -----
// Inapplicable: no buffer, nothing changes (no mtgr.abi: no memory record).
// CHECK-LABEL: func.func @f
// CHECK-NOT: dealloc
// CHECK-NOT: mtgr.memory
func.func @f(%x: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %f = arith.constant 1.0 : f32
  memref.store %f, %x[%c0] : memref<4xf32>
  return
}

// -----
// Failure: a returned buffer escapes; when it dies is not this function's call.
func.func @g(%n: index) -> memref<?xf32> {
  // expected-error @+1 {{buffer escapes through 'func.return': cannot decide when it dies}}
  %a = memref.alloc(%n) : memref<?xf32>
  // expected-note @+1 {{here}}
  return %a : memref<?xf32>
}

// -----
// Failure: a buffer freed by hand.
func.func @h(%n: index) {
  // expected-error @+1 {{buffer is already freed: mtgr-free-buffers decides when buffers die}}
  %a = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  return
}
