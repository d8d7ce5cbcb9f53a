// RUN: mtgr-opt %s --mtgr-lower-to-gpu --gpu-kernel-outlining --mtgr-lower-gpu-launches | FileCheck %s

// The host half of a launch (abi/GpuLaunch.h): each gpu.launch_func becomes a
// call of the import mtgr_gpu_launch(kernel, grid x/y/z, block x/y/z, shared
// bytes, words, count) that the host pipeline turns into a call through the
// environment table. Each kernel takes its module's name (its entry point
// and op family, unique: the kernel table lists them in module order); the words of a memref are its
// aligned pointer twice, offset, sizes and strides; index operands are
// words too; the word arrays are stack arrays at the function's start.

// CHECK: module attributes {gpu.container_module, mtgr.gpu_kernel_profiles = {mtgr_forward__add = [4, -1], mtgr_forward__silu = [4, -1]}, mtgr.gpu_kernels = ["mtgr_forward__silu", "mtgr_forward__add"]}
// CHECK: func.func private @mtgr_gpu_launch(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @mtgr_forward
// CHECK-SAME: (%[[A:.*]]: memref<?x8xf32>,
// CHECK: %[[W1:.*]] = memref.alloca() : memref<24xi64>
// CHECK: %[[W0:.*]] = memref.alloca() : memref<17xi64>
// First launch (silu): the element count, the column count, then a's and
// the result's descriptors: 3 + 7 + 7 words.
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: %[[PW:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK: memref.extract_strided_metadata %[[A]]
// CHECK: memref.store %[[PW]], %[[W0]][%{{.*}}] : memref<17xi64>
// CHECK: memref.store %[[PW]], %[[W0]][%{{.*}}] : memref<17xi64>
// CHECK: %[[ADDR:.*]] = memref.extract_aligned_pointer_as_index %[[W0]]
// CHECK: %[[ADDRW:.*]] = arith.index_cast %[[ADDR]] : index to i64
// CHECK: call @mtgr_gpu_launch(%[[K0:.*]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NOSHARED:.*]], %[[ADDRW]], %[[C17:.*]]) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// Second launch (add): three descriptors.
// CHECK: memref.extract_aligned_pointer_as_index %[[W1]]
// CHECK: call @mtgr_gpu_launch(
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.module @mtgr_forward__silu
// CHECK: gpu.func @mtgr_forward__silu(
// CHECK: gpu.module @mtgr_forward__add
// CHECK: gpu.func @mtgr_forward__add(
func.func @mtgr_forward(%a: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %s = mtgr.silu %aj : !mtgr.jagged<8xf32>
  %r = mtgr.add %s, %aj : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %r : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}
