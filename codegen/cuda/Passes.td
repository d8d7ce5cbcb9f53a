//===- Passes.td - the CUDA back end: kernel ops to GPU kernels -*- tablegen -*-===//
#ifndef MTGR_CODEGEN_CUDA_PASSES_TD
#define MTGR_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def MTGRLowerToGpuPass : Pass<"mtgr-lower-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Convert kernel-level mtgr ops of bound entry points to gpu.launch kernels";
  let description = [{
    The CUDA back end's counterpart of `mtgr-lower-to-loops` (issue 24): a
    dialect conversion of the bound entry points, one pattern file per op
    family (`codegen/cuda/Gpu<Family>.cpp`), whose kernels are `gpu.launch`
    bodies that `gpu-kernel-outlining`, `convert-gpu-to-nvvm` and
    `gpu-module-to-binary` take to PTX and cubins. The ops' math is shared
    with the CPU lowering (`codegen/common/RowMath.h`, LoopBuilder's silu and
    sigmoid); result buffers are `memref.alloc`s, which the CUDA device will
    serve from device memory through the environment table.

    Done so far: the elementwise family (silu, add, mul, silu_backward, and
    dropout at inference or rate 0), one thread per element; the norm family
    (group_layer_norm, one thread per row; its backward, one thread per row
    for dx, then one per (group, column) summing dgamma and dbeta in row
    order, deterministic). 256 threads per block, grids computed on the host
    from the buffers' rows. Any other
    kernel-level op is refused by name, so the pass never leaves an op behind
    silently; `mtgr-compile --target=cuda` stays refused until every op has
    its kernel.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "threads per block of the one-thread-per-element kernels">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def MTGRLowerGpuLaunchesPass : Pass<"mtgr-lower-gpu-launches", "::mlir::ModuleOp"> {
  let summary = "Turn gpu.launch_func into calls of the runtime's launcher";
  let description = [{
    After `gpu-kernel-outlining`: every `gpu.launch_func` of a host function
    becomes a call of the import `mtgr_gpu_launch(kernel, grid x/y/z, block
    x/y/z, shared bytes, params, count)`, which `mtgr-cpu-packed-entry-points`
    turns into a call through the environment table (`abi/GpuLaunch.h`), so
    the runtime launches on its own stream (upstream's `gpu-to-llvm` creates
    and synchronises a stream per launch and drops an explicit one). The
    parameters are one i64 word each, in the order of the kernel's LLVM
    signature (a memref as its aligned pointer twice, offset, sizes and
    strides), stored in a stack array at the function's start. Kernels are
    numbered in the order of the module's gpu.modules; the module gets their
    names as `mtgr.gpu_kernels`, the code's kernel table.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif
