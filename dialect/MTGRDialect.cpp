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
