// REQUIRES: cuda-toolkit, ptxas
// RUN: mtgr-opt %s --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=sm_90a features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=%cuda_home})" | %python %S/Inputs/extract_ptx.py %t.sm90a. | FileCheck %s --check-prefix=COUNT
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.0.ptx -o %t.0.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.1.ptx -o %t.1.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.2.ptx -o %t.2.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: mtgr-opt %s --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=sm_80 features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=%cuda_home})" | %python %S/Inputs/extract_ptx.py %t.sm80. | FileCheck %s --check-prefix=COUNT
// RUN: %ptxas -arch=sm_80 -v %t.sm80.1.ptx -o %t.80.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// The norm family's kernels (forward; backward dx per row, dgamma/dbeta per
// column) through the device pipeline, assembled by the toolkit's ptxas for
// sm_90a and sm_80: sqrt and division as PTX instructions (no libdevice
// call left), no spills, at most 64 registers per thread.

// COUNT: wrote 3 PTX files
// PTXAS: Compiling entry function
// PTXAS: Used {{([0-9]|[1-5][0-9]|6[0-4])}} registers
// PTXAS-NOT: spill
// PTXAS-NOT: error
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>,
                        %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                        %g: memref<4x8xf32>, %b: memref<4x8xf32>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<4x8xf32> to tensor<4x8xf32>
  %y = mtgr.group_layer_norm %j, %l, %gt, %bt {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

func.func @mtgr_train_step(%x: memref<?x8xf32>, %off: memref<?xindex>,
                           %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                           %g: memref<4x8xf32>, %dy: memref<?x8xf32>, %out: memref<?x8xf32>, %og: memref<4x8xf32>, %ob: memref<4x8xf32>)
    attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %dj = builtin.unrealized_conversion_cast %dy, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %dx, %dg, %db = mtgr.group_layer_norm_backward %j, %l, %gt, %dj {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %dx : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  %cg = builtin.unrealized_conversion_cast %dg : tensor<4x8xf32> to memref<4x8xf32>
  %cb = builtin.unrealized_conversion_cast %db : tensor<4x8xf32> to memref<4x8xf32>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  memref.copy %cg, %og : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %cb, %ob : memref<4x8xf32> to memref<4x8xf32>
  return
}
