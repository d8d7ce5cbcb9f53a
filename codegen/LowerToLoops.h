//===- LowerToLoops.h - kernel-level mtgr -> scf/memref loops ----*- C++ -*-===//
#ifndef MTGR_CODEGEN_LOWERTOLOOPS_H
#define MTGR_CODEGEN_LOWERTOLOOPS_H

#include "mlir/IR/BuiltinOps.h"

namespace mlir::mtgr {
/// Rewrites kernel-level `@forward` into `@mtgr_forward` on memrefs (scf
/// loops, memref, arith, math), for inference (dropout is the identity).
///
/// ABI: every argument is a memref; the list, in order, is the function's
/// `mtgr.abi` attribute, one dictionary per argument:
///   {kind = "input",     name = "sequence.dwell"}    values of a batch input
///   {kind = "offsets",   name = "sequence.dwell"}    its offsets [B + 1]
///   {kind = "embedding", name = "sequence.item_id", table = "item"}
///                                                    the gathered table rows
///   {kind = "param",     name = "layers.0.uvqk.weight"}
///   {kind = "output",    name = "ctr"}               logits [K_total, 1]
///   {kind = "hidden",    name = "hidden"}            final tokens [N_total, d]
/// Outputs are allocated by the caller. Embedding rows are gathered by the
/// runtime (hash tables live there); all dense math is generated here.
LogicalResult lowerForwardToLoops(ModuleOp module);
} // namespace mlir::mtgr

#endif
