//===- artifact_fuzzer.cpp - the artifact loader up to loading code ---------===//
//
// Any bytes as an artifact, twice: as they are (container checks) and with
// the container's checksums fixed (resealChecksums, abi/Container.h), so that mutations
// reach the manifest, model and signature sections. Everything Session
// does before the code is mapped runs: parse (manifest, versions, target,
// model), the trust check under an active policy, and the ABI binding of
// every entry point against the model. Nothing is loaded or called.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzModels.h"
#include "runtime/Abi.h"
#include "abi/Artifact.h"

using namespace mtgr;

static void load(llvm::StringRef bytes) {
  auto artifact = Artifact::parse(bytes, "fuzz.mtgr");
  if (!artifact) {
    if (llvm::toString(artifact.takeError()).empty())
      __builtin_trap();
    return;
  }
  // Signed or not, a policy that requires a signature reads the section.
  TrustPolicy open, strict;
  strict.requireSignature = true;
  llvm::consumeError(artifact->checkTrust(open));
  llvm::consumeError(artifact->checkTrust(strict));
  for (const EntryPoint &entry : artifact->entryPoints) {
    auto bindings = bindEntryPoint(artifact->model, entry, "fuzz.mtgr");
    if (!bindings)
      llvm::consumeError(bindings.takeError());
  }
  (void)abiRecord(artifact->modelHash, artifact->entryPoints);
  (void)artifact->signedMessage();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::asIsAndResealed(data, size, load);
  return 0;
}
