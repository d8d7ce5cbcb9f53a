// RUN: mtgr-opt %s --mtgr-lower-to-gpu="gemm=tensor-core" | FileCheck %s

// gemm=tensor-core (codegen/cuda/GpuTensorCoreGemm.cpp): y = x W^T + b.
// First the operands in bf16, each by a kernel of a thread per element from
// the problem's loaders: A = x as [rows][40], B = W as [70][40] (K = 40, a
// multiple of 8: no padding). Then one kernel of 4 warps per 64 x 64 tile:
// a ring of 3 stages of 64 x 32 (rows padded to 40) per operand, filled by
// 16-byte cp.async (2 steps issued ahead, a commit group per step), per
// step a wait for all but the newest group and a barrier, the copies of the
// step two ahead, then per 16 of K ldmatrix.x4 for A's fragments, .x2 for
// B's and 2 x 4 mma.sync m16n8k16 (bf16, f32 sums) per warp; then the
// epilogue (bias) per element.

// CHECK-LABEL: func.func @mtgr_forward
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: memref.alloc({{.*}}) : memref<?x?xbf16>
// CHECK: gpu.launch
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK-SAME: function(@mtgr_forward__linear_2)
// CHECK-SAME: workgroup(%{{.*}} : memref<3x64x40xi16, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x64x40xi16, #gpu.address_space<workgroup>>)
// Two steps issued before the loop: 2 copies per thread and operand each.
// CHECK-COUNT-4: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK-COUNT-4: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// The K loop carries 2 x 4 tiles x 4 accumulators per lane.
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-4: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK: nvvm.ldmatrix %{{.*}} {{.*}}num = 2 : i32{{.*}} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
// CHECK-COUNT-16: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: scf.yield
// CHECK: nvvm.cp.async.wait.group 0
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
