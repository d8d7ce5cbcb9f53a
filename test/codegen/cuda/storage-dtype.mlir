// RUN: mtgr-opt %s --mtgr-lower-to-gpu="dtype=bf16" -split-input-file | FileCheck %s
// RUN: mtgr-opt %s --mtgr-lower-to-gpu="dtype=f16" -split-input-file | FileCheck %s --check-prefix=F16
// RUN: not mtgr-opt %s --mtgr-lower-to-gpu="dtype=int8" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// --dtype=bf16 (issue 25): activations are stored in bf16 while the
// arithmetic stays f32. The entry point's buffers stay f32: each input is
// converted once on entry (a kernel that widens nothing and rounds each
// element to nearest even in integer arithmetic, as the tensor-core
// operands are), each result once on its way out (bf16 widened to f32 by
// arith.extf). Between them every op allocates bf16 results, widens what it
// loads and rounds what it stores.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[A:.*]]: memref<?x8xf32>, %[[B:.*]]: memref<?x8xf32>, %{{.*}}: memref<?xindex>, %[[OUT:.*]]: memref<?x8xf32>)
// Entry: a and b to bf16.
// CHECK: %[[A16:.*]] = memref.alloc(%{{.*}}) : memref<?x8xbf16>
// CHECK: gpu.launch
// CHECK:   %[[X:.*]] = memref.load %[[A]]
// CHECK:   arith.bitcast %[[X]] : f32 to i32
// CHECK:   arith.cmpf uno
// CHECK:   arith.trunci %{{.*}} : i32 to i16
// CHECK:   %[[R:.*]] = arith.bitcast %{{.*}} : i16 to bf16
// CHECK:   memref.store %[[R]], %[[A16]]
// CHECK: %[[B16:.*]] = memref.alloc(%{{.*}}) : memref<?x8xbf16>
// CHECK: gpu.launch
// CHECK:   memref.store %{{.*}}, %[[B16]]
// silu: widen, compute in f32, round.
// CHECK: %[[S:.*]] = memref.alloc(%{{.*}}) : memref<?x8xbf16>
// CHECK: gpu.launch
// CHECK:   %[[XS:.*]] = memref.load %[[A16]]{{.*}} : memref<?x8xbf16>
// CHECK:   %[[XW:.*]] = arith.extf %[[XS]] : bf16 to f32
// CHECK:   arith.negf %[[XW]] : f32
// CHECK:   math.exp
// CHECK:   arith.divf %[[XW]]
// CHECK:   arith.bitcast %{{.*}} : i16 to bf16
// CHECK:   memref.store %{{.*}}, %[[S]]
// mul, then add: the residual read from the bf16 copy of a.
// CHECK: %[[M:.*]] = memref.alloc(%{{.*}}) : memref<?x8xbf16>
// CHECK: gpu.launch
// CHECK:   memref.load %[[S]]
// CHECK:   arith.extf
// CHECK:   memref.load %[[B16]]
// CHECK:   arith.extf
// CHECK:   arith.mulf
// CHECK:   memref.store %{{.*}}, %[[M]]
// CHECK: %[[R:.*]] = memref.alloc(%{{.*}}) : memref<?x8xbf16>
// CHECK: gpu.launch
// CHECK:   memref.load %[[M]]
// CHECK:   memref.load %[[A16]]
// CHECK:   arith.addf
// CHECK:   memref.store %{{.*}}, %[[R]]
// Exit: the result back to f32, then the copy into the output buffer.
// CHECK: %[[R32:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: gpu.launch
// CHECK:   %[[Y:.*]] = memref.load %[[R]]
// CHECK:   %[[YW:.*]] = arith.extf %[[Y]] : bf16 to f32
// CHECK:   memref.store %[[YW]], %[[R32]]
// CHECK: memref.copy %[[R32]], %[[OUT]] : memref<?x8xf32> to memref<?x8xf32>

// f16 rounds with arith.truncf (the host has F16C; the GPU cvt.rn.f16.f32).
// F16-LABEL: func.func @mtgr_forward
// F16: memref.alloc(%{{.*}}) : memref<?x8xf16>
// F16: arith.truncf %{{.*}} : f32 to f16
// F16: arith.extf %{{.*}} : f16 to f32

// BAD: mtgr-lower-to-gpu: dtype=int8 is not fp32, bf16 or f16
func.func @mtgr_forward(%a: memref<?x8xf32>, %b: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %bj = builtin.unrealized_conversion_cast %b, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %s = mtgr.silu %aj : !mtgr.jagged<8xf32>
  %m = mtgr.mul %s, %bj : !mtgr.jagged<8xf32>
  %r = mtgr.add %m, %aj : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %r : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----
// Parameters (static shapes) and their gradients stay f32, the master copy:
// silu's gradient of a whole tensor is computed and stored in f32.
// CHECK-LABEL: func.func @mtgr_train_step
// CHECK: %[[D:.*]] = memref.alloc() : memref<3x5xf32>
// CHECK: gpu.launch
// CHECK-NOT: bf16
// CHECK:   memref.store %{{.*}}, %[[D]]
// CHECK: memref.copy %[[D]], %{{.*}} : memref<3x5xf32> to memref<3x5xf32>
func.func @mtgr_train_step(%x: memref<3x5xf32>, %dy: memref<3x5xf32>, %out: memref<3x5xf32>)
    attributes {mtgr.abi = []} {
  %xt = builtin.unrealized_conversion_cast %x : memref<3x5xf32> to tensor<3x5xf32>
  %dt = builtin.unrealized_conversion_cast %dy : memref<3x5xf32> to tensor<3x5xf32>
  %g = mtgr.silu_backward %xt, %dt : tensor<3x5xf32>
  %c = builtin.unrealized_conversion_cast %g : tensor<3x5xf32> to memref<3x5xf32>
  memref.copy %c, %out : memref<3x5xf32> to memref<3x5xf32>
  return
}
