// REQUIRES: cuda-toolkit
// RUN: mtgr-opt %s --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=sm_90a features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=%cuda_home})" | FileCheck %s --check-prefix=SM90A
// RUN: mtgr-opt %s --pass-pipeline="builtin.module(mtgr-lower-to-gpu, gpu-kernel-outlining, nvvm-attach-target{chip=sm_80 features=+ptx80 O=3}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=%cuda_home})" | FileCheck %s --check-prefix=SM80

// The elementwise kernels through upstream's device pipeline to PTX, by
// LLVM's NVPTX back end (no ptxas, no GPU): outlined into a gpu.module, one
// .entry per launch with at most 256 threads, exp through libdevice as the
// hardware's ex2. mtgr composes this pipeline itself in the CUDA back end
// (GPU.md 1.5); here mtgr-opt replays it. The binary's assembly is one
// string with escaped newlines (\0A), so the checks stay on one line.

// SM90A: gpu.binary @mtgr_forward__silu [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// SM90A-SAME: .target sm_90a
// SM90A-SAME: .visible .entry mtgr_forward__silu(
// SM90A-SAME: .maxntid 256, 1, 1
// SM90A-SAME: ex2.approx.ftz.f32
// SM90A-NOT: __nv_expf
// SM90A: gpu.binary @mtgr_forward__mul
// SM90A-SAME: mul.rn.f32
// SM90A: gpu.binary @mtgr_forward__add
// SM90A-SAME: add.rn.f32
// SM80: gpu.binary @mtgr_forward__silu [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
// SM80-SAME: .target sm_80
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
