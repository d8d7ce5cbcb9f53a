//===- Artifact.h - the compiled artifact (.mtgr) ----------------*- C++ -*-===//
//
// Layout (little endian), format version 2 (kArtifactVersion):
//   "MTGRART\n"            8-byte magic
//   u32 version, u32 n     format version, number of sections
//   n x {char name[16], u64 offset, u64 size, u64 xxh3}   section table
//   u64 xxh3               checksum of every byte before it
//   section bytes
// Sections: "manifest" (JSON: entry points and their argument lists,
// parameters with shapes and initialisers, target, model hash, compiler
// version), "model" (the model description, YAML), "host.so" (x86-64 code).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_ARTIFACT_H
#define MTGR_RUNTIME_ARTIFACT_H

#include "frontend/ModelDesc.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::mtgr {

constexpr uint32_t kArtifactVersion = 2; // 2: train_step applies the optimiser

/// One argument of a generated entry point (see codegen/LowerToLoops.h).
struct AbiArg {
  /// input | offsets | embedding | param | output | hidden (forward); loss |
  /// param_grad | embedding_grad | state | unique_rows | row_index (train_step)
  std::string kind;
  std::string name;  // input, parameter or task name
  std::string table; // embedding, unique_rows, row_index
  std::string slot;  // state: m | v | acc
};

struct EntryPoint {
  std::string name;   // forward
  std::string symbol; // mtgr_forward_packed
  std::vector<AbiArg> args;
};

struct Artifact {
  std::string compilerVersion;
  std::string target; // triple;cpu;features
  std::string modelHash;
  std::vector<EntryPoint> entryPoints;
  /// Why the artifact has no train_step entry point (empty when it has one).
  std::string trainStepMissing;
  std::string modelText; // the model description
  std::string hostCode;  // the shared object
  ModelDesc model;       // parsed from modelText on load

  const EntryPoint *entry(llvm::StringRef name) const;
  /// Serialises to the file format above.
  std::string serialize() const;
  /// Writes atomically (temporary file, then rename).
  llvm::Error write(llvm::StringRef path) const;
  /// Reads and checks an artifact: a truncated or corrupted file, another
  /// format version or a target this machine cannot run is an error that says
  /// which.
  static llvm::Expected<Artifact> read(llvm::StringRef path);
  static llvm::Expected<Artifact> parse(llvm::StringRef bytes, llvm::StringRef path);
};

std::string compilerVersion();
std::string hashModelText(llvm::StringRef text);
/// Empty if this machine can run code built for `target`, else the reason.
std::string checkHostTarget(llvm::StringRef target);

} // namespace mlir::mtgr

#endif
