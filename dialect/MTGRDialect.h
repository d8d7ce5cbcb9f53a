//===- MTGRDialect.h - the mtgr dialect ------------------------*- C++ -*-===//
#ifndef MTGR_DIALECT_MTGRDIALECT_H
#define MTGR_DIALECT_MTGRDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/MTGRDialect.h.inc"
#include "dialect/MTGREnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/MTGRAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/MTGRTypes.h.inc"

namespace mlir::mtgr {
/// Marks model-level ops: mtgr-decompose-layers rewrites every one of them.
template <typename ConcreteType>
class ModelLevel : public OpTrait::TraitBase<ConcreteType, ModelLevel> {};

/// Shape of one row of a "rows" value: a jagged tensor's row shape, or a
/// per-sample tensor's shape without its leading sample dimension.
llvm::SmallVector<int64_t> getRowShape(Type rows);
/// The same kind of "rows" value (jagged or per-sample) with another row shape.
Type withRowShape(Type rows, llvm::ArrayRef<int64_t> rowShape);
} // namespace mlir::mtgr

#include "dialect/MTGRInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialect/MTGROps.h.inc"

#endif // MTGR_DIALECT_MTGRDIALECT_H
