//===- Session.h - run a compiled artifact on the CPU -----------*- C++ -*-===//
#ifndef MTGR_RUNTIME_SESSION_H
#define MTGR_RUNTIME_SESSION_H

#include "runtime/Artifact.h"
#include "runtime/Batch.h"
#include "runtime/Params.h"

#include <memory>

namespace mlir::mtgr {

struct ForwardResult {
  std::vector<std::vector<float>> logits; // [task][candidate]
  std::vector<float> hidden;              // [N_total * d_model] when asked for
};

/// Loads an artifact's host code and runs its entry points. Samples are split
/// into contiguous, token-balanced ranges, one per thread (threads = cores by
/// default); each thread runs the generated code on its range, so results do
/// not depend on the thread count.
class CpuSession {
public:
  static llvm::Expected<std::unique_ptr<CpuSession>> create(Artifact artifact,
                                                            unsigned threads = 0);
  ~CpuSession();

  const ModelDesc &model() const { return artifact.model; }
  const Artifact &getArtifact() const { return artifact; }
  ParamStore &params() { return parameters; }
  unsigned numThreads() const { return threads; }
  /// Replaces the parameters by a fresh initialisation from `seed`.
  void initParams(uint64_t seed);

  /// Scores a batch (checked with validateBatch first). `hidden` asks for
  /// every token's final hidden state (models with HSTU layers).
  llvm::Expected<ForwardResult> forward(const Batch &batch, bool hidden = false);

private:
  CpuSession(Artifact a) : artifact(std::move(a)) {}
  ForwardResult runRange(const Batch &batch, bool hidden) const;

  Artifact artifact;
  const EntryPoint *entryPoint = nullptr;
  void *library = nullptr;
  void (*forwardFn)(void **) = nullptr;
  unsigned threads = 1;
  ParamStore parameters;
};

} // namespace mlir::mtgr

#endif
