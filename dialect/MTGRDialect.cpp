//===- MTGRDialect.cpp - dialect registration, enums, attributes -----------===//
#include "dialect/MTGRDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::mtgr;

#include "dialect/MTGRDialect.cpp.inc"
#include "dialect/MTGREnums.cpp.inc"
#include "dialect/MTGRInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/MTGRAttrs.cpp.inc"

void MTGRDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/MTGRAttrs.cpp.inc"
      >();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "dialect/MTGROps.cpp.inc"
      >();
}

namespace {
/// The fields each IR role kind has (DESIGN 2; MTGRDialect.h kRoleAttr).
enum class Field { No, Optional, Required };
struct RoleShape {
  llvm::StringLiteral kind;
  Field group, index, param;
};
constexpr Field N = Field::No, O = Field::Optional, R = Field::Required;
constexpr RoleShape kRoleShapes[] = {
    {"feature", R, R, N}, {"time", R, N, N},   {"intervals", R, N, N},
    {"labels", O, R, N},  {"logits", O, R, N}, {"output", O, R, N},
    {"loss", N, N, N},    {"grad", N, N, R},   {"embedding_grad", R, R, N}};
constexpr llvm::StringLiteral kRoleGroups[] = {"user", "sequence", "realtime", "candidate",
                                               "tokens"};

/// mtgr.role: a dictionary {kind, group?, index?, param?} whose kind is known
/// and which has exactly the fields that kind needs, each of its type.
/// mtgr.input / mtgr.output: a name (string). Passes and code generation
/// read these without further checks.
LogicalResult verifyAbiAttribute(Operation *op, llvm::StringRef what, unsigned position,
                                 NamedAttribute attr) {
  auto error = [&]() {
    return op->emitOpError() << what << " " << position << ": " << attr.getName() << " ";
  };
  llvm::StringRef name = attr.getName().getValue();
  if (name == "mtgr.input" || name == "mtgr.output") {
    if (!isa<StringAttr>(attr.getValue()))
      return error() << "must be a string";
    return success();
  }
  if (name != kRoleAttr)
    return success();
  auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
  if (!dict)
    return error() << "must be a dictionary";
  auto kind = dict.getAs<StringAttr>("kind");
  if (!kind)
    return error() << "needs a string 'kind'";
  const RoleShape *shape = llvm::find_if(
      kRoleShapes, [&](const RoleShape &r) { return r.kind == kind.getValue(); });
  if (shape == std::end(kRoleShapes))
    return error() << "has unknown kind '" << kind.getValue() << "'";
  for (NamedAttribute field : dict) {
    llvm::StringRef f = field.getName().getValue();
    bool wanted = f == "kind" || (f == "group" && shape->group != N) ||
                  (f == "index" && shape->index != N) || (f == "param" && shape->param != N);
    if (!wanted)
      return error() << "of kind '" << kind.getValue() << "' has no field '" << f << "'";
  }
  if (shape->group == R || (shape->group == O && dict.get("group"))) {
    auto group = dict.getAs<StringAttr>("group");
    if (!group || !llvm::is_contained(kRoleGroups, group.getValue()))
      return error() << "of kind '" << kind.getValue()
                     << "' needs 'group', one of user, sequence, realtime, candidate, tokens";
  }
  if (shape->index == R) {
    auto index = dict.getAs<IntegerAttr>("index");
    if (!index || !index.getType().isSignlessInteger(64) || index.getInt() < 0)
      return error() << "of kind '" << kind.getValue() << "' needs an i64 'index' >= 0";
  }
  if (shape->param == R && !dict.getAs<StringAttr>("param"))
    return error() << "of kind '" << kind.getValue() << "' needs a string 'param'";
  return success();
}
} // namespace

LogicalResult MTGRDialect::verifyRegionArgAttribute(Operation *op, unsigned region,
                                                    unsigned argIndex, NamedAttribute attr) {
  return verifyAbiAttribute(op, "argument", argIndex, attr);
}

LogicalResult MTGRDialect::verifyRegionResultAttribute(Operation *op, unsigned region,
                                                       unsigned resultIndex,
                                                       NamedAttribute attr) {
  return verifyAbiAttribute(op, "result", resultIndex, attr);
}

namespace {
template <typename Query> std::optional<::mtgr::ProfileFamily> familyBy(Query hasFamily) {
  std::optional<::mtgr::ProfileFamily> found;
  auto check = [&](auto family) {
    constexpr ::mtgr::ProfileFamily f = decltype(family)::value;
    if (hasFamily(std::integral_constant<::mtgr::ProfileFamily, f>{}))
      found = f;
  };
  using F = ::mtgr::ProfileFamily;
  check(std::integral_constant<F, F::Projections>{});
  check(std::integral_constant<F, F::Attention>{});
  check(std::integral_constant<F, F::Masks>{});
  check(std::integral_constant<F, F::Norms>{});
  check(std::integral_constant<F, F::Elementwise>{});
  check(std::integral_constant<F, F::Tokens>{});
  check(std::integral_constant<F, F::Loss>{});
  check(std::integral_constant<F, F::Optimizer>{});
  static_assert(::mtgr::kNumProfileFamilies == 8, "a family to check here");
  return found;
}
} // namespace

std::optional<::mtgr::ProfileFamily> mlir::mtgr::profileFamilyOf(Operation *op) {
  return familyBy([&](auto family) {
    return op->hasTrait<ProfiledAs<decltype(family)::value>::template Impl>();
  });
}

std::optional<::mtgr::ProfileFamily> mlir::mtgr::profileFamilyOf(RegisteredOperationName name) {
  return familyBy([&](auto family) {
    return name.hasTrait<ProfiledAs<decltype(family)::value>::template Impl>();
  });
}
