//===- MTGRDialect.h - the mtgr dialect ------------------------*- C++ -*-===//
#ifndef MTGR_DIALECT_MTGRDIALECT_H
#define MTGR_DIALECT_MTGRDIALECT_H

#include "abi/AbiKinds.h"

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

/// The family a kernel-level op's time is summed under in profiles
/// (abi/AbiKinds.h), an op property declared in ODS with MTGR_Profiled<...>:
/// every kernel-level op has one (test/unit/MLIRGenTest.cpp checks), so a new
/// op cannot fall into a family by default.
template <::mtgr::ProfileFamily Family> struct ProfiledAs {
  template <typename ConcreteType>
  class Impl : public OpTrait::TraitBase<ConcreteType, Impl> {
  public:
    static constexpr ::mtgr::ProfileFamily profileFamily = Family;
  };
};
/// The op's family, or nullopt for an op without one (model-level ops,
/// declarations).
std::optional<::mtgr::ProfileFamily> profileFamilyOf(Operation *op);
std::optional<::mtgr::ProfileFamily> profileFamilyOf(RegisteredOperationName name);

/// Shape of one row of a "rows" value: a jagged tensor's row shape, or a
/// per-sample tensor's shape without its leading sample dimension.
llvm::SmallVector<int64_t> getRowShape(Type rows);
/// The same kind of "rows" value (jagged or per-sample) with another row shape.
Type withRowShape(Type rows, llvm::ArrayRef<int64_t> rowShape);

/// The typed ABI role of an entry point's argument or result (DESIGN 2;
/// #mtgr.role in MTGRBase.td, verified where it is attached), and the bound
/// ABI of a function mtgr-bind-entry-points built (a list of #mtgr.abi).
constexpr llvm::StringLiteral kRoleAttr = "mtgr.role";
constexpr llvm::StringLiteral kAbiAttr = "mtgr.abi";
RoleAttr abiRole(MLIRContext *ctx, ::mtgr::RoleKind kind, ::mtgr::Group group = ::mtgr::Group::None,
                 int64_t index = -1, llvm::StringRef param = {});
/// The entry point argument the ids of `user` (an embedding lookup or sparse
/// update) come from: an argument of the function's entry block with an
/// `mtgr.input` name and a `feature` role (group and index name the
/// categorical feature). Where the ids are computed in the IR or the argument
/// has another role, emits an error on `user` and returns null: the passes
/// that bind ids by role (train step generation, lowering) refuse such IR.
BlockArgument embeddingIdsArgument(Operation *user, Value ids);

/// The one op that reads `v`, or null (none, or several): what the fusion
/// passes (mtgr-fuse-linear, mtgr-cpu-fuse-norm-backward,
/// mtgr-cpu-fuse-silu-backward) may absorb.
inline Operation *soleUser(Value v) { return v.hasOneUse() ? *v.getUsers().begin() : nullptr; }
} // namespace mlir::mtgr

#include "dialect/MTGRInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialect/MTGROps.h.inc"

#endif // MTGR_DIALECT_MTGRDIALECT_H
