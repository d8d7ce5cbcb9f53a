// RUN: mtgr-opt %s --mtgr-lower-to-gpu="gemm=tensor-core dtype=bf16" | FileCheck %s

// With bf16 storage (--dtype=bf16) the tensor-core GEMM reads an activation
// in place when it already has the operand's form (bf16 rows of K elements,
// K a multiple of 8, not transposed): y = x W^T + b writes no [rows][K']
// copy of x; the weight (f32, the master copy) is still rounded into its
// [70][40] operand; the accumulators are rounded into y's bf16 rows.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK: %[[X16:.*]] = memref.alloc(%{{.*}}) : memref<?x40xbf16>
// CHECK: gpu.launch
// CHECK:   memref.store %{{.*}}, %[[X16]]
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x70xbf16>
// CHECK: %[[A:.*]] = memref.cast %[[X16]] : memref<?x40xbf16> to memref<?x?xbf16>
// CHECK: %[[B:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK:   memref.load %{{.*}} : memref<70x40xf32>
// CHECK:   memref.store %{{.*}}, %[[B]]
// CHECK-NOT: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK:   memref.extract_aligned_pointer_as_index %[[A]]
// CHECK:   nvvm.mma.sync
// CHECK:   memref.store %{{.*}}, %[[Y]]{{.*}} : memref<?x70xbf16>
func.func @mtgr_forward(%x: memref<?x40xf32>, %w: memref<70x40xf32>, %b: memref<70xf32>,
                        %out: memref<?x70xf32>) attributes {mtgr.abi = []} {
  %xt = builtin.unrealized_conversion_cast %x : memref<?x40xf32> to tensor<?x40xf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<70x40xf32> to tensor<70x40xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<70xf32> to tensor<70xf32>
  %y = mtgr.linear %xt, %wt, %bt : tensor<?x40xf32>, tensor<70x40xf32>, tensor<70xf32> -> tensor<?x70xf32>
  %ym = builtin.unrealized_conversion_cast %y : tensor<?x70xf32> to memref<?x70xf32>
  memref.copy %ym, %out : memref<?x70xf32> to memref<?x70xf32>
  return
}
