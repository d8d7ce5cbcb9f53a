//===- Passes.h - the CUDA back end's passes ----------------------*- C++ -*-===//
#ifndef MTGR_CODEGEN_CUDA_PASSES_H
#define MTGR_CODEGEN_CUDA_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::mtgr {
#define GEN_PASS_DECL
#include "codegen/cuda/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cuda/Passes.h.inc"

/// The dialects and interfaces the CUDA pipeline after mtgr-lower-to-gpu
/// needs (gpu, nvvm, the NVVM target and its LLVM IR translation), for tools
/// that replay it (mtgr-opt).
void registerCudaPipelineDialects(DialectRegistry &registry);
} // namespace mlir::mtgr

#endif
