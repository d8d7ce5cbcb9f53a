//===- AppTest.cpp - the application libraries (app/) ---------------------===//
//
// The training loop policy, scoring and session settings that mtgr-run and
// the coming APIs share, tested through the library rather than the tool.
//
//===----------------------------------------------------------------------===//
#include "TestModels.h"
#include "app/Scoring.h"
#include "app/TrainLoop.h"
#include "app/Verification.h"
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

namespace {
std::unique_ptr<Session> tinySession() {
  auto text = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  if (!text)
    return nullptr;
  auto artifact = compileArtifact((*text)->getBuffer(), "tiny.yaml");
  if (!artifact) {
    llvm::consumeError(artifact.takeError());
    return nullptr;
  }
  auto created = Session::create(std::move(*artifact), 1);
  if (!created) {
    llvm::consumeError(created.takeError());
    return nullptr;
  }
  return std::move(*created);
}
} // namespace

// The comparison verify runs: the compiled model agrees with the reference,
// a perturbed one does not, and a NaN result is the largest error there is
// (std::max would have dropped it).
TEST(Verification, ComparesWithTheReferenceAndCanFail) {
  std::unique_ptr<Session> session = tinySession();
  ASSERT_TRUE(session);
  SyntheticOptions o;
  o.users = 3, o.seed = 5;
  Batch batch = generateSynthetic(session->model(), o);
  ParamStore reference = session->params();
  auto same = largestErrorAgainstReference(*session, reference, batch);
  ASSERT_TRUE(static_cast<bool>(same)) << llvm::toString(same.takeError());
  EXPECT_LT(*same, 1e-4);
  perturbWeights(session->params(), 0.05);
  auto perturbed = largestErrorAgainstReference(*session, reference, batch);
  ASSERT_TRUE(static_cast<bool>(perturbed));
  EXPECT_GT(*perturbed, 1e-3);
  perturbWeights(session->params(), std::nan(""));
  auto broken = largestErrorAgainstReference(*session, reference, batch);
  ASSERT_TRUE(static_cast<bool>(broken));
  EXPECT_TRUE(std::isinf(*broken)) << *broken;
}

// --time: at least three whole passes, best <= median, reported as the JSON
// line bench/peers reads.
TEST(Scoring, TimesWholeForwardPasses) {
  std::unique_ptr<Session> session = tinySession();
  ASSERT_TRUE(session);
  SyntheticOptions o;
  o.users = 2;
  Batch batch = generateSynthetic(session->model(), o);
  auto times = timeForwardPasses(*session, batch, 0.0);
  ASSERT_TRUE(static_cast<bool>(times)) << llvm::toString(times.takeError());
  EXPECT_EQ(times->passes, 3u);
  EXPECT_GT(times->bestSeconds, 0.0);
  EXPECT_LE(times->bestSeconds, times->medianSeconds);
  PassTimes fixed{0.5, 0.75, 4};
  EXPECT_EQ(passTimesJson(fixed, 2), "{\"contender\": \"mtgr\", \"threads\": 2, \"best_s\": "
                                     "0.500000, \"median_s\": 0.750000, \"passes\": 4}");
}

TEST(TrainLoop, StepLine) {
  StepReport r{10, 1, 4, 8, 50, 900, 0.25, 2.0};
  EXPECT_EQ(stepLine(r, 500), "step 10 (epoch 2, 4/8)  250 samples/s  loss 0.2500  ETA epoch 1 s");
}
