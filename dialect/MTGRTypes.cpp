//===- MTGRTypes.cpp - jagged tensor and layout types ---------------------===//
#include "dialect/MTGRDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::mtgr;

#define GET_TYPEDEF_CLASSES
#include "dialect/MTGRTypes.cpp.inc"

void MTGRDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialect/MTGRTypes.cpp.inc"
      >();
}

// !mtgr.jagged<16xf32>, !mtgr.jagged<i64>, !mtgr.jagged<3x2xi32>
Type JaggedType::parse(AsmParser &parser) {
  SmallVector<int64_t> rowShape;
  Type elementType;
  llvm::SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(rowShape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    rowShape, elementType);
}

void JaggedType::print(AsmPrinter &printer) const {
  printer << "<";
  for (int64_t dim : getRowShape())
    printer << dim << "x";
  printer << getElementType() << ">";
}

LogicalResult
JaggedType::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                   ArrayRef<int64_t> rowShape, Type elementType) {
  if (rowShape.size() > 2)
    return emitError() << "jagged rows have at most 2 dimensions, got "
                       << rowShape.size();
  for (int64_t dim : rowShape)
    if (dim <= 0)
      return emitError() << "jagged row dimensions must be positive, got "
                         << dim;
  if (!elementType.isF32() && !elementType.isInteger(32) &&
      !elementType.isInteger(64))
    return emitError() << "jagged element type must be f32, i32 or i64, got "
                       << elementType;
  return success();
}

int64_t JaggedType::getRowSize() const {
  int64_t size = 1;
  for (int64_t dim : getRowShape())
    size *= dim;
  return size;
}

SmallVector<int64_t> mlir::mtgr::getRowShape(Type rows) {
  if (auto jagged = dyn_cast<JaggedType>(rows))
    return SmallVector<int64_t>(jagged.getRowShape());
  auto tensor = cast<RankedTensorType>(rows);
  return SmallVector<int64_t>(tensor.getShape().drop_front());
}

Type mlir::mtgr::withRowShape(Type rows, ArrayRef<int64_t> rowShape) {
  if (auto jagged = dyn_cast<JaggedType>(rows))
    return JaggedType::get(rows.getContext(), rowShape,
                           jagged.getElementType());
  auto tensor = cast<RankedTensorType>(rows);
  SmallVector<int64_t> shape{tensor.getDimSize(0)};
  shape.append(rowShape.begin(), rowShape.end());
  return RankedTensorType::get(shape, tensor.getElementType());
}

BlockArgument mlir::mtgr::embeddingIdsArgument(Operation *user, Value ids) {
  auto arg = dyn_cast<BlockArgument>(ids);
  auto func = arg ? dyn_cast_or_null<FunctionOpInterface>(arg.getOwner()->getParentOp())
                  : FunctionOpInterface();
  if (func && arg.getOwner() == &func.getFunctionBody().front()) {
    auto role = func.getArgAttrOfType<RoleAttr>(arg.getArgNumber(), kRoleAttr);
    if (role && role.getKind() == ::mtgr::RoleKind::Feature &&
        func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mtgr.input"))
      return arg;
  }
  user->emitError("embedding ids must be an entry point argument with its mtgr.input name and "
                  "a 'feature' ")
      << kRoleAttr;
  return {};
}

LogicalResult TileListType::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                                   int64_t rowBlock, int64_t colTile) {
  if (rowBlock < 1 || colTile < 1)
    return emitError() << "tile_list sizes must be positive, got " << rowBlock << " x " << colTile;
  return success();
}
