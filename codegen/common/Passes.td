//===- Passes.td - the back end's target-neutral passes -----*- tablegen -*-===//
#ifndef MTGR_CODEGEN_COMMON_PASSES_TD
#define MTGR_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def MTGRBindEntryPointsPass : Pass<"mtgr-bind-entry-points", "::mlir::ModuleOp"> {
  let summary = "Give @forward, @train_step and @apply_update their buffer ABI";
  let description = [{
    Each kernel-level entry point `@f` becomes `@mtgr_f`, whose arguments are
    memrefs listed, in order, by the function attribute `mtgr.abi` (one
    `#mtgr.abi<kind "name", ...>` per argument; docs/cpu-backend.md):
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

#endif
