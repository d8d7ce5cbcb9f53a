//===- MLIRGen.h - ModelDesc -> mtgr IR ------------------------*- C++ -*-===//
#ifndef MTGR_FRONTEND_MLIRGEN_H
#define MTGR_FRONTEND_MLIRGEN_H

#include "model/ModelDesc.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::mtgr {
/// Builds a verified module: mtgr.table and mtgr.parameter declarations,
/// `func.func @forward` (batch inputs -> one logit per candidate per task)
/// and `func.func @loss` (logits, labels -> the loss of DESIGN 1.6).
/// Returns null (after emitting diagnostics) if verification fails.
mlir::OwningOpRef<mlir::ModuleOp> buildModule(mlir::MLIRContext &context,
                                              const ModelDesc &model);

/// Registers the dialects the generated IR uses.
void registerFrontendDialects(mlir::DialectRegistry &registry);
} // namespace mlir::mtgr

#endif // MTGR_FRONTEND_MLIRGEN_H
