//===- Passes.td - lowering mtgr kernels to loops ------------*- tablegen -*-===//
#ifndef MTGR_CODEGEN_PASSES_TD
#define MTGR_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def MTGRBindEntryPointsPass : Pass<"mtgr-bind-entry-points", "::mlir::ModuleOp"> {
  let summary = "Give @forward, @train_step and @apply_update their buffer ABI";
  let description = [{
    Each kernel-level entry point `@f` becomes `@mtgr_f`, whose arguments are
    memrefs listed, in order, by the function attribute `mtgr.abi` (one
    dictionary per argument, `{kind, name, ...}`; docs/cpu-backend.md):
    the inputs' values and offsets (ids read only by embedding lookups are not
    passed: the runtime gathers their rows, one `embedding` argument per
    lookup), the parameters, the optimiser state, the dropout counter
    `training.rng`, the sparse update's `unique_rows` / `row_index`, and one
    caller-allocated output per result (forward also writes `hidden`, the
    final token states).

    The body keeps its mtgr ops: arguments reach them through
    `builtin.unrealized_conversion_cast` (buffers -> mtgr type), parameters and
    lookups become such casts, results are cast back and copied into their
    outputs, and ops that read further arguments (dropout, optimiser updates)
    name them in an `mtgr.bound` dictionary of argument numbers.
    `mtgr-lower-to-loops` then converts the ops.

    A module without these functions is left as it is. A function argument or
    result without its `mtgr.input` / `mtgr.output` name and typed `mtgr.role`,
    or a model-level op, is an error.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::ub::UBDialect"];
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
    Projections and their gradients are packed GEMMs (codegen/Gemm.h) whose
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
           "GEMM register tile: rows of C per micro-kernel (codegen/Gemm.h)">,
    Option<"gemmVectors", "gemm-vectors", "int64_t", "2",
           "GEMM register tile: vectors of C per row">,
    Option<"lanes", "lanes", "int64_t", "8", "f32 lanes of a vector register">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif
