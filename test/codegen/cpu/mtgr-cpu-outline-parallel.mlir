// RUN: mtgr-opt %s --mtgr-cpu-outline-parallel | FileCheck %s

// A parallel op of the loop level (LoopBuilder::parallelParts) becomes a
// private function named after its kind and its op's location, called where
// it was; constants are cloned in, every other value from above is passed.
// The entry point gets its C interface. A region equal to an earlier one
// (locations aside) calls that one's function: every layer of one shape
// shares its code; a region that differs (a constant, its kind) gets its own.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: llvm.emit_c_interface
// CHECK-NOT: scf.parallel
// CHECK: call @mtgr_gemm_layers_0_proj_0(%{{.*}}, %{{.*}}) : (memref<?xf32>, index) -> ()
// CHECK-NEXT: call @mtgr_gemm_layers_0_proj_0(%{{.*}}, %{{.*}}) : (memref<?xf32>, index) -> ()
// CHECK: call @mtgr_gemm_layers_2_proj_2(%{{.*}}, %{{.*}}) : (memref<?xf32>, index) -> ()
// CHECK-NEXT: call @mtgr_pack_layers_3_proj_3(%{{.*}}, %{{.*}}) : (memref<?xf32>, index) -> ()
// CHECK-NEXT: return
// A parallel op without the mark stays where it is.
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK: scf.parallel
// The outlined function, at the end of the module.
// CHECK-LABEL: func.func private @mtgr_gemm_layers_0_proj_0(%{{.*}}: memref<?xf32>, %{{.*}}: index)
// CHECK-SAME: mtgr.outlined
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: scf.parallel (%[[P:.*]]) = (%[[C0]]) to (%arg1)
// CHECK: memref.store %{{.*}}, %arg0[%[[P]]]
// CHECK: {mtgr.parallel = "gemm"}
// CHECK-NOT: func.func private @mtgr_gemm_layers_1_proj_1
// CHECK-LABEL: func.func private @mtgr_gemm_layers_2_proj_2
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK-LABEL: func.func private @mtgr_pack_layers_3_proj_3
// CHECK: {mtgr.parallel = "pack"}
func.func @mtgr_forward(%buf: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%p) = (%c0) to (%n) step (%c1) {
    memref.store %one, %buf[%p] : memref<?xf32>
    scf.reduce
  } {mtgr.parallel = "gemm"} loc("layers.0.proj")
  scf.parallel (%p) = (%c0) to (%n) step (%c1) {
    memref.store %one, %buf[%p] : memref<?xf32>
    scf.reduce
  } {mtgr.parallel = "gemm"} loc("layers.1.proj")
  %two = arith.constant 2.0 : f32
  scf.parallel (%p) = (%c0) to (%n) step (%c1) {
    memref.store %two, %buf[%p] : memref<?xf32>
    scf.reduce
  } {mtgr.parallel = "gemm"} loc("layers.2.proj")
  scf.parallel (%p) = (%c0) to (%n) step (%c1) {
    memref.store %one, %buf[%p] : memref<?xf32>
    scf.reduce
  } {mtgr.parallel = "pack"} loc("layers.3.proj")
  return
}

func.func @mtgr_train_step(%buf: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%p) = (%c0) to (%n) step (%c1) {
    memref.store %one, %buf[%p] : memref<?xf32>
    scf.reduce
  }
  return
}
