//===- Artifact.h - the compiled artifact (.mtgr) ----------------*- C++ -*-===//
//
// Layout (little endian), format version kArtifactVersion (abi/Container.h):
//   "MTGRART\n"            8-byte magic
//   u32 version, u32 n     format version, number of sections
//   n x {char name[16], u64 offset, u64 size, u64 xxh3}   section table
//   u64 xxh3               checksum of every byte before it
//   section bytes
// Sections: "manifest" (JSON: entry points and their argument lists,
// parameters with shapes and initialisers, target, model hash, compiler
// version), "model" (the model description, YAML), "host.so" (x86-64 code),
// and, when signed, "signature" (abi/Signing.h).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_ABI_ARTIFACT_H
#define MTGR_ABI_ARTIFACT_H

#include "abi/AbiKinds.h"
#include "model/ModelDesc.h"
#include "abi/Signing.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace mtgr {

/// 3: typed ABI, ABI record in the code; 4: code sections per back end, entry
/// points take the environment table (abi/Environment.h).
constexpr uint32_t kArtifactVersion = 4;

/// One argument of a generated entry point (codegen/common/BindEntryPoints.cpp):
/// a typed ABI entry. The runtime binds it by kind, group and index (resolved
/// and checked against the model once, when a session is created); `name` is
/// for people and must agree with what the index names.
struct AbiArg {
  ArgKind kind = ArgKind::Input;
  std::string name;   // for people: input, parameter or task name
  Group group = Group::None;
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
  std::string symbol; // mtgr_forward_packed: void (void **args, const mtgr_environment *)
  std::vector<AbiArg> args;
  /// The buffers the generated code allocates per call: fixed bytes plus
  /// bytes per row of the largest run-time size (at most the call's tokens).
  int64_t fixedBytes = 0, bytesPerRow = 0;
};

/// The section of host code: an x86-64 shared object whose entry points are
/// `void <symbol>(void **args, const mtgr_environment *env)` (abi/Environment.h).
constexpr const char *kHostCodeSection = "host.so";
/// The CUDA back end's host code (same form; its entry points launch kernels
/// through the environment, abi/GpuLaunch.h) with the emulator's kernels.
constexpr const char *kCudaHostCodeSection = "cuda.host.so";
/// A CPU artifact's target description as JSON (codegen/cpu/Target.h):
/// what its tiles were derived from.
constexpr const char *kCpuTargetSection = "cpu.target";

/// A piece of code a back end emitted, stored as a section of its own.
struct CodeSection {
  std::string name;   // the section: "host.so" (at most 15 bytes)
  std::string target; // what it runs on: "<triple>;<cpu>;<features>" for host code
  std::string bytes;
};

/// The largest error max|c - r| / max(1, |r|) against the float64
/// reference that `mtgr-run verify` accepts by default for an artifact's
/// numerics: fp32 1e-4; bf16 0.35 (tensor cores and 16-bit activation
/// storage: the largest measured over random models, 2.1e-1 with bf16
/// storage on 2026-12-05, with half again as margin; docs/gpu-backend.md).
inline constexpr double kFp32Tolerance = 1e-4, kBf16Tolerance = 0.35;
inline double defaultTolerance(llvm::StringRef numerics) {
  return numerics == "bf16" ? kBf16Tolerance : kFp32Tolerance;
}

struct Artifact {
  std::string path; // where it was read from, for messages
  std::string compilerVersion;
  std::string backend; // the back end that compiled it: "cpu"
  /// Its arithmetic: "fp32", or "bf16" (products on bf16 operands with f32
  /// sums: tensor cores; or activations stored in bf16 or f16, --dtype);
  /// verify's default tolerance follows it.
  std::string numerics = "fp32";
  std::string modelHash;
  std::vector<EntryPoint> entryPoints;
  /// Why the artifact has no train_step entry point (empty when it has one).
  std::string trainStepMissing;
  /// Why it has no encode_prefix / score_candidates pair (the prefix split,
  /// passes/SplitPrefix.cpp; empty when it has them).
  std::string prefixSplitMissing;
  std::string modelText; // the model description
  std::vector<CodeSection> code; // in the order the back end emitted them
  ModelDesc model;       // parsed from modelText on load
  /// Empty, or the signer's public key and the ed25519 signature of
  /// signedMessage() (section "signature", abi/Signing.h).
  std::string signature;

  /// The code section named `name`, or nullptr.
  const CodeSection *section(llvm::StringRef name) const;
  /// What a signature covers: the manifest, the model and every code section.
  std::string signedMessage() const;
  void sign(const SecretKey &key) { signature = signMessage(signedMessage(), key); }
  /// Whether `policy` lets this artifact's code load; the error says why not.
  llvm::Error checkTrust(const TrustPolicy &policy) const;

  const EntryPoint *entry(llvm::StringRef name) const;
  /// Code without a model (an empty model section): kernels whose entry
  /// points take raw buffers, run by `mtgr-run call` (the tests'
  /// tensor-core micro-kernels, bench/gpu's golden outputs); a Session
  /// refuses it.
  bool kernelsOnly() const { return modelText.empty(); }
  /// Serialises to the file format above.
  std::string serialize() const;
  /// Writes atomically (temporary file, then rename).
  llvm::Error write(llvm::StringRef path) const;
  /// Reads and checks an artifact: a truncated or corrupted file or another
  /// format version is an error that says which. (Whether this machine can
  /// run its code is the device's question: runtime/Device.h.)
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
/// Empty if this machine can run host code built for `target`
/// ("<triple>;<cpu>;<features>"), else the reason.
std::string checkHostTarget(llvm::StringRef target);

} // namespace mtgr

#endif
