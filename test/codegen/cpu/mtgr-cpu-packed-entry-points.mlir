// RUN: mtgr-opt %s --mtgr-cpu-packed-entry-points -split-input-file -verify-diagnostics | FileCheck %s

// Every defined function takes the environment table (abi/Environment.h) last
// and passes it on; the imports become reads of its fields (threads: field 1;
// alloc: field 2, called with the context, field 0; free: field 3); libm stays
// a call by name; each C interface gets void <name>_packed(void **, env).

// CHECK-NOT: llvm.func @mtgr_threads
// CHECK-NOT: llvm.func @_mlir_memref_to_llvm_alloc
// CHECK-LABEL: llvm.func @mtgr_forward
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr, %[[ENV:.*]]: !llvm.ptr)
// CHECK-SAME: no_inline
// CHECK: %[[TSLOT:.*]] = llvm.getelementptr %[[ENV]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[T:.*]] = llvm.load %[[TSLOT]] : !llvm.ptr -> i64
// CHECK: %[[CSLOT:.*]] = llvm.getelementptr %[[ENV]][0]
// CHECK: %[[CTX:.*]] = llvm.load %[[CSLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[ASLOT:.*]] = llvm.getelementptr %[[ENV]][2]
// CHECK: %[[ALLOC:.*]] = llvm.load %[[ASLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[BLOCK:.*]] = llvm.call %[[ALLOC]](%[[CTX]], %{{.*}}, %[[T]]) : !llvm.ptr, (!llvm.ptr, i64, i64) -> !llvm.ptr
// CHECK: llvm.call @mtgr_gemm_0(%[[BLOCK]], %[[ENV]]) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.call @expf(%{{.*}}) : (f32) -> f32
// CHECK: %[[FSLOT:.*]] = llvm.getelementptr %[[ENV]][3]
// CHECK: %[[FREE:.*]] = llvm.load %[[FSLOT]]
// CHECK: llvm.call %[[FREE]](%{{.*}}, %[[BLOCK]])
// CHECK-LABEL: llvm.func internal @mtgr_gemm_0
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-SAME: no_inline
// CHECK-LABEL: llvm.func @_mlir_ciface_mtgr_forward
// CHECK: llvm.call @mtgr_forward(%{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK-LABEL: llvm.func @mtgr_forward_packed
// CHECK-SAME: (%[[ARGS:.*]]: !llvm.ptr, %[[PENV:.*]]: !llvm.ptr)
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[ARG0:.*]] = llvm.load %[[SLOT0]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @_mlir_ciface_mtgr_forward(%[[ARG0]], %[[PENV]])
llvm.func @mtgr_threads() -> i64
llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
llvm.func @_mlir_memref_to_llvm_free(!llvm.ptr)
llvm.func @expf(f32) -> f32
llvm.func @mtgr_forward(%x: !llvm.ptr) {
  %t = llvm.call @mtgr_threads() : () -> i64
  %block = llvm.call @_mlir_memref_to_llvm_alloc(%t) : (i64) -> !llvm.ptr
  llvm.call @mtgr_gemm_0(%block) : (!llvm.ptr) -> ()
  %one = llvm.mlir.constant(1.0 : f32) : f32
  %e = llvm.call @expf(%one) : (f32) -> f32
  llvm.call @_mlir_memref_to_llvm_free(%block) : (!llvm.ptr) -> ()
  llvm.return
}
llvm.func internal @mtgr_gemm_0(%block: !llvm.ptr) attributes {mtgr.outlined} {
  llvm.return
}
llvm.func @_mlir_ciface_mtgr_forward(%x: !llvm.ptr) {
  llvm.call @mtgr_forward(%x) : (!llvm.ptr) -> ()
  llvm.return
}

// -----

// Nothing defined: the pass runs after the conversions to the LLVM dialect.
// expected-error @+1 {{no function to give the environment to}}
module {
  llvm.func @mtgr_threads() -> i64
}
