//===- Passes.td - the CPU backend: kernels to loops to the LLVM dialect -*- tablegen -*-===//
#ifndef MTGR_CODEGEN_CPU_PASSES_TD
#define MTGR_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def MTGRCpuFuseNormBackwardPass : Pass<"mtgr-cpu-fuse-norm-backward", "::mlir::func::FuncOp"> {
  let summary = "Fold a norm's backward (and a residual gradient's add) into the linear_backward before it";
  let description = [{
    Rewrites `mtgr.linear_backward` whose input gradient only a
    `mtgr.group_layer_norm_backward` reads into one
    `mtgr.linear_norm_backward`, and, when only an `mtgr.add` reads the
    norm's input gradient, that add too (its other operand becomes the
    op's `residual`): every projection of an HSTU layer's backward. The
    CPU lowering runs the norm's per-row part on each block of rows the
    input-gradient GEMM has just finished (GemmProblem::rowsDone), while
    they are in cache, and writes dx + residual there: one pass over the
    rows and one elementwise add fewer per projection.

    The fused op stands where the last absorbed op stood, so every value it
    reads is defined before it; an absorbed op whose other results are read
    before that point is left alone (the add first, then the whole fusion).
    A CPU pass: the GPU back ends keep the ops apart.

    ```mlir
    %dn, %dw, %db = mtgr.linear_backward %n, %w, %dy : ...
    %dx, %dg, %dbeta = mtgr.group_layer_norm_backward %x, %layout, %gamma, %dn : ...
    %sum = mtgr.add %dr, %dx : !mtgr.jagged<16xf32>
    ```
    becomes
    ```mlir
    %sum, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %n, %w, %dy
        norm(%x, %layout, %gamma) residual(%dr : !mtgr.jagged<16xf32>) {eps = ...} : ...
    ```
  }];
}

def MTGRCpuFuseSiluBackwardPass : Pass<"mtgr-cpu-fuse-silu-backward", "::mlir::func::FuncOp"> {
  let summary = "Read a silu_backward's concatenated gradient from its pieces";
  let description = [{
    Rewrites `mtgr.silu_backward %x, %g` whose gradient `%g` is an
    `mtgr.concat` of jagged pieces that only it reads into one
    `mtgr.concat_silu_backward %x, pieces...`: the HSTU layer's U, V, Q
    and K gradients in a train step, concatenated for the U/V/Q/K
    projection's backward. The CPU lowering reads each row's pieces where
    they lie; the concat's copy (a write and a read of [tokens, 4 d_model]
    per layer) goes. A CPU pass: the GPU back ends keep the ops apart.

    ```mlir
    %g = mtgr.concat %du, %dv : !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32> -> !mtgr.jagged<8xf32>
    %dx = mtgr.silu_backward %x, %g : !mtgr.jagged<8xf32>
    ```
    becomes
    ```mlir
    %dx = mtgr.concat_silu_backward %x, %du, %dv : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
    ```
  }];
}

