//===- Passes.h - the back end's target-neutral passes ----------*- C++ -*-===//
#ifndef MTGR_CODEGEN_COMMON_PASSES_H
#define MTGR_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::mtgr {
#define GEN_PASS_DECL
#include "codegen/common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/common/Passes.h.inc"
} // namespace mlir::mtgr

#endif
