// REQUIRES: cuda-toolkit, ptxas
// RUN: mtgr-opt %s --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=sm_90a features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=%cuda_home})" | %python %S/Inputs/extract_ptx.py %t.sm90a. | FileCheck %s --check-prefix=COUNT
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.0.ptx -o %t.0.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.1.ptx -o %t.1.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.2.ptx -o %t.2.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: mtgr-opt %s --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=sm_80 features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=%cuda_home})" | %python %S/Inputs/extract_ptx.py %t.sm80. | FileCheck %s --check-prefix=COUNT
// RUN: %ptxas -arch=sm_80 -v %t.sm80.0.ptx -o %t.80.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// The toolkit's ptxas assembles the elementwise kernels' PTX for sm_90a and
// sm_80 (no GPU needed): no unresolved libdevice call, no spills, a register
// budget of 32 per thread for these one-element kernels (20 on CUDA 13.0).

// COUNT: wrote 3 PTX files
// PTXAS: Compiling entry function 'mtgr_forward__{{silu|mul|add}}'
// PTXAS: Used {{([0-9]|[12][0-9]|3[0-2])}} registers
// PTXAS-NOT: spill
// PTXAS-NOT: error
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
