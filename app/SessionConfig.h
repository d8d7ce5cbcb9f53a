//===- SessionConfig.h - session options from a user's settings --*- C++ -*-===//
//
// The settings every client of the runtime reads the same way: a memory limit
// written as a size, and which artifacts may load (trusted public keys from a
// file or $MTGR_TRUSTED_KEYS, and whether a signature is required).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_APP_SESSIONCONFIG_H
#define MTGR_APP_SESSIONCONFIG_H

#include "runtime/Session.h"

#include <optional>

namespace mtgr {

/// "123", "64K", "512M", "8G", "1T" (powers of 1024) -> bytes; nullopt for
/// anything else, 0 or an overflow.
std::optional<uint64_t> parseByteSize(llvm::StringRef text);

/// The trust policy: keys from `keysPath`, else from $MTGR_TRUSTED_KEYS, else
/// none (unsigned artifacts load unless `requireSignature`).
llvm::Expected<TrustPolicy> trustPolicyFrom(llvm::StringRef keysPath, bool requireSignature);

} // namespace mtgr

#endif
