//===- MTGRDialect.cpp - dialect registration, enums, attributes -----------===//
#include "dialect/MTGRDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringSet.h"
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
/// The fields each role kind has (the table in MTGRBase.td's RoleAttr).
enum class Field { No, Optional, Required };
struct RoleShape {
  ::mtgr::RoleKind kind;
  Field group, index, param;
};
constexpr Field N = Field::No, O = Field::Optional, R = Field::Required;
using RK = ::mtgr::RoleKind;
constexpr RoleShape kRoleShapes[] = {
    {RK::Feature, R, R, N},    {RK::Time, R, N, N},        {RK::Intervals, R, N, N},
    {RK::Labels, O, R, N},     {RK::Logits, O, R, N},      {RK::Output, O, R, N},
    {RK::Loss, N, N, N},       {RK::Grad, N, N, R},        {RK::EmbeddingGrad, R, R, N},
    {RK::PrefixKeys, R, R, N}, {RK::PrefixValues, R, R, N}};

/// The `, key = value` fields after an attribute's leading words, up to `>`;
/// `field` parses the value of `key` (and refuses a key it does not know).
ParseResult parseFields(AsmParser &p, llvm::function_ref<ParseResult(StringRef)> field) {
  llvm::StringSet<> seen;
  while (succeeded(p.parseOptionalComma())) {
    StringRef key;
    SMLoc at = p.getCurrentLocation();
    if (p.parseKeyword(&key) || p.parseEqual())
      return failure();
    if (!seen.insert(key).second)
      return p.emitError(at, "field '") << key << "' given twice";
    if (field(key))
      return failure();
  }
  return p.parseGreater();
}

template <typename Enum>
ParseResult parseWord(AsmParser &p, std::optional<Enum> (*parse)(StringRef), StringRef what,
                      Enum &out) {
  SMLoc at = p.getCurrentLocation();
  StringRef word;
  if (p.parseKeyword(&word))
    return failure();
  std::optional<Enum> value = parse(word);
  if (!value || word.empty())
    return p.emitError(at, "unknown ") << what << " '" << word << "'";
  out = *value;
  return success();
}

/// Parses group, index and the string fields named in `strings`.
ParseResult parseCommonField(AsmParser &p, StringRef key, ::mtgr::Group &group, int64_t &index,
                             llvm::ArrayRef<std::pair<StringRef, std::string *>> strings) {
  if (key == "group")
    return parseWord(p, ::mtgr::parseGroup, "group", group);
  if (key == "index")
    return p.parseInteger(index);
  for (auto [name, out] : strings)
    if (key == name)
      return p.parseString(out);
  return p.emitError(p.getCurrentLocation(), "unknown field '") << key << "'";
}

void printCommonFields(AsmPrinter &p, ::mtgr::Group group, int64_t index,
                       llvm::ArrayRef<std::pair<StringRef, StringRef>> strings) {
  if (group != ::mtgr::Group::None)
    p << ", group = " << ::mtgr::toString(group);
  if (index >= 0)
    p << ", index = " << index;
  for (auto [name, value] : strings)
    if (!value.empty()) {
      p << ", " << name << " = ";
      p.printString(value);
    }
}
} // namespace

//===- #mtgr.role<kind, group = g, index = i, param = "p"> ----------------===//

Attribute RoleAttr::parse(AsmParser &p, Type) {
  SMLoc at = p.getCurrentLocation();
  ::mtgr::RoleKind kind;
  ::mtgr::Group group = ::mtgr::Group::None;
  int64_t index = -1;
  std::string param;
  if (p.parseLess() || parseWord(p, ::mtgr::parseRoleKind, "role kind", kind) ||
      parseFields(p, [&](StringRef key) {
        return parseCommonField(p, key, group, index, {{"param", &param}});
      }))
    return {};
  return getChecked([&] { return p.emitError(at); }, p.getContext(), kind, group, index, param);
}

