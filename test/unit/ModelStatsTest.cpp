//===- ModelStatsTest.cpp - parameter and FLOP counts ---------------------===//
//
// The counts are checked against hand counts (the arithmetic is written out
// below) and the attention pairs against a brute-force walk over the mask
// table of DESIGN 1.5.
//
//===----------------------------------------------------------------------===//
#include "TestModels.h"
#include "model/ModelStats.h"

#include <gtest/gtest.h>

using namespace mlir::mtgr;

namespace {
TEST(ModelStats, TinyParametersByHand) {
  ModelDesc m = test::loadExample("tiny.yaml");
  ParamCount c = countParameters(m);
  // Tables: user 64x4, item 100x8, action 4x4, cross_bucket 10x4.
  EXPECT_EQ(c.embedding, 256 + 800 + 16 + 40);
  int64_t userTok = (16 * 4 + 16) + (16 * 1 + 16);             // user_id, age
  int64_t seqMlp = (16 * 12 + 16) + (16 * 16 + 16);             // 12 -> 16 -> 16
  int64_t candMlp = (16 * 14 + 16) + (16 * 16 + 16);            // 8+2+4 -> 16 -> 16
  int64_t layer = 2 * 4 * 16 + (64 * 16 + 64) + 2 * 4 * 16 + (16 * 16 + 16);
  int64_t heads = (8 * 16 + 8) + (1 * 8 + 1) + (1 * 16 + 1);    // ctr 16->8->1, ctcvr 16->1
  EXPECT_EQ(c.dense, userTok + seqMlp + candMlp + 2 * layer + heads);
  EXPECT_EQ(c.dense, 4498);
}

TEST(ModelStats, TinyParameterNamesFollowPyTorch) {
  std::vector<ParamSpec> params = collectParameters(test::loadExample("tiny.yaml"));
  auto find = [&](const std::string &name) -> const ParamSpec * {
    for (const ParamSpec &p : params)
      if (p.name == name)
        return &p;
    return nullptr;
  };
  const ParamSpec *uvqk = find("layers.1.uvqk.weight");
  ASSERT_TRUE(uvqk);
  EXPECT_EQ(uvqk->shape, (std::vector<int64_t>{64, 16})); // [out, in]
  EXPECT_EQ(uvqk->init, "xavier_uniform");
  EXPECT_FALSE(uvqk->noDecay);
  const ParamSpec *gamma = find("layers.0.gln2.gamma");
  ASSERT_TRUE(gamma);
  EXPECT_EQ(gamma->shape, (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(gamma->init, "ones");
  EXPECT_TRUE(gamma->noDecay);
  const ParamSpec *table = find("tables.item.weight");
  ASSERT_TRUE(table);
  EXPECT_TRUE(table->embedding);
  EXPECT_EQ(table->std, 0.01);
  EXPECT_TRUE(find("heads.ctr.layers.1.bias"));
  EXPECT_TRUE(find("user_tokenizer.age.weight"));
  EXPECT_FALSE(find("realtime_mlp.layers.0.weight")); // R shares MLP_seq
}

TEST(ModelStats, TinyFlopsByHand) {
  ModelDesc m = test::loadExample("tiny.yaml");
  SampleShape s{3, 2, 2, {}, {}, std::nullopt}; // nU = 2, N = 9
  auto f = countForwardFlops(m, s);
  ASSERT_TRUE(f);
  // U: Linear 4->16 and 1->16; S, R: 12->16->16 per event; C: 14->16->16.
  EXPECT_EQ(f->tokenizer, 2 * (4 * 16 + 16) + 2 * 5 * (12 * 16 + 16 * 16) +
                              2 * 2 * (14 * 16 + 16 * 16));
  // Per layer and token: uvqk 16x64, out 16x16.
  EXPECT_EQ(f->projections, 2 * 2 * 9 * (16 * 64 + 16 * 16));
  // Dynamic mask, R before C: U,S rows 5x5; R rows 5+1, 5+2; C rows 5+2+1 each.
  int64_t pairs = 25 + (6 + 7) + 2 * 8;
  EXPECT_EQ(*countAttentionPairs(m, s), pairs);
  EXPECT_EQ(f->attention, 2 * 2 * pairs * 2 * (8 + 8)); // layers, heads, dqk + dv
  EXPECT_EQ(f->heads, 2 * 2 * ((16 * 8 + 8) + 16));
  EXPECT_EQ(f->total(), 60160);
}

/// M[i][j] of DESIGN 1.5 for one sample, straight from the table.
bool attends(const std::string &mask, char gi, int i, char gj, int j, int64_t ti, int64_t tj) {
  auto prefix = [](char g) { return g == 'U' || g == 'S'; };
  if (mask == "causal")
    return j <= i;
  if (mask == "causal_targets")
    return gi == 'C' ? (gj != 'C' || j == i) : j <= i;
  if (mask == "contextual") {
    if (gi == 'C')
      return gj != 'C' || j == i;
    if (gj == 'C')
      return false;
    if (gi == 'U')
      return true;
    return gj == 'U' || j <= i;
  }
  // dynamic
  if (prefix(gj))
    return true;
  if (prefix(gi))
    return false;
  if (gi == 'R')
    return gj == 'R' && tj <= ti;
  return gj == 'R' ? tj < ti : j == i;
}

TEST(ModelStats, AttentionPairsMatchBruteForce) {
  ModelDesc m = test::loadExample("tiny.yaml");
  std::mt19937 rng(7);
  using Mask = ModelDesc::Mask;
  for (Mask mask : {Mask::Dynamic, Mask::Causal, Mask::CausalTargets, Mask::Contextual}) {
    m.mask = mask;
    for (int trial = 0; trial < 50; ++trial) {
      int nS = rng() % 5, nR = rng() % 5, K = rng() % 4;
      bool timed = trial % 2 == 0;
      SampleShape s{nS, nR, K, {}, {}, std::nullopt};
      std::vector<char> g;
      std::vector<int64_t> t;
      for (size_t u = 0; u < m.user.size(); ++u, g.push_back('U'), t.push_back(0)) {}
      for (int i = 0; i < nS; ++i, g.push_back('S'), t.push_back(0)) {}
      // Small time range: ties and interleaving with candidates happen.
      int64_t clock = 0;
      for (int i = 0; i < nR; ++i) {
        clock += rng() % 2;
        s.realtimeTimes.push_back(clock);
      }
      for (int c = 0; c < K; ++c)
        s.candidateTimes.push_back(rng() % (clock + 2));
      for (int i = 0; i < nR; ++i) {
        g.push_back('R');
        t.push_back(timed ? s.realtimeTimes[i] : i);
      }
      for (int c = 0; c < K; ++c) {
        g.push_back('C');
        t.push_back(timed ? s.candidateTimes[c] : nR + 1);
      }
      if (!timed)
        s.realtimeTimes.clear(), s.candidateTimes.clear();
      int64_t brute = 0;
      for (size_t i = 0; i < g.size(); ++i)
        for (size_t j = 0; j < g.size(); ++j)
          brute += attends(toString(mask).str(), g[i], i, g[j], j, t[i], t[j]);
      EXPECT_EQ(*countAttentionPairs(m, s), brute)
          << toString(mask).str() << " nS=" << nS << " nR=" << nR << " K=" << K
          << " timed=" << timed;
    }
  }
}

TEST(ModelStats, IntervalsMaskNeedsPairs) {
  ModelDesc m = test::loadExample("tiny.yaml");
  m.mask = ModelDesc::Mask::Intervals;
  SampleShape s{3, 2, 2, {}, {}, std::nullopt};
  EXPECT_FALSE(countForwardFlops(m, s));
  s.pairs = 10;
  ASSERT_TRUE(countForwardFlops(m, s));
  EXPECT_EQ(countForwardFlops(m, s)->attention, 2 * 2 * 10 * 2 * 16);
}

TEST(ModelStats, DlrmBaselineHasNoLayerFlops) {
  std::string diag;
  llvm::raw_string_ostream os(diag);
  auto m = loadModelDesc(test::examplePath("dlrm-baseline.yaml"), os);
  ASSERT_TRUE(m) << diag;
  SampleShape s{1000, 100, 10, {}, {}, std::nullopt};
  auto f = countForwardFlops(*m, s);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->projections, 0);
  EXPECT_EQ(f->attention, 0);
  // Candidate MLP input: item 64+16, cross 4+2+1+8, context: user 32+16+1+4,
  // pooled S and R events 64+16+8+1 each.
  int64_t in = 80 + 15 + 53 + 2 * 89;
  EXPECT_EQ(f->tokenizer, 2 * 10 * (in * 1024 + 1024 * 512 + 512 * 512));
}
} // namespace
