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

    Every kernel-level op has its kernels (docs/gpu-backend.md: elementwise,
    norms, projections as a shared-memory tiled GEMM with fused prologue and
    epilogue, attention walking the tile list, tokens, losses, optimisers,
    masks); grids are computed on the host from buffer sizes. Each kernel is
    named after its entry point and op (`mtgr_forward__fused_linear_2`) and
    the module lists each kernel's profile family and HSTU layer
    (`mtgr.gpu_kernel_profiles`). With `gemm=tensor-core` the products are
    mtgr's tensor-core GEMM (ldmatrix and mma.sync m16n8k16 on bf16 operands
    rounded from the fp32 loaders, f32 sums; sm_80 and later); with
    `gemm=wgmma` they are sm_90a's warpgroup MMA (a persistent,
    warp-specialised kernel over 128 x 256 tiles, a block per
    multiprocessor: a producer warpgroup's TMA copies fill a 4-stage
    ring of 128-byte-swizzled dynamic shared memory behind full and empty
    mbarriers, through tensor maps the runtime makes; two consumer
    warpgroups run wgmma.mma_async m64n256k16; setmaxnreg moves registers
    to them; sm_90a only). With
    `attention=tensor-core` the attention forward and its dQ, dK and dV are
    fused kernels (a block per (row block or column tile, head, chunk of the
    output's columns)): the products (S = Q K^T; dP = dO V^T) and the
    weighted sums (O += P V, dQ += dS K, dV += P^T dO, dK += dS^T Q) on
    tensor cores, the weights computed on the accumulator fragments, which
    become the next product's operand without shared memory; dK and dV walk
    a transposed tile list the host builds. `attention=wgmma` (sm_90a) runs
    the forward on warpgroup MMA fed by TMA where the heads are multiples of
    16 up to 256 (S = Q K^T and O += P V by wgmma.mma_async from 128-byte
    swizzled shared memory, K and a transposed copy of V through a
    two-stage ring behind mbarriers, P through shared memory), the rest as
    `tensor-core`. With
    `gemm=cublaslt` the products are calls
    of the runtime's GEMM (`mtgr_gpu_gemm`, abi/GpuLaunch.h) between mtgr's
    prologue and epilogue kernels. An op without a kernel is refused by
    name, so the pass never leaves one behind silently.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "threads per block of the one-thread-per-element kernels">,
    Option<"gemm", "gemm", "std::string", "\"generated\"",
           "products by mtgr's tiled fp32 GEMM kernels (generated), its "
           "tensor-core kernels (tensor-core: mma.sync, bf16 operands, f32 "
           "sums; wgmma: sm_90a's warpgroup MMA) or the runtime's GEMM "
           "library (cublaslt)">,
    Option<"attention", "attention", "std::string", "\"generated\"",
           "the attention and its gradient by mtgr's fp32 SIMT kernels "
           "(generated) or fused passes on tensor cores (tensor-core: bf16 "
           "operands, f32 sums; tile lists with row blocks and column "
           "tiles of 16 .. 64, multiples of 16; wgmma: the forward on "
           "sm_90a's warpgroup MMA)">,
    Option<"dtype", "dtype", "std::string", "\"fp32\"",
           "the storage of activations (jagged values and per-sample rows, "
           "their gradients included): fp32, bf16 or f16; loads widen to "
           "f32 and stores round to nearest even, the entry points' "
           "buffers stay f32 (converted once on entry and exit); "
           "parameters, their gradients and optimiser state stay f32">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::func::FuncDialect"];
}

def MTGRPlanOnHostPass : Pass<"mtgr-plan-on-host", "::mlir::ModuleOp"> {
  let summary = "Integer buffers in host memory, computed on the host; no device read-back";
  let description = [{
    After `mtgr-lower-to-gpu`: the host plans each call, the device only
    computes. Every buffer of integer elements (token offsets, times, mask
    intervals, tile lists and their counts, the entry point's integer
    arguments, the step counter) lives in host memory: its allocation is
    marked `mtgr.host_memory` (the host code gets it from the environment's
    `host_alloc`), the part of a kernel that writes one runs in the
    kernel's place as host loops over its grid and block (what the kernel
    also writes to device memory stays in the kernel; a kernel with nothing
    left goes), and a kernel that reads one gets a device copy, uploaded by
    `mtgr_gpu_upload_<type>(device, host)` before its first such launch
    (again after the host writes the buffer). Then the pass proves that
    host code reads and writes no buffer of device memory outside kernels,
    so a call's sizes and grids are known on the host before any launch
    and nothing inside an entry point waits for the device. Refused by
    name: host work that would read device memory (a read-back), a kernel
    with shared memory or barriers that writes an integer buffer, a kernel
    that reads an integer buffer it also writes while writing device memory.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect"];
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
    strides), stored in a stack array at the function's start. Kernels lose
    the block and grid sizes outlining recorded (NVPTX turns them into
    `.maxntid`, and ptxas then caps registers for occupancy: spills). Kernels are
    numbered in the order of the module's gpu.modules; the module gets their
    names as `mtgr.gpu_kernels`, the code's kernel table. Calls of the GEMM
    library on buffers (`mtgr_gpu_gemm_buffers`, from `gemm=cublaslt`)
    become calls of `mtgr_gpu_gemm` on words: per buffer its address (aligned
    pointer plus offset) and row stride. The pass runs after
    mtgr-free-buffers, which saw the buffers as the call's operands: they are
    freed after the GEMM, not before.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def MTGRGpuSyncDelaysPass : Pass<"mtgr-gpu-sync-delays", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Random delays around every synchronisation point of the kernels (a test build)";
  let description = [{
    A test build (issue 25's device script; `mtgr-compile --gpu-sync-delays`):
    before and after every synchronisation point of every kernel (block
    barriers, cp.async commits and waits, mbarrier operations, TMA copies,
    wgmma fences, commits and waits, proxy fences) each thread sleeps
    (`nanosleep`) for a pseudo-random time below `max-ns`, from a hash of
    the clock, its thread and block and the site. A kernel whose
    correctness rests on timing rather than on its synchronisation (a
    missing barrier or wait, a stage refilled while still read) fails
    under it where the plain build passes by luck. The delay is a plain
    instruction after straight-line arithmetic: no branch, so no warp
    diverges before an `.aligned` operation. The emulator runs `nanosleep`
    as a yield to the block's other threads, `clock` as a counter.
  }];
  let options = [
    Option<"maxNs", "max-ns", "int64_t", "1024",
           "Delays are below this many nanoseconds (1 .. 1000000)">,
  ];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect", "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect"];
}

#endif