void RoleAttr::print(AsmPrinter &p) const {
  p << "<" << ::mtgr::toString(getKind());
  printCommonFields(p, getGroup(), getIndex(), {{"param", getParam()}});
  p << ">";
}

/// Each kind has exactly the fields it needs (kRoleShapes).
LogicalResult RoleAttr::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                               ::mtgr::RoleKind kind, ::mtgr::Group group, int64_t index,
                               StringRef param) {
  const RoleShape &shape =
      *llvm::find_if(kRoleShapes, [&](const RoleShape &r) { return r.kind == kind; });
  auto check = [&](Field f, bool given, StringRef field, StringRef needs) -> LogicalResult {
    if (f == N && given)
      return emitError() << "a '" << ::mtgr::toString(kind) << "' role has no field '" << field
                         << "'";
    if (f == R && !given)
      return emitError() << "a '" << ::mtgr::toString(kind) << "' role needs " << needs;
    return success();
  };
  if (index < -1)
    return emitError() << "a role's index must be >= 0, got " << index;
  return success(
      succeeded(check(shape.group, group != ::mtgr::Group::None, "group",
                      "a 'group' (user, sequence, realtime, candidate, tokens)")) &&
      succeeded(check(shape.index, index >= 0, "index", "an 'index' >= 0")) &&
      succeeded(check(shape.param, !param.empty(), "param", "a 'param' (the parameter's name)")));
}

RoleAttr mlir::mtgr::abiRole(MLIRContext *ctx, ::mtgr::RoleKind kind, ::mtgr::Group group,
                             int64_t index, StringRef param) {
  return RoleAttr::get(ctx, kind, group, index, param);
}

//===- #mtgr.abi<kind "name", group = g, index = i, param/table/slot = "s"> ===//

Attribute AbiArgAttr::parse(AsmParser &p, Type) {
  ::mtgr::ArgKind kind;
  std::string name, param, table, slot;
  ::mtgr::Group group = ::mtgr::Group::None;
  int64_t index = -1;
  if (p.parseLess() || parseWord(p, ::mtgr::parseArgKind, "ABI argument kind", kind) ||
      p.parseString(&name) || parseFields(p, [&](StringRef key) {
        return parseCommonField(p, key, group, index,
                                {{"param", &param}, {"table", &table}, {"slot", &slot}});
      }))
    return {};
  return get(p.getContext(), kind, name, group, index, param, table, slot);
}

void AbiArgAttr::print(AsmPrinter &p) const {
  p << "<" << ::mtgr::toString(getKind()) << " ";
  p.printString(getName());
  printCommonFields(p, getGroup(), getIndex(),
                    {{"param", getParam()}, {"table", getTable()}, {"slot", getSlot()}});
  p << ">";
}

namespace {
/// mtgr.role: a #mtgr.role (verified on its own). mtgr.input / mtgr.output: a
/// name (string). Passes and code generation read these without further
/// checks.
LogicalResult verifyAbiAttribute(Operation *op, llvm::StringRef what, unsigned position,
                                 NamedAttribute attr) {
  auto error = [&]() {
    return op->emitOpError() << what << " " << position << ": " << attr.getName() << " ";
  };
  llvm::StringRef name = attr.getName().getValue();
  if ((name == "mtgr.input" || name == "mtgr.output") && !isa<StringAttr>(attr.getValue()))
    return error() << "must be a string";
  if (name == kRoleAttr && !isa<RoleAttr>(attr.getValue()))
    return error() << "must be a #mtgr.role<...>";
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

/// mtgr.abi: a list of #mtgr.abi (the compiler checks that it lists one per
/// argument where it reads them; lowering tests mark a function bound with an
/// empty list).
LogicalResult MTGRDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  if (attr.getName() != kAbiAttr)
    return success();
  auto list = dyn_cast<ArrayAttr>(attr.getValue());
  if (!list || !llvm::all_of(list, [](Attribute a) { return isa<AbiArgAttr>(a); }))
    return op->emitOpError() << kAbiAttr << " must be a list of #mtgr.abi<...>";
  return success();
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
