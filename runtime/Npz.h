//===- Npz.h - parameters as NumPy .npz archives ------------------*- C++ -*-===//
//
// DESIGN 1.7: a PyTorch state_dict saved with numpy.savez (stored) or
// numpy.savez_compressed (deflate) loads directly: one "<name>.npy" member per
// parameter, little-endian float32 (float64 is converted), C order.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_NPZ_H
#define MTGR_RUNTIME_NPZ_H

#include "runtime/Params.h"

#include "llvm/Support/Error.h"

namespace mtgr {

/// Every tensor of an archive's bytes, by name (without ".npy"); `path`
/// names it in messages. With `maxBytes` (by tensor name, without ".npy"), a
/// member not listed, or one whose directory entry claims more bytes, is
/// refused before anything is allocated for it.
llvm::Expected<std::map<std::string, Tensor>>
parseNpz(llvm::StringRef bytes, llvm::StringRef path,
         const std::map<std::string, uint64_t> *maxBytes = nullptr);

/// Writes `params` (atomically: temporary file, then rename).
llvm::Error writeNpz(llvm::StringRef path, const ParamStore &params, bool compress = false);

/// Replaces the values of `params` by an archive's. Every parameter must be
/// present with its shape, and the archive may hold nothing else; the error
/// names the parameter.
llvm::Error loadParams(llvm::StringRef path, ParamStore &params);
/// The same from an archive's bytes (`path` names it in messages).
llvm::Error loadParams(llvm::StringRef bytes, llvm::StringRef path, ParamStore &params);

} // namespace mtgr

#endif
