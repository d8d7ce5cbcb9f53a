//===- TrainLoop.cpp - epochs, validation, early stopping -----------------===//
#include "app/TrainLoop.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>

using namespace mtgr;

MetricsSink::~MetricsSink() = default;

void JsonLinesSink::start(const Batch &train, const Batch &validation, const Batch &test,
                          const std::vector<TaskMetrics> &before) {
  os << "{\"event\": \"start\", \"train_samples\": " << train.numSamples
     << ", \"train_candidates\": " << train.numCandidates()
     << ", \"validation_candidates\": " << validation.numCandidates()
     << ", \"test_candidates\": " << test.numCandidates()
     << ", \"validation\": " << metricsJson(m, before) << "}\n";
}

void JsonLinesSink::epoch(int64_t epoch, int64_t steps, double trainLoss, double seconds,
                          const std::vector<TaskMetrics> &validation) {
  os << "{\"event\": \"epoch\", \"epoch\": " << epoch << ", \"steps\": " << steps
     << ", \"train_loss\": " << jsonNumber(trainLoss)
     << ", \"seconds\": " << llvm::formatv("{0:F2}", seconds)
     << ", \"validation\": " << metricsJson(m, validation) << "}\n";
  os.flush(); // progress for whoever watches the file
}

void JsonLinesSink::test(int64_t bestEpoch, int64_t steps, const std::vector<TaskMetrics> &test) {
  os << "{\"event\": \"test\", \"best_epoch\": " << bestEpoch << ", \"steps\": " << steps
     << ", \"test\": " << metricsJson(m, test) << "}\n";
}

void JsonLinesSink::eval(const std::vector<TaskMetrics> &metrics) {
  os << "{\"event\": \"eval\", \"metrics\": " << metricsJson(m, metrics) << "}\n";
}

llvm::Expected<TrainLoopResult>
mtgr::runTrainLoop(Session &session, Trainer &trainer, const Batch &heldOut,
                         const TrainLoopOptions &options, MetricsSink *sink,
                         const std::function<void(const StepReport &)> &onStep,
                         llvm::raw_ostream &log) {
  const ModelDesc &m = session.model();
  TrainLoopResult result;
  result.bestLoss = INFINITY;
  double lossSum = 0;
  int64_t lossSteps = 0;
  auto counted = [&](const StepReport &r) {
    lossSum += r.loss;
    ++lossSteps;
    if (onStep)
      onStep(r);
  };
  auto began = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  };
  int64_t sinceBest = 0;
  ParamStore bestParams;
  std::map<std::string, DynamicTable> bestTables;
  bool perEpoch = options.perEpoch || options.earlyStopping > 0;
  const TrainLimits &limits = options.limits;
  // Epoch by epoch: the held-out data after each (early stopping keeps the
  // best epoch's parameters), or all epochs in one go.
  while (trainer.state().epoch < limits.epochs) {
    TrainLimits l = limits;
    if (perEpoch) {
      l.epochs = trainer.state().epoch + 1;
      double used = elapsed();
      if (limits.seconds > 0 && used >= limits.seconds)
        break;
      l.seconds = limits.seconds > 0 ? limits.seconds - used : 0;
    }
    lossSum = 0, lossSteps = 0;
    if (auto e = trainer.run(l, counted))
      return std::move(e);
    if (options.afterSteps)
      options.afterSteps();
    if (!perEpoch)
      break;
    bool complete = trainer.state().stepInEpoch == 0;
    auto metrics = evaluate(session, heldOut);
    if (!metrics)
      return metrics.takeError();
    double loss = weightedLogLoss(m, *metrics);
    int64_t epoch = trainer.state().epoch + (complete ? 0 : 1);
    double trainLoss = lossSum / static_cast<double>(std::max<int64_t>(1, lossSteps));
    ++result.epochsRun;
    log << llvm::formatv("epoch {0}: train loss {1:F4}, {2} log loss {3:F4}", epoch, trainLoss,
                         options.heldOutName, loss);
    for (size_t t = 0; t < m.tasks.size(); ++t)
      log << "  " << m.tasks[t].name << " GAUC "
          << (metrics->at(t).gauc ? llvm::formatv("{0:F4}", *metrics->at(t).gauc).str()
                                  : std::string("n/a"));
    log << "\n";
    if (sink)
      sink->epoch(epoch, trainer.state().step, trainLoss, elapsed(), *metrics);
    if (loss < result.bestLoss) {
      result.bestLoss = loss, result.bestEpoch = epoch, sinceBest = 0;
      if (options.earlyStopping > 0) {
        bestParams = session.params();
        bestTables = session.dynamicTables();
      }
    } else if (options.earlyStopping > 0 && ++sinceBest >= options.earlyStopping) {
      log << "early stopping: no better " << options.heldOutName << " log loss for " << sinceBest
          << " epoch(s); keeping epoch " << result.bestEpoch << "\n";
      result.stoppedEarly = true;
      break;
    }
    if (!complete)
      break; // a step or time limit ended the epoch
  }
  if (options.earlyStopping > 0 && result.bestEpoch > 0) {
    session.params() = bestParams;
    session.dynamicTables() = bestTables;
    result.restoredBest = true;
  }
  return result;
}

std::string mtgr::stepLine(const StepReport &r, int64_t samplesSoFar) {
  double rate = samplesSoFar / std::max(1e-9, r.seconds);
  double left = (r.stepsInEpoch - r.stepInEpoch) * r.seconds / std::max<int64_t>(1, r.step);
  return llvm::formatv("step {0} (epoch {1}, {2}/{3})  {4:F0} samples/s  loss {5:F4}  "
                       "ETA epoch {6:F0} s",
                       r.step, r.epoch + 1, r.stepInEpoch, r.stepsInEpoch, rate, r.loss, left)
      .str();
}
