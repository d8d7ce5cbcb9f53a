//===- Container.h - sectioned, checksummed files, written atomically -*- C++ -*-===//
//
// The file layout shared by artifacts and checkpoints (little endian):
//   8-byte magic | u32 version | u32 n | n x {char name[16], u64 offset,
//   u64 size, u64 xxh3} | u64 xxh3 of all bytes before it | section bytes
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_ABI_CONTAINER_H
#define MTGR_ABI_CONTAINER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mtgr {

using Sections = std::vector<std::pair<std::string, std::string>>;

std::string packSections(llvm::StringRef magic, uint32_t version, const Sections &sections);

/// Checks magic, version, sizes and checksums; `what` names the kind of file
/// in messages ("an mtgr artifact"). Errors start with `path`.
llvm::Expected<std::map<std::string, llvm::StringRef>>
unpackSections(llvm::StringRef bytes, llvm::StringRef magic, uint32_t version,
               llvm::StringRef path, llvm::StringRef what);

/// Recomputes the checksums of a container in place, where its header and
/// section table are intact enough to find them (false where they are not).
/// For tools that edit containers on purpose: the fuzz harnesses, so that
/// mutations reach the section parsers instead of all stopping at a checksum.
bool resealChecksums(std::string &bytes);

/// Writes to a temporary file in the same folder, fsyncs it, renames it over
/// `path` and fsyncs the folder: a crash at any moment leaves either the old
/// file or the new one, never a mix.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef bytes);

} // namespace mtgr

#endif
