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
#include "runtime/Session.h"
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

class TrainStep : public ::testing::TestWithParam<int> {};

// Models without HSTU layers (DLRM-style): what the gradient rules cover so far.
TEST_P(TrainStep, MatchesReferenceGradients) {
  int index = GetParam();
  std::mt19937 rng(3000 + index);
  std::string yaml = std::regex_replace(test::randomModelYaml(rng, false),
                                        std::regex("layers: [0-9]+"), "layers: 0");
  auto artifact = compileArtifact(yaml, "train.yaml");
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  ASSERT_TRUE(artifact->entry("train_step")) << artifact->trainStepMissing;
  auto session = CpuSession::create(std::move(*artifact), 1);
  ASSERT_TRUE(static_cast<bool>(session));
  const ModelDesc &m = (*session)->model();
  SyntheticOptions o;
  o.users = 5, o.maxSequence = 12, o.maxRealtime = 6, o.maxCandidates = 6, o.seed = index;
  o.minCandidates = index % 3 == 0 ? 0 : 1; // K = 0 samples too
  Batch batch = generateSynthetic(m, o);
  auto compiled = (*session)->trainStep(batch);
  ASSERT_TRUE(static_cast<bool>(compiled)) << llvm::toString(compiled.takeError());
  reference::Gradients ref;
  reference::Output out = reference::forwardBackward(m, (*session)->params(), batch, {}, ref);
  EXPECT_NEAR(compiled->loss, out.loss, 1e-4 * std::max(1.0, std::fabs(out.loss)));
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
    EXPECT_LE(relativeError(c, r), 1e-3) << "table " << table;
    EXPECT_EQ(compiled->rows[table].size(), rows.size()) << "table " << table;
  }
}
INSTANTIATE_TEST_SUITE_P(Dlrm, TrainStep, ::testing::Range(0, 12));

TEST(TrainStepAvailability, HstuModelsSayWhy) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  auto artifact = compileArtifact((*buffer)->getBuffer(), "tiny.yaml");
  ASSERT_TRUE(static_cast<bool>(artifact));
  EXPECT_FALSE(artifact->entry("train_step"));
  EXPECT_NE(artifact->trainStepMissing.find("no gradient rule for"), std::string::npos)
      << artifact->trainStepMissing;
  auto session = CpuSession::create(std::move(*artifact), 1);
  ASSERT_TRUE(static_cast<bool>(session));
  SyntheticOptions o;
  auto r = (*session)->trainStep(generateSynthetic((*session)->model(), o));
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("has no train_step entry point"),
            std::string::npos);
}
} // namespace
