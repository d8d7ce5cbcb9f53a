//===- TrainStepTest.cpp - compiled gradients vs the float64 reference ----===//
//
// The generated train_step (forward, loss, backward through every op's
// gradient rule) against reference::forwardBackward: relative error in norm
// <= 1e-3 for every parameter and every table's touched rows.
//
//===----------------------------------------------------------------------===//
#include "TestModels.h"
#include "codegen/Compiler.h"
#include "frontend/Synthetic.h"
#include "runtime/Metrics.h"
#include "runtime/Session.h"
#include "runtime/Trainer.h"

#include "llvm/Support/FileSystem.h"
#include "runtime/reference/Reference.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

using namespace mlir::mtgr;

namespace {
double relativeError(const std::vector<float> &c, const std::vector<double> &r) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    diff += (c[i] - r[i]) * (c[i] - r[i]);
    norm += r[i] * r[i];
  }
  return std::sqrt(diff) / std::max(1e-12, std::sqrt(norm));
}

/// Compiled train_step vs reference::forwardBackward on one batch.
void expectGradientsMatch(CpuSession &session, const Batch &batch, uint64_t seed, int64_t step,
                          const std::string &yaml) {
  const ModelDesc &m = session.model();
  auto compiled = session.trainStep(batch, seed, step);
  ASSERT_TRUE(static_cast<bool>(compiled)) << llvm::toString(compiled.takeError());
  reference::Gradients ref;
  reference::Output out = reference::forwardBackward(
      m, session.params(), batch, {true, seed, step}, ref, &session.dynamicTables());
  EXPECT_NEAR(compiled->loss, out.loss, 1e-4 * std::max(1.0, std::fabs(out.loss))) << yaml;
  for (auto &[name, grad] : ref.dense) {
    ASSERT_TRUE(compiled->dense.count(name)) << name;
    EXPECT_LE(relativeError(compiled->dense[name], grad), 1e-3) << name << "\n" << yaml;
  }
  for (auto &[table, rows] : ref.rows) {
    std::vector<float> c;
    std::vector<double> r;
    for (auto &[row, grad] : rows) {
      ASSERT_TRUE(compiled->rows[table].count(row)) << table << " row " << row;
      const std::vector<float> &cg = compiled->rows[table][row];
      c.insert(c.end(), cg.begin(), cg.end());
      r.insert(r.end(), grad.begin(), grad.end());
    }
    EXPECT_LE(relativeError(c, r), 1e-3) << "table " << table << "\n" << yaml;
    EXPECT_EQ(compiled->rows[table].size(), rows.size()) << "table " << table;
  }
}

/// A session of `yaml` compiled with its train_step.
std::unique_ptr<CpuSession> trainableSession(const std::string &yaml) {
  auto artifact = compileArtifact(yaml, "train.yaml");
  if (!artifact) {
    ADD_FAILURE() << llvm::toString(artifact.takeError());
    return nullptr;
  }
  if (!artifact->entry("train_step")) {
    ADD_FAILURE() << "no train_step: " << artifact->trainStepMissing;
    return nullptr;
  }
  auto session = CpuSession::create(std::move(*artifact), 1);
  if (!session) {
    ADD_FAILURE() << llvm::toString(session.takeError());
    return nullptr;
  }
  return std::move(*session);
}

class TrainStep : public ::testing::TestWithParam<int> {};

// Models without HSTU layers (DLRM-style), K = 0 samples included.
TEST_P(TrainStep, MatchesReferenceGradients) {
  int index = GetParam();
  std::mt19937 rng(3000 + index);
  std::string yaml = std::regex_replace(test::randomModelYaml(rng, false),
                                        std::regex("layers: [0-9]+"), "layers: 0");
  auto session = trainableSession(yaml);
  ASSERT_TRUE(session);
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 5, o.maxSequence = 12, o.maxRealtime = 6, o.maxCandidates = 6, o.seed = index;
  o.minCandidates = index % 3 == 0 ? 0 : 1; // K = 0 samples too
  Batch batch = generateSynthetic(m, o);
  expectGradientsMatch(*session, batch, 0, 0, yaml);
}
INSTANTIATE_TEST_SUITE_P(Dlrm, TrainStep, ::testing::Range(0, 12));

// Every configuration: HSTU layers, masks, n_norm modes, norm orders, rab,
// dropout (the same stream in both), dqk != dv, DLRM-style context.
class TrainStepHstu : public ::testing::TestWithParam<int> {};

TEST_P(TrainStepHstu, MatchesReferenceGradients) {
  int index = GetParam();
  std::mt19937 rng(4000 + index);
  // Every other configuration uses a dynamic table (ids admitted first).
  std::string yaml = test::randomModelYaml(rng, /*dynamicTables=*/index % 2 == 0);
  auto session = trainableSession(yaml);
  ASSERT_TRUE(session);
  const ModelDesc &m = session->model();
  test::randomizeParams(session->params(), index); // rab and GLN too
  SyntheticOptions o;
  o.users = 3, o.maxSequence = 10, o.maxRealtime = 6, o.maxCandidates = 4, o.seed = index;
  Batch batch = generateSynthetic(m, o);
  uint64_t seed = 99;
  int64_t step = index;
  Trainer(*session, batch).admitIds(batch);
  expectGradientsMatch(*session, batch, seed, step, yaml);
}
INSTANTIATE_TEST_SUITE_P(Random, TrainStepHstu, ::testing::Range(0, 30));


