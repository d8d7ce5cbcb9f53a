//===- ModelStats.cpp - parameters and FLOPs of a model description -------===//
#include "model/ModelStats.h"

#include <algorithm>

using namespace mtgr;

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {
struct ParamList {
  std::vector<ParamSpec> params;

  void linear(const std::string &prefix, int64_t in, int64_t out) {
    params.push_back({prefix + ".weight", {out, in}, "xavier_uniform", 0, false, false});
    params.push_back({prefix + ".bias", {out}, "zeros", 0, true, false});
  }
  void mlp(const std::string &prefix, int64_t in, const std::vector<int64_t> &hidden,
           int64_t out) {
    int64_t width = in;
    size_t i = 0;
    for (int64_t h : hidden) {
      linear(prefix + ".layers." + std::to_string(i++), width, h);
      width = h;
    }
    linear(prefix + ".layers." + std::to_string(i), width, out);
  }
  int64_t normRows = 4;
  void groupNorm(const std::string &prefix, int64_t width) {
    params.push_back({prefix + ".gamma", {normRows, width}, "ones", 0, true, false});
    params.push_back({prefix + ".beta", {normRows, width}, "zeros", 0, true, false});
  }
};
} // namespace

std::vector<ParamSpec> mtgr::collectParameters(const ModelDesc &m) {
  ParamList p;
  p.normRows = m.normGroupRows();
  for (const TableDesc &t : m.tables)
    p.params.push_back({"tables." + t.name + ".weight", {t.rows, t.dim}, "normal",
                        0.01, true, true});
  int64_t d = m.dModel;
  if (m.layers > 0) {
    for (const FeatureDesc &f : m.user)
      p.linear("user_tokenizer." + f.name, f.width, d);
    p.mlp("sequence_mlp", ModelDesc::totalWidth(m.sequence), m.sequenceMlp, d);
    if (m.realtimeOwnMlp)
      p.mlp("realtime_mlp", ModelDesc::totalWidth(m.realtime), m.realtimeMlp, d);
  }
  int64_t candIn = ModelDesc::totalWidth(m.candidateItem) +
                   ModelDesc::totalWidth(m.candidateCross) + m.contextWidth();
  p.mlp("candidate_mlp", candIn, m.candidateMlp, d);
  int64_t h = m.heads, hdv = m.heads * m.dv;
  for (int64_t l = 0; l < m.layers; ++l) {
    std::string prefix = "layers." + std::to_string(l);
    p.groupNorm(prefix + ".gln1", d);
    p.linear(prefix + ".uvqk", d, 2 * h * m.dv + 2 * h * m.dqk);
    p.groupNorm(prefix + ".gln2", hdv);
    p.linear(prefix + ".out", hdv, d);
    if (m.rab) {
      p.params.push_back({prefix + ".rab.pos", {2 * m.rabMaxPos + 1}, "zeros", 0, true, false});
      p.params.push_back({prefix + ".rab.time", {m.rabTimeBuckets}, "zeros", 0, true, false});
    }
  }
  for (const TaskDesc &t : m.tasks)
    p.mlp("heads." + t.name, d, t.hidden, 1);
  return p.params;
}

ParamCount mtgr::countParameters(const ModelDesc &m) {
  ParamCount c;
  for (const ParamSpec &p : collectParameters(m))
    (p.embedding ? c.embedding : c.dense) += p.numel();
  return c;
}

int64_t mtgr::mlpMultiplyAdds(int64_t in, const std::vector<int64_t> &hidden,
                              int64_t out) {
  int64_t total = 0, width = in;
  for (int64_t h : hidden) {
    total += width * h;
    width = h;
  }
  return total + width * out;
}

std::optional<int64_t> mtgr::countAttentionPairs(const ModelDesc &m,
                                                 const SampleShape &s) {
  if (s.pairs)
    return s.pairs;
  int64_t nU = static_cast<int64_t>(m.user.size());
  int64_t nS = s.nS, nR = s.nR, K = s.K;
  int64_t P = nU + nS + nR, N = P + K;
  if (m.mask == ModelDesc::Mask::Causal)
    return N * (N + 1) / 2;
  if (m.mask == ModelDesc::Mask::CausalTargets)
    return P * (P + 1) / 2 + K * (P + 1);
  if (m.mask == ModelDesc::Mask::Contextual) {
    int64_t sr = nS + nR;
    return nU * P + sr * nU + sr * (sr + 1) / 2 + K * (P + 1);
  }
  if (m.mask == ModelDesc::Mask::Dynamic) {
    // U and S rows: U and S. R_i: U, S and R_j with t_j <= t_i.
    // C_i: U, S, R_j with t_j < t_i, and itself.
    int64_t pairs = (nU + nS) * (nU + nS) + nR * (nU + nS) + K * (nU + nS + 1);
    bool timed = static_cast<int64_t>(s.realtimeTimes.size()) == nR &&
                 static_cast<int64_t>(s.candidateTimes.size()) == K;
    for (int64_t i = 0; i < nR; ++i)
      pairs += timed ? std::upper_bound(s.realtimeTimes.begin(), s.realtimeTimes.end(),
                                        s.realtimeTimes[i]) -
                           s.realtimeTimes.begin()
                     : i + 1;
    for (int64_t c = 0; c < K; ++c)
      pairs += timed ? std::lower_bound(s.realtimeTimes.begin(), s.realtimeTimes.end(),
                                        s.candidateTimes[c]) -
                           s.realtimeTimes.begin()
                     : nR;
    return pairs;
  }
  return std::nullopt; // intervals: the batch decides
}

std::optional<FlopCount> mtgr::countForwardFlops(const ModelDesc &m,
                                                 const SampleShape &s) {
  FlopCount f;
  int64_t d = m.dModel;
  int64_t candIn = ModelDesc::totalWidth(m.candidateItem) +
                   ModelDesc::totalWidth(m.candidateCross) + m.contextWidth();
  f.tokenizer = 2 * s.K * mlpMultiplyAdds(candIn, m.candidateMlp, d);
  for (const TaskDesc &t : m.tasks)
    f.heads += 2 * s.K * mlpMultiplyAdds(d, t.hidden, 1);
  if (m.layers == 0)
    return f;
  for (const FeatureDesc &u : m.user)
    f.tokenizer += 2 * u.width * d;
  f.tokenizer += 2 * s.nS * mlpMultiplyAdds(ModelDesc::totalWidth(m.sequence), m.sequenceMlp, d);
  f.tokenizer += 2 * s.nR * mlpMultiplyAdds(ModelDesc::totalWidth(m.realtime),
                                            m.realtimeOwnMlp ? m.realtimeMlp : m.sequenceMlp, d);
  std::optional<int64_t> pairs = countAttentionPairs(m, s);
  if (!pairs)
    return std::nullopt;
  int64_t N = static_cast<int64_t>(m.user.size()) + s.nS + s.nR + s.K;
  int64_t h = m.heads, uvqk = 2 * h * m.dv + 2 * h * m.dqk;
  f.projections = m.layers * 2 * N * (d * uvqk + h * m.dv * d);
  f.attention = m.layers * 2 * *pairs * h * (m.dqk + m.dv);
  return f;
}
