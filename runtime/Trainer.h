//===- Trainer.h - the training loop ------------------------------*- C++ -*-===//
//
// Token-balanced steps over a dataset; each step admits the step's ids into
// dynamic tables, then runs the generated train_step (forward, loss,
// gradients and the optimisers of DESIGN 1.8: Adam / AdamW on dense
// parameters, row-wise Adagrad or sparse Adam on the embedding rows the step
// touched, in place). Checkpoints hold everything needed to
// continue bit-identically (same seed, data and thread count).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_TRAINER_H
#define MTGR_RUNTIME_TRAINER_H

#include "runtime/Checkpoint.h"
#include "runtime/Session.h"

#include <functional>
#include <optional>

namespace mtgr {

struct TrainLimits {
  int64_t steps = 0;       // stop after this many steps in all (0: no limit)
  int64_t epochs = 1;      // stop after this many epochs
  double seconds = 0;      // stop after this much wall time (0: no limit)
  int64_t tokenBudget = 0; // tokens per step (0: the model's training.tokens_per_step)
  std::string checkpoint;  // write here...
  int64_t checkpointEvery = 0; // ...every this many steps, and at the end
};

struct StepReport {
  int64_t step, epoch, stepInEpoch, stepsInEpoch, samples, tokens;
  double loss; // per-candidate mean BCE of the step (weighted by task weights)
  double seconds;
  /// The step batch's forward FLOPs (DESIGN 1.9; none where its mask's
  /// pairs are unknown): what a profile's training rates are counted from.
  std::optional<FlopCount> forwardFlops = std::nullopt;
};

class Trainer {
public:
  /// Starts from the session's parameters (or, with `resume`, from a checkpoint).
  Trainer(Session &session, const Batch &data);
  llvm::Error resume(llvm::StringRef checkpointPath);
  llvm::Error run(const TrainLimits &limits, const std::function<void(const StepReport &)> &onStep);
  const TrainState &state() const { return st; }
  /// The seed of the step order and dropout (default: the model's training.seed).
  void setSeed(uint64_t seed) { st.seed = seed; }
  /// The state as a checkpoint would store it (parameters included; sharded
  /// tables gathered whole: then a collective call, every rank makes it).
  TrainState snapshot() const;
  /// Dynamic tables: one sighting per id of the step; a new row gets fresh
  /// N(0, 0.01^2) weights (a stream keyed by seed, table, id and step) and
  /// zero optimiser state. Sharded tables: the ids this rank owns.
  void admitIds(const Batch &batch);
  /// Writes a checkpoint of the state now (every rank calls it): the whole
  /// state by rank 0, or with sharded tables a file per rank's part and a
  /// manifest (runtime/Checkpoint.h) by rank 0. resume() reads either, on
  /// any rank count, sharded or not.
  llvm::Error checkpoint(llvm::StringRef path);

private:
  std::string lastShardFile; // this rank's part in the last checkpoint
  Session &session;
  const Batch &data;
  TrainState st;
  std::vector<int64_t> sampleTokens;
};

} // namespace mtgr

#endif
