//===- TrainLoop.h - epochs, validation, early stopping ----------*- C++ -*-===//
//
// The policy around runtime/Trainer.h that every training client shares
// (mtgr-run train, and next the C and Python APIs): epoch by epoch, the
// held-out data evaluated after each one, the parameters and dynamic tables of
// the best epoch (lowest task-weighted log loss) kept, and training stopped
// after `earlyStopping` epochs without improvement. Events go to a
// MetricsSink (JSON lines: JsonLinesSink).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_APP_TRAINLOOP_H
#define MTGR_APP_TRAINLOOP_H

#include "app/Evaluation.h"
#include "runtime/Trainer.h"

#include "llvm/Support/raw_ostream.h"

namespace mtgr {

/// What a training run reports, in order: start, an epoch per epoch (when
/// evaluated per epoch), then test and eval from their callers.
class MetricsSink {
public:
  virtual ~MetricsSink();
  virtual void start(const Batch &train, const Batch &validation, const Batch &test,
                     const std::vector<TaskMetrics> &before) = 0;
  virtual void epoch(int64_t epoch, int64_t steps, double trainLoss, double seconds,
                     const std::vector<TaskMetrics> &validation) = 0;
  virtual void test(int64_t bestEpoch, int64_t steps, const std::vector<TaskMetrics> &test) = 0;
  virtual void eval(const std::vector<TaskMetrics> &metrics) = 0;
};

/// One JSON object per event and line ({"event": "start" | "epoch" | "test" |
/// "eval", ...}), flushed after each epoch for whoever watches the file.
class JsonLinesSink final : public MetricsSink {
public:
  JsonLinesSink(llvm::raw_ostream &os, const ModelDesc &m) : os(os), m(m) {}
  void start(const Batch &train, const Batch &validation, const Batch &test,
             const std::vector<TaskMetrics> &before) override;
  void epoch(int64_t epoch, int64_t steps, double trainLoss, double seconds,
             const std::vector<TaskMetrics> &validation) override;
  void test(int64_t bestEpoch, int64_t steps, const std::vector<TaskMetrics> &test) override;
  void eval(const std::vector<TaskMetrics> &metrics) override;

private:
  llvm::raw_ostream &os;
  const ModelDesc &m;
};

struct TrainLoopOptions {
  TrainLimits limits;        // steps, epochs, seconds, token budget, checkpoints
  int64_t earlyStopping = 0; // epochs without improvement before stopping (0: off)
  /// Evaluate the held-out data after every epoch (implied by earlyStopping).
  bool perEpoch = false;
  std::string heldOutName = "held-out"; // for messages: "validation" with a test split
  /// Called after each stretch of steps (a terminal's progress line ends).
  std::function<void()> afterSteps;
};

struct TrainLoopResult {
  int64_t epochsRun = 0;  // epochs evaluated (per-epoch runs)
  int64_t bestEpoch = 0;  // 1-based; 0 when no epoch was evaluated
  double bestLoss = 0;    // its held-out task-weighted log loss
  bool stoppedEarly = false;
  /// The best epoch's parameters and tables are the session's now.
  bool restoredBest = false;
};

/// Runs `trainer` under `options`; `onStep` sees every step, `log` gets a
/// line per evaluated epoch and the early-stopping message, `sink` the epochs.
llvm::Expected<TrainLoopResult> runTrainLoop(Session &session, Trainer &trainer,
                                             const Batch &heldOut, const TrainLoopOptions &options,
                                             MetricsSink *sink,
                                             const std::function<void(const StepReport &)> &onStep,
                                             llvm::raw_ostream &log);

/// "step S (epoch E, i/n)  R samples/s  loss L  ETA epoch T s": a progress
/// line for a step, with the rate over `samplesSoFar` (the samples of every
/// step so far, this one included).
std::string stepLine(const StepReport &report, int64_t samplesSoFar);

} // namespace mtgr

#endif
