// RUN: mtgr-opt %s --mtgr-lower-to-gpu="gemm=tensor-core" | FileCheck %s

// gemm=tensor-core (codegen/cuda/GpuTensorCoreGemm.cpp): y = x W^T + b as
// one kernel of 4 warps per 64 x 64 tile: A and B rounded to bf16 in two
// 64 x 16 shared tiles (B stored n-major), ldmatrix.x4 for A's fragments,
// ldmatrix.x2 for B's, 2 x 4 mma.sync m16n8k16 (bf16, f32 sums) per warp
// and step of 16 along K, then the epilogue (bias) per element.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK: %[[GX:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK-SAME: function(@mtgr_forward__linear)
// CHECK-SAME: workgroup(%[[A:.*]] : memref<64x16xi16, #gpu.address_space<workgroup>>, %[[B:.*]] : memref<64x16xi16, #gpu.address_space<workgroup>>)
// The k loop carries 2 x 4 tiles x 4 accumulators per lane.
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// Round to nearest even (NaN kept) and store as bf16 bits.
// CHECK: arith.cmpf uno
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: memref.store %{{.*}}, %[[B]]
// CHECK: gpu.barrier
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK: nvvm.ldmatrix %{{.*}} {{.*}}num = 2 : i32{{.*}} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
// CHECK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: gpu.barrier
// CHECK: scf.yield
// The epilogue: bias added to each of the 32 results in bounds.
// CHECK-COUNT-32: arith.addf
// CHECK: gpu.terminator
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