std::unique_ptr<CpuSession> tinySession() {
  static std::optional<Artifact> compiled; // compile once per test process
  if (!compiled) {
    auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
    auto artifact = compileArtifact((*buffer)->getBuffer(), "tiny.yaml");
    EXPECT_TRUE(static_cast<bool>(artifact));
    compiled = std::move(*artifact);
  }
  auto session = CpuSession::create(*compiled, 1);
  EXPECT_TRUE(static_cast<bool>(session));
  return std::move(*session);
}

// The planted signal is learned: held-out AUC (each user's last window).
TEST(Training, TinyLearnsThePlantedSignal) {
  auto session = tinySession();
  const ModelDesc &m = session->model();
  SyntheticOptions o;
  o.users = 300, o.windows = 4, o.seed = 5;
  auto [data, heldOut] = splitLastWindow(m, generateSynthetic(m, o));
  Trainer trainer(*session, data);
  TrainLimits limits;
  limits.epochs = 3, limits.tokenBudget = 4096;
  double firstLoss = -1, lastLoss = 0;
  ASSERT_FALSE(trainer.run(limits, [&](const StepReport &r) {
    if (firstLoss < 0)
      firstLoss = r.loss;
    lastLoss = r.loss;
  }));
  EXPECT_LT(lastLoss, firstLoss);
  auto scores = session->forward(heldOut);
  ASSERT_TRUE(static_cast<bool>(scores));
  std::vector<double> ctr(scores->logits[0].begin(), scores->logits[0].end());
  auto a = auc(ctr, heldOut.labels[0]);
  ASSERT_TRUE(a);
  EXPECT_GE(*a, 0.60);
  std::printf("tiny, 3 epochs: held-out ctr AUC %.4f\n", *a);
}

// A dynamic table with admission and eviction: training runs, rows are
// admitted and evicted, unknown ids read the OOV row at inference, and resume
// is still bit-identical (the tables are in the checkpoint).
TEST(Training, DynamicTableTrainsEvictsAndResumes) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  std::string yaml = (*buffer)->getBuffer().str();
  yaml.replace(yaml.find("{name: user, kind: hashed, rows: 64, dim: 4}"), 44,
               "{name: user, kind: dynamic, capacity: 8, dim: 4, admission_threshold: 2, eviction: lru}");
  auto artifact = compileArtifact(yaml, "dyn.yaml");
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto makeSession = [&] { return std::move(*CpuSession::create(*artifact, 1)); };
  auto a = makeSession();
  const ModelDesc &m = a->model();
  SyntheticOptions o;
  o.users = 40, o.windows = 3, o.seed = 12;
  Batch data = generateSynthetic(m, o);
  TrainLimits all;
  all.epochs = 2, all.tokenBudget = 512;
  Trainer ta(*a, data);
  ASSERT_FALSE(ta.run(all, [](const StepReport &) {}));
  DynamicTable &table = a->dynamicTables().at("user");
  EXPECT_EQ(table.size(), 7); // full: capacity 8 minus the OOV row
  EXPECT_EQ(table.lookup(123456789), DynamicTable::kOovRow);
  auto scores = a->forward(data);
  ASSERT_TRUE(static_cast<bool>(scores));

  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mtgr-dyn", dir));
  std::string ckpt = (dir + "/run.ckpt").str();
  auto b = makeSession();
  Trainer tb(*b, data);
  TrainLimits half = all;
  half.steps = ta.state().step / 2, half.checkpoint = ckpt;
  ASSERT_FALSE(tb.run(half, [](const StepReport &) {}));
  auto c = makeSession();
  Trainer tc(*c, data);
  ASSERT_FALSE(tc.resume(ckpt));
  ASSERT_FALSE(tc.run(all, [](const StepReport &) {}));
  EXPECT_EQ(serializeCheckpoint(tc.snapshot()), serializeCheckpoint(ta.snapshot()));
  llvm::sys::fs::remove_directories(dir);
}

// Stopping, checkpointing and resuming gives the same bits as running through.
TEST(Training, ResumeIsBitIdentical) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mtgr-resume", dir));
  std::string ckpt = (dir + "/run.ckpt").str();
  auto straight = tinySession();
  const ModelDesc &m = straight->model();
  SyntheticOptions o;
  o.users = 60, o.windows = 3, o.seed = 8;
  Batch data = generateSynthetic(m, o);
  TrainLimits all;
  all.epochs = 3, all.tokenBudget = 1024, all.steps = 14;
  Trainer a(*straight, data);
  ASSERT_FALSE(a.run(all, [](const StepReport &) {}));
  ASSERT_EQ(a.state().step, 14);

  auto first = tinySession();
  Trainer b(*first, data);
  TrainLimits half = all;
  half.steps = 6, half.checkpoint = ckpt;
  ASSERT_FALSE(b.run(half, [](const StepReport &) {}));
  auto second = tinySession(); // a new process, as it were
  Trainer c(*second, data);
  ASSERT_FALSE(c.resume(ckpt));
  EXPECT_EQ(c.state().step, 6);
  ASSERT_FALSE(c.run(all, [](const StepReport &) {}));
  EXPECT_EQ(serializeCheckpoint(c.snapshot()), serializeCheckpoint(a.snapshot()));
  llvm::sys::fs::remove_directories(dir);
}
} // namespace
