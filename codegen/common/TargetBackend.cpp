//===- TargetBackend.cpp --------------------------------------------------===//
#include "codegen/common/TargetBackend.h"

mlir::mtgr::TargetBackend::~TargetBackend() = default;
