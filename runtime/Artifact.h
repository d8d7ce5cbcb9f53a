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
// version), "model" (the model description, YAML), "host.so" (x86-64 code),
// and, when signed, "signature" (runtime/Signing.h).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_ARTIFACT_H
#define MTGR_RUNTIME_ARTIFACT_H

#include "model/ModelDesc.h"
#include "runtime/Signing.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::mtgr {

constexpr uint32_t kArtifactVersion = 3; // 3: typed ABI, ABI record in the code

/// One argument of a generated entry point (see codegen/LowerToLoops.h): a
/// typed ABI entry. The runtime binds it by kind, group and index (resolved
/// and checked against the model once, when a session is created); `name` is
/// for people and must agree with what the index names.
struct AbiArg {
  /// input | offsets | embedding | time | intervals | labels | param |
  /// output | hidden (forward); rng | loss | param_grad | embedding_grad |
  /// state | unique_rows | row_index | grad_input | embedding_grad_input
  /// (train_step, apply_update)
  std::string kind;
  std::string name;   // for people: input, parameter or task name
  std::string group;  // user | sequence | realtime | candidate | tokens
  int64_t index = -1; // feature index in the group's schema, or task index
  std::string param;  // grad_input: the parameter
  std::string table;  // embedding, unique_rows, row_index
  std::string slot;   // state: m | v | acc
  /// The memref's shape as compiled (-1 = dynamic): static shapes are
  /// checked against the model's parameters when a session is created.
  std::vector<int64_t> shape;
  bool operator==(const AbiArg &o) const {
    return kind == o.kind && name == o.name && group == o.group && index == o.index &&
           param == o.param && table == o.table && slot == o.slot && shape == o.shape;
  }
};

struct EntryPoint {
  std::string name;   // forward
  std::string symbol; // mtgr_forward_packed
  std::vector<AbiArg> args;
  /// The buffers the generated code allocates per call: fixed bytes plus
  /// bytes per row of the largest run-time size (at most the call's tokens).
  int64_t fixedBytes = 0, bytesPerRow = 0;
};

struct Artifact {
  std::string path; // where it was read from, for messages
  std::string compilerVersion;
  std::string target; // triple;cpu;features
  std::string modelHash;
  std::vector<EntryPoint> entryPoints;
  /// Why the artifact has no train_step entry point (empty when it has one).
  std::string trainStepMissing;
  std::string modelText; // the model description
  std::string hostCode;  // the shared object
  ModelDesc model;       // parsed from modelText on load
  /// Empty, or the signer's public key and the ed25519 signature of
  /// signedMessage() (section "signature", runtime/Signing.h).
  std::string signature;

  /// What a signature covers: the manifest, the model and the host code.
  std::string signedMessage() const;
  void sign(const SecretKey &key) { signature = signMessage(signedMessage(), key); }
  /// Whether `policy` lets this artifact's code load; the error says why not.
  llvm::Error checkTrust(const TrustPolicy &policy) const;

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
/// The ABI record the generated code exports (symbol kAbiRecordSymbol, a
/// NUL-terminated string): the model hash and the entry points with their
/// typed arguments, as JSON. The runtime compares it with the manifest after
/// loading the code and before any call.
constexpr const char *kAbiRecordSymbol = "mtgr_abi_record";
std::string abiRecord(llvm::StringRef modelHash, const std::vector<EntryPoint> &entries);
std::string hashModelText(llvm::StringRef text);
/// Empty if this machine can run code built for `target`, else the reason.
std::string checkHostTarget(llvm::StringRef target);

} // namespace mlir::mtgr

#endif
