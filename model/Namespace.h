//===- Namespace.h - the two namespaces of mtgr ------------------*- C++ -*-===//
//
// What runs without MLIR (model/, abi/, runtime/, data/, app/) lives in
// `mtgr`; the compiler (dialect/, passes/, frontend/, codegen/, compiler/)
// lives in `mlir::mtgr`, MLIR's convention for a dialect's code, and sees the
// leaves' names (ModelDesc, Artifact, ArgKind, ...) as its own.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_MODEL_NAMESPACE_H
#define MTGR_MODEL_NAMESPACE_H

namespace mtgr {}
namespace mlir::mtgr {
using namespace ::mtgr;
} // namespace mlir::mtgr

#endif
