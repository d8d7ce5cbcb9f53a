//===- Passes.h - rewrites on mtgr IR ---------------------------*- C++ -*-===//
#ifndef MTGR_PASSES_PASSES_H
#define MTGR_PASSES_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::mtgr {
#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The dialects mtgr IR may hold at any stage of the pipeline: mtgr and the
/// upstream ones later stages use (mtgr-opt's registry, and the mlir fuzz
/// harness's, which reads what mtgr-opt reads).
void registerPipelineDialects(DialectRegistry &registry);
} // namespace mlir::mtgr

#endif // MTGR_PASSES_PASSES_H
