//===- AppTest.cpp - the application libraries (app/) ---------------------===//
//
// The training loop policy, scoring and session settings that mtgr-run and
// the coming APIs share, tested through the library rather than the tool.
//
//===----------------------------------------------------------------------===//
#include "TestModels.h"
#include "app/TrainLoop.h"
#include "compiler/Compiler.h"
#include "data/Synthetic.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::mtgr;

namespace {
/// Records what the loop reports, with the session's parameters and tables
/// as they were when each epoch was evaluated.
struct RecordingSink final : MetricsSink {
  explicit RecordingSink(Session &s) : session(s) {}
  void start(const Batch &, const Batch &, const Batch &,
             const std::vector<TaskMetrics> &) override {}
  void epoch(int64_t epoch, int64_t, double, double,
             const std::vector<TaskMetrics> &validation) override {
    epochs.push_back(epoch);
    losses.push_back(weightedLogLoss(session.model(), validation));
    params.push_back(session.params());
    tables.push_back(session.dynamicTables());
  }
  void test(int64_t, int64_t, const std::vector<TaskMetrics> &) override {}
  void eval(const std::vector<TaskMetrics> &) override {}
  Session &session;
  std::vector<int64_t> epochs;
  std::vector<double> losses;
  std::vector<ParamStore> params;
  std::vector<std::map<std::string, DynamicTable>> tables;
};

bool sameParams(const ParamStore &a, const ParamStore &b) {
  for (const std::string &name : a.names())
    if (a.get(name).data != b.get(name).data)
      return false;
  return true;
}
} // namespace

// Early stopping stops, and what it keeps is the best epoch's parameters and
// dynamic tables, not the last epoch's. A learning rate of 0.5 makes the
// held-out loss jump about from epoch to epoch, so the best epoch is not the
// last one and two epochs without improvement come soon.
TEST(TrainLoop, EarlyStoppingKeepsTheBestEpoch) {
  auto text = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  ASSERT_TRUE(static_cast<bool>(text));
  std::string yaml = (*text)->getBuffer().str();
  size_t lr = yaml.find("lr: 0.001");
  ASSERT_NE(lr, std::string::npos);
  yaml.replace(lr, 9, "lr: 0.5");
  auto artifact = compileArtifact(yaml, "hot.yaml");
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto created = Session::create(std::move(*artifact), 1);
  ASSERT_TRUE(static_cast<bool>(created)) << llvm::toString(created.takeError());
  Session &session = **created;
  SyntheticOptions o;
  o.users = 200, o.windows = 3, o.seed = 1;
  auto [train, heldOut] = splitLastWindow(session.model(), generateSynthetic(session.model(), o));
  Trainer trainer(session, train);
  RecordingSink sink(session);
  TrainLoopOptions options;
  options.limits.epochs = 12;
  options.earlyStopping = 2;
  std::string log;
  llvm::raw_string_ostream os(log);
  auto result = runTrainLoop(session, trainer, heldOut, options, &sink, nullptr, os);
  ASSERT_TRUE(static_cast<bool>(result)) << llvm::toString(result.takeError());
  ASSERT_TRUE(result->stoppedEarly) << log;
  EXPECT_NE(log.find("early stopping: no better held-out log loss for 2 epoch(s)"),
            std::string::npos)
      << log;
  // Stopped two epochs after the best, well before 12.
  size_t best = std::min_element(sink.losses.begin(), sink.losses.end()) - sink.losses.begin();
  EXPECT_EQ(result->bestEpoch, sink.epochs[best]);
  EXPECT_EQ(result->epochsRun, static_cast<int64_t>(best) + 3);
  EXPECT_LT(trainer.state().epoch, 12);
  ASSERT_LT(best + 1, sink.params.size()) << "the best epoch is the last one: nothing to restore";
  // The session holds the best epoch's parameters and tables, not the last's.
  EXPECT_TRUE(result->restoredBest);
  EXPECT_TRUE(sameParams(session.params(), sink.params[best]));
  EXPECT_FALSE(sameParams(session.params(), sink.params.back()));
  EXPECT_TRUE(session.dynamicTables() == sink.tables[best]);
  // And scoring with them gives the best epoch's held-out loss again.
  auto again = evaluate(session, heldOut);
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_DOUBLE_EQ(weightedLogLoss(session.model(), *again), sink.losses[best]);
}