def MTGRLowerToLoopsPass : Pass<"mtgr-lower-to-loops", "::mlir::ModuleOp"> {
  let summary = "Convert kernel-level mtgr ops to scf/memref/arith/math loops";
  let description = [{
    A dialect conversion (one `populate...LoweringPatterns` per op family:
    linear, elementwise, tokens, norms, attention, loss, optimiser) with a
    type converter from mtgr types to buffers: a jagged value is (values,
    offsets), a token layout five buffers, a tensor one memref. Every result
    is a fresh `memref.alloc`; `mtgr-free-buffers` decides when each dies.
    Attention runs over the tile lists of `mtgr.attention_tiles`
    (mtgr-plan-attention), its tiles' sizes taken from the list's type.
    Projections and their gradients are packed GEMMs (codegen/cpu/Gemm.h) whose
    micro-kernel keeps `gemm-rows` x `gemm-vectors` vectors of `lanes` floats
    of the result in registers (the pipeline sets them from the target
    description).
    Afterwards only the `@mtgr_*` functions remain in the module. An mtgr op
    without a pattern is reported (run mtgr-decompose-layers first for
    model-level ops).

    With `profile`, each op's code is bracketed by calls to the runtime's
    `mtgr_profile_clock()` and `mtgr_profile_record(family, layer, start)`,
    which sum the time per op family (projections, attention, masks, norms,
    elementwise, tokens, loss, optimiser) and per HSTU layer (the op's
    location `layers.<l>`; -1 outside layers): `mtgr-run infer --profile`.

    GEMM row blocks and attention row blocks are split into `mtgr_threads()`
    parts (`scf.parallel` marked `mtgr.parallel`; attention parts balanced
    by the tile list's costs), which the host codegen runs on OpenMP threads.
  }];
  let options = [
    Option<"profile", "profile", "bool", "false", "time every op family at run time">,
    Option<"gemmRows", "gemm-rows", "int64_t", "6",
           "GEMM register tile: rows of C per micro-kernel (codegen/cpu/Gemm.h)">,
    Option<"gemmVectors", "gemm-vectors", "int64_t", "2",
           "GEMM register tile: vectors of C per row">,
    Option<"lanes", "lanes", "int64_t", "8", "f32 lanes of a vector register">,
    Option<"vectorRegisters", "vector-registers", "int64_t", "16",
           "vector registers: the attention's register tiles fit them">,
    Option<"attentionSweepBytes", "attention-sweep-bytes", "int64_t", "8388608",
           "the backward attention takes two passes (rows, then columns) for a "
           "sample whose key columns' gradients and panels pass these bytes">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "32768",
           "L1 data bytes per core: the forward attention walks a row block's tiles in "
           "groups whose weights fit a quarter of it">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "524288",
           "L2 bytes per core: the B panels a GEMM row block visits fit half of "
           "it; the forward attention takes super blocks of row blocks for a "
           "sample whose keys and values pass half of it, their rows within half">,
    Option<"gemmKBlock", "gemm-k-block", "int64_t", "256",
           "GEMM cache blocking: the K block of a dynamic K (weight gradients)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}


//===----------------------------------------------------------------------===//
// Host steps: loops -> LLVM dialect (HostCodegen.cpp). The CPU backend's
// pipeline runs them in this order, around upstream's convert-scf-to-openmp
// and the conversions to the LLVM dialect (mtgr-compile --print-pipeline).
//===----------------------------------------------------------------------===//

def MTGRCpuOutlineParallelPass : Pass<"mtgr-cpu-outline-parallel", "::mlir::ModuleOp"> {
  let summary = "Move each parallel op into a function of its own";
  let description = [{
    Every outermost `scf.parallel` marked `mtgr.parallel = "<kind>"`
    (LoopBuilder::parallelParts) becomes a private function
    `mtgr_<kind>_<op name>_<n>` (the op name from its location), called
    where the op was: perf then names each GEMM and attention region, and
    OpenMP's outliner scans that small function, not the whole entry point.
    Values from above are passed as arguments; constants are cloned. The
    function is marked `mtgr.outlined` (kept out of line later). A region
    equal to one outlined before (the same ops, attributes and types,
    locations aside: every layer of one shape, the forward's regions again
    in the train step) calls that one's function instead, so its code is
    lowered, optimised and compiled once: MTGR-small with its train step
    has 271 functions and 110k LLVM instructions, not 677 and 211k, and
    compiles in 17.5 s, not 28.4. The public functions (the entry points)
    get `llvm.emit_c_interface`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def MTGRCpuMathApproximationsPass : Pass<"mtgr-cpu-math-approximations", "::mlir::ModuleOp"> {
  let summary = "f32 exp and log1p as inline polynomials";
  let description = [{
    `math.exp` and `math.log1p` on f32 scalars and vectors as inline
    polynomials: a libm call per attention pair kept the loops scalar, and
    expf was a fifth of a training step. exp is mtgr's own (13 operations,
    relative error <= 1.63e-7; MLIR's takes 20, which made every SiLU of an
    AVX2 machine with two FMA units 15 cycles per 8 lanes, 9-10 now), log1p
    MLIR's. f64 (the optimisers) keeps libm.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def MTGRCpuSetTeamSizesPass : Pass<"mtgr-cpu-set-team-sizes", "::mlir::ModuleOp"> {
  let summary = "Give each OpenMP team as many threads as its loop has parts";
  let description = [{
    After `convert-scf-to-openmp`: each `omp.parallel` gets `num_threads`
    equal to the upper bound of its one-dimensional loop (the parts of
    LoopBuilder::parallelParts: the environment's `threads`), not OpenMP's
    default; and the `memref.alloca_scope`s the conversion wraps loop bodies
    in are inlined where they hold no alloca (scf-to-cf would otherwise split
    them into blocks, which a scope may not hold). A parallel region without
    its one-dimensional loop is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::omp::OpenMPDialect"];
}

def MTGRHostMemoryAllocsPass : Pass<"mtgr-host-memory-allocs", "::mlir::ModuleOp"> {
  let summary = "Allocations marked mtgr.host_memory to calls of mtgr_host_alloc";
  let description = [{
    GPU host code (codegen/cuda's mtgr-plan-on-host) keeps its integer
    buffers in host memory and marks their `memref.alloc`s
    `mtgr.host_memory`. Before `finalize-memref-to-llvm`, this pass lowers
    those to a call of `mtgr_host_alloc(bytes)` (the environment's
    `host_alloc`) and the descriptor on its result; every other allocation
    is left to the generic lowering (the environment's `alloc`: device
    memory on a GPU device). Their deallocations stay generic: the
    environment's `free` knows which memory a block is. CPU code has no
    marked allocation: the pass changes nothing there.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def MTGRCpuPackedEntryPointsPass : Pass<"mtgr-cpu-packed-entry-points", "::mlir::ModuleOp"> {
  let summary = "Pass the runtime's environment table; add packed entry points";
  let description = [{
    On the LLVM dialect, after the conversions. Generated code imports
    nothing by symbol (abi/Environment.h): every function defined in the
    module gets a trailing `!llvm.ptr` argument, the environment table, which
    each call inside the module passes on, and calls of the imports become
    loads from it:

    | import | becomes |
    |---|---|
    | `mtgr_threads()` | the `threads` field |
    | `_mlir_memref_to_llvm_alloc(n)` | `env->alloc(env->context, 0, n)` |
    | `_mlir_memref_to_llvm_aligned_alloc(a, n)` | `env->alloc(env->context, a, n)` |
    | `_mlir_memref_to_llvm_free(p)` | `env->free(env->context, p)` |
    | `mtgr_profile_clock()` | `env->profile_clock(env->context)` |
    | `mtgr_profile_record(f, l, s)` | `env->profile_record(env->context, f, l, s)` |
    | `mtgr_gpu_launch(...)`, `mtgr_gpu_gemm(...)` | `env->gpu_launch`, `env->gpu_gemm` (GPU code) |
    | `mtgr_host_alloc(n)`, `mtgr_gpu_upload(d, h, n)` | `env->host_alloc`, `env->gpu_upload` (GPU code) |

    Their declarations go; any other call of a function the module does not
    define (libm's) stays. Each C interface `_mlir_ciface_<name>` gets a
    packed wrapper `void <name>_packed(void **args, env)` (args[i] points to
    argument i's memref descriptor): the only functions the runtime calls.
    Functions marked `mtgr.outlined`, and the entry points, are kept out of
    line (perf names them).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif
