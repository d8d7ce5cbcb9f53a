//===- Error.h - the one way mtgr makes an error -----------------*- C++ -*-===//
//
// Messages name what and where ("<file>: section 'manifest': ..."); errors
// travel as llvm::Error up to the tool or API that reports them.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_MODEL_ERROR_H
#define MTGR_MODEL_ERROR_H

#include "model/Namespace.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace mtgr {

inline llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}
/// "<path>: <msg>".
inline llvm::Error fail(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + msg);
}

} // namespace mtgr

#endif
