//===- ReferenceTest.cpp - the float64 reference and the synthetic data ---===//
#include "TestModels.h"
#include "model/ModelStats.h"
#include "data/Synthetic.h"
#include "runtime/reference/Reference.h"

#include <gtest/gtest.h>

using namespace mlir::mtgr;

namespace {
ModelDesc parseText(const std::string &y) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = parseModelDesc(y, "test.yaml", os);
  EXPECT_TRUE(m) << diag << y;
  return *m;
}

TEST(Synthetic, ValidDeterministicAndInterleaved) {
  ModelDesc m = test::loadExample("tiny.yaml");
  SyntheticOptions o;
  o.users = 20;
  Batch a = generateSynthetic(m, o), b = generateSynthetic(m, o);
  ASSERT_FALSE(validateBatch(m, a)) ;
  EXPECT_EQ(a.sequenceTimes, b.sequenceTimes);
  EXPECT_EQ(a.candidate[0].ids, b.candidate[0].ids);
  // R interleaves the candidates' times in some sample.
  bool interleaved = false;
  for (int64_t s = 0; s < a.numSamples; ++s)
    for (int64_t c = a.candidateOffsets[s]; c < a.candidateOffsets[s + 1]; ++c)
      for (int64_t r = a.realtimeOffsets[s]; r < a.realtimeOffsets[s + 1]; ++r)
        interleaved |= a.realtimeTimes[r] > a.candidateTimes[c];
  EXPECT_TRUE(interleaved);
  o.seed = 2;
  EXPECT_NE(generateSynthetic(m, o).sequenceTimes, a.sequenceTimes);
}

TEST(Reference, MultiplyAddsMatchTheFlopCounter) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    ModelDesc m = parseText(test::randomModelYaml(rng));
    SyntheticOptions o;
    o.users = 1;
    o.seed = trial;
    Batch batch = generateSynthetic(m, o);
    ASSERT_FALSE(validateBatch(m, batch));
    ParamStore p = ParamStore::initialize(collectParameters(m), 3);
    reference::Output out = reference::forward(m, p, batch);
    SampleShape s{batch.numSequence(), batch.numRealtime(), batch.numCandidates(),
                  batch.realtimeTimes, batch.candidateTimes, std::nullopt};
    if (m.mask == ModelDesc::Mask::Intervals) {
      int64_t pairs = 0;
      for (size_t i = 0; i < batch.intervals.size(); i += 2)
        pairs += batch.intervals[i + 1] - batch.intervals[i];
      s.pairs = pairs;
    }
    auto flops = countForwardFlops(m, s);
    ASSERT_TRUE(flops);
    EXPECT_EQ(2 * out.multiplyAdds, flops->total()) << test::randomModelYaml(rng);
  }
}

/// With n_norm: visible, a candidate's logit does not depend on the other
/// candidates, and one compressed sample equals K separate samples
/// [U, S, R before t_i, C_i] (DESIGN 1.6).
TEST(Reference, CompressionIsExactWithVisibleNorm) {
  ModelDesc m = test::loadExample("tiny.yaml");
  m.nNorm = ModelDesc::NNorm::Visible;
  m.rab = true;
  m.rabMaxPos = 8;
  m.rabTimeBuckets = 16;
  ParamStore p = ParamStore::initialize(collectParameters(m), 9);
  // rab tables start at zero: give them values so that they matter.
  for (const char *name : {"layers.0.rab.pos", "layers.0.rab.time", "layers.1.rab.pos",
                           "layers.1.rab.time"})
    for (size_t i = 0; i < p.get(name).data.size(); ++i)
      p.get(name).data[i] = 0.1f * static_cast<float>((i * 7) % 5) - 0.2f;
  SyntheticOptions o;
  o.users = 1;
  o.maxCandidates = 6;
  o.minCandidates = 4;
  o.maxRealtime = 12;
  Batch batch = generateSynthetic(m, o);
  ASSERT_FALSE(validateBatch(m, batch));
  reference::Output all = reference::forward(m, p, batch);
  for (int64_t c = 0; c < batch.numCandidates(); ++c) {
    // [U, S, R before t_c, C_c]
    Batch one = batch;
    int64_t keepR = 0;
    while (keepR < batch.numRealtime() && batch.realtimeTimes[keepR] < batch.candidateTimes[c])
      ++keepR;
    one.realtimeOffsets = {0, keepR};
    one.realtimeTimes.resize(keepR);
    for (auto &col : one.realtime) {
      col.ids.resize(col.ids.empty() ? 0 : keepR);
      col.values.resize(col.values.empty() ? 0 : keepR * (col.values.size() / batch.numRealtime()));
    }
    one.candidateOffsets = {0, 1};
    one.candidateTimes = {batch.candidateTimes[c]};
    for (size_t f = 0; f < one.candidate.size(); ++f) {
      auto &col = one.candidate[f];
      int64_t w = col.values.size() / batch.numCandidates();
      col.ids = col.ids.empty() ? col.ids : std::vector<int64_t>{batch.candidate[f].ids[c]};
      col.values = col.values.empty() ? col.values
                                      : std::vector<float>(batch.candidate[f].values.begin() + c * w,
                                                           batch.candidate[f].values.begin() + (c + 1) * w);
    }
    one.candidateIds = {batch.candidateIds[c]};
    one.labels.clear();
    ASSERT_FALSE(validateBatch(m, one));
    reference::Output single = reference::forward(m, p, one);
    for (size_t t = 0; t < m.tasks.size(); ++t)
      EXPECT_NEAR(single.logits[t][0], all.logits[t][c], 1e-12) << "candidate " << c;
  }
}
} // namespace
