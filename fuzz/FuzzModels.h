//===- FuzzModels.h - the models the reader harnesses read against -*- C++ -*-===//
//
// Readers of requests, parameters, checkpoints and artifacts check their input
// against a model. These two are small (fast runs, small seed files) and touch
// every schema feature the readers handle: hashed, fixed and dynamic tables,
// dense and categorical features in every group, an own realtime MLP, rab,
// two tasks, and `mask: intervals` in the second.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_FUZZ_FUZZMODELS_H
#define MTGR_FUZZ_FUZZMODELS_H

#include "model/ModelDesc.h"
#include "abi/Container.h"

#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>

namespace mtgr::fuzz {

// fuzz/models/mini.yaml and intervals.yaml, embedded by fuzz/CMakeLists.txt.
#include "fuzz/FuzzModelsText.inc"

/// Parses one of the models above (they are valid: a failure is a bug here).
inline const ModelDesc &fuzzModel(const char *text) {
  static std::map<const char *, ModelDesc> parsed;
  auto it = parsed.find(text);
  if (it == parsed.end()) {
    auto m = parseModelDesc(text, "<fuzz model>", llvm::errs());
    if (!m)
      __builtin_trap();
    it = parsed.emplace(text, std::move(*m)).first;
  }
  return it->second;
}

/// Runs `read` on a container's bytes as they are (the container's own
/// checks) and, where its table can be found, again with its checksums
/// recomputed, so that mutations reach the section parsers.
template <typename Read> void asIsAndResealed(const uint8_t *data, size_t size, Read read) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  read(llvm::StringRef(bytes));
  if (resealChecksums(bytes))
    read(llvm::StringRef(bytes));
}

} // namespace mtgr::fuzz

#endif
