//===- Reference.cpp - the float64 reference: forward, loss, backward -----===//
//
// One sample at a time: the forward pass keeps what the backward pass needs,
// then (when gradients are asked for) the backward pass runs over the same
// sample in reverse. Samples are independent, and the loss is normalised by
// the fixed C_expected, so per-sample backward passes simply add up.
//
//===----------------------------------------------------------------------===//
#include "runtime/reference/Reference.h"
#include "runtime/reference/Ops.h"

#include <algorithm>
#include <cmath>

using namespace mtgr;
using namespace mtgr::reference;

bool mtgr::reference::dropoutKeeps(uint64_t seed, int64_t step, int64_t layer,
                                         int64_t token, int64_t column, double rate) {
  auto mix = [](uint64_t x) { // splitmix64
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(seed);
  for (uint64_t k : {static_cast<uint64_t>(step), static_cast<uint64_t>(layer),
                     static_cast<uint64_t>(token), static_cast<uint64_t>(column)})
    h = mix(h ^ k);
  return (h >> 11) * 0x1.0p-53 >= rate;
}

namespace {
enum Group { U = 0, S = 1, R = 2, C = 3 };

struct MlpCache {
  std::vector<Vec> ins, pre; // input and pre-activation of every layer
};

struct LayerCache {
  std::vector<Vec> Xn, pre, Uo, gated, Y, Yd;
  std::vector<NormCache> n1, n2;
  std::vector<std::vector<char>> keep; // dropout decisions per row
  AttentionProblem att;
  std::vector<Vec> O;
};

/// One sample's token layout (DESIGN 1.1, 1.3).
struct Sample {
  int64_t nU, nS, nR, K, firstToken;
  std::vector<Group> group;
  std::vector<int64_t> time, pos;
  const int32_t *intervals = nullptr;
  int64_t n() const { return nU + nS + nR + K; }
};

class Ref {
public:
  Ref(const ModelDesc &m, const ParamStore &p, const TrainOptions &o, Gradients *g,
      const DynamicTables *dynamic)
      : m(m), p(p), o(o), g(g), dynamic(dynamic) {}
  Output run(const Batch &batch);

private:
  const ModelDesc &m;
  const ParamStore &p;
  TrainOptions o;
  Gradients *g;
  const DynamicTables *dynamic;
  int64_t macs = 0;
  int64_t visiblePairs = 0; // (row, column) pairs the mask lets attend, per sample
  std::map<std::string, Vec> values; // parameters as doubles

  const Vec &P(const std::string &name) {
    auto it = values.find(name);
    if (it == values.end()) {
      const std::vector<float> &f = p.get(name).data;
      it = values.emplace(name, Vec(f.begin(), f.end())).first;
    }
    return it->second;
  }
  Vec &G(const std::string &name) {
    Vec &v = g->dense[name];
    if (v.empty())
      v.assign(p.get(name).data.size(), 0.0);
    return v;
  }

  Vec lin(const std::string &prefix, const Vec &x) {
    int64_t out = p.get(prefix + ".weight").shape[0];
    macs += out * static_cast<int64_t>(x.size());
    return linear(P(prefix + ".weight"), P(prefix + ".bias"), out, x);
  }
  Vec linBack(const std::string &prefix, const Vec &x, const Vec &dy) {
    int64_t out = p.get(prefix + ".weight").shape[0];
    return linearBackward(P(prefix + ".weight"), out, x, dy, G(prefix + ".weight"),
                          G(prefix + ".bias"));
  }
  std::string layerName(const std::string &prefix, size_t l) {
    return prefix + ".layers." + std::to_string(l);
  }
  Vec mlp(const std::string &prefix, size_t hidden, Vec x, MlpCache &c) {
    for (size_t l = 0; l <= hidden; ++l) {
      c.ins.push_back(x);
      Vec pre = lin(layerName(prefix, l), x);
      c.pre.push_back(pre);
      x = pre;
      if (l < hidden)
        for (double &v : x)
          v = silu(v);
    }
    return x;
  }
  Vec mlpBack(const std::string &prefix, size_t hidden, const MlpCache &c, Vec d) {
    for (size_t l = hidden + 1; l-- > 0;) {
      if (l < hidden)
        for (size_t k = 0; k < d.size(); ++k)
          d[k] *= siluGrad(c.pre[l][k]);
      d = linBack(layerName(prefix, l), c.ins[l], d);
    }
    return d;
  }

  /// Embedding row (fixed: the id; hashed: splitmix64(id) mod rows).
  int64_t rowOf(const TableDesc &t, int64_t id) {
    if (t.kind == TableDesc::Kind::Dynamic)
      return dynamic ? dynamic->at(t.name).lookup(id) : DynamicTable::kOovRow;
    uint64_t row = static_cast<uint64_t>(id);
    if (t.kind == TableDesc::Kind::Hashed) {
      uint64_t z = row + 0x9e3779b97f4a7c15ULL;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      row = (z ^ (z >> 31)) % static_cast<uint64_t>(t.rows);
    }
    return static_cast<int64_t>(row);
  }
  /// Concatenated inputs of row r of a group: embedding rows, dense values.
  Vec features(const std::vector<FeatureDesc> &schema, const std::vector<FeatureColumn> &cols,
               int64_t r) {
    Vec x;
    for (size_t f = 0; f < schema.size(); ++f) {
      const FeatureDesc &d = schema[f];
      if (d.isCategorical()) {
        const TableDesc *t = m.findTable(d.table);
        const Vec &table = P("tables." + t->name + ".weight");
        int64_t row = rowOf(*t, cols[f].ids[r]);
        x.insert(x.end(), table.begin() + row * t->dim, table.begin() + (row + 1) * t->dim);
      } else {
        for (int64_t k = 0; k < d.denseDim; ++k)
          x.push_back(cols[f].values[r * d.denseDim + k]);
      }
    }
    return x;
  }
  /// Sends the gradient of features(...) to the embedding rows (dense
  /// inputs have no parameters).
  void featuresBack(const std::vector<FeatureDesc> &schema,
                    const std::vector<FeatureColumn> &cols, int64_t r, const Vec &d,
                    size_t offset = 0) {
    for (size_t f = 0; f < schema.size(); ++f) {
      const FeatureDesc &desc = schema[f];
      if (desc.isCategorical()) {
        const TableDesc *t = m.findTable(desc.table);
        Vec &row = g->rows[t->name][rowOf(*t, cols[f].ids[r])];
        if (row.empty())
          row.assign(t->dim, 0.0);
        for (int64_t k = 0; k < t->dim; ++k)
          row[k] += d[offset + k];
      }
      offset += desc.width;
    }
  }

  bool attends(const Sample &s, int64_t i, int64_t j) const;
  double bucketOf(int64_t dt) const {
    return std::min<double>(m.rabTimeBuckets - 1,
                            std::floor(std::log(static_cast<double>(std::max<int64_t>(1, dt))) /
                                       0.301));
  }
  void layerForward(int64_t l, const Sample &s, std::vector<Vec> &X, LayerCache &c);
  void layerBackward(int64_t l, const Sample &s, const LayerCache &c, std::vector<Vec> &dX);
};

bool Ref::attends(const Sample &s, int64_t i, int64_t j) const {
  Group gi = s.group[i], gj = s.group[j];
  ModelDesc::Mask mask = m.mask;
  if (mask == ModelDesc::Mask::Intervals) {
    for (int k = 0; k < 3; ++k)
      if (j >= s.intervals[i * 6 + 2 * k] && j < s.intervals[i * 6 + 2 * k + 1])
        return true;
    return false;
  }
  if (mask == ModelDesc::Mask::Causal)
    return j <= i;
  if (mask == ModelDesc::Mask::CausalTargets)
    return gi == C ? (gj != C || j == i) : j <= i;
  if (mask == ModelDesc::Mask::Contextual) {
    if (gi == C)
      return gj != C || j == i;
    if (gj == C)
      return false;
    if (gi == U)
      return true;
    return gj == U || j <= i;
  }
  // dynamic
  if (gj == U || gj == S)
    return true;
  if (gi == U || gi == S)
    return false;
  if (gi == R)
    return gj == R && s.time[j] <= s.time[i];
  return gj == R ? s.time[j] < s.time[i] : j == i;
}

void Ref::layerForward(int64_t l, const Sample &s, std::vector<Vec> &X, LayerCache &c) {
  std::string prefix = "layers." + std::to_string(l);
  int64_t n = s.n(), h = m.heads, dqk = m.dqk, dv = m.dv, d = m.dModel, hdv = h * dv;
  const Vec &g1 = P(prefix + ".gln1.gamma"), &b1 = P(prefix + ".gln1.beta");
  const Vec &g2 = P(prefix + ".gln2.gamma"), &b2 = P(prefix + ".gln2.beta");
  // DESIGN 1.4: the token's group picks gamma and beta; norm_groups: shared
  // has one row for every token.
  auto normGroup = [&](int64_t i) -> int64_t {
    return m.normGroups == ModelDesc::NormGroups::Shared ? 0 : s.group[i];
  };
  AttentionProblem &a = c.att;
  a.n = n, a.heads = h, a.dqk = dqk, a.dv = dv, a.alpha = m.alpha;
  c.n1.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    c.Xn.push_back(layerNorm(X[i], &g1[normGroup(i) * d], &b1[normGroup(i) * d], c.n1[i]));
    Vec pre = lin(prefix + ".uvqk", c.Xn[i]);
    c.pre.push_back(pre);
    for (double &v : pre)
      v = silu(v);
    c.Uo.emplace_back(pre.begin(), pre.begin() + hdv);
    a.V.emplace_back(pre.begin() + hdv, pre.begin() + 2 * hdv);
    a.Q.emplace_back(pre.begin() + 2 * hdv, pre.begin() + 2 * hdv + h * dqk);
    a.K.emplace_back(pre.begin() + 2 * hdv + h * dqk, pre.end());
  }
  a.mask.assign(n, std::vector<char>(n, 0));
  a.bias.assign(n, Vec(n, 0.0));
  a.norm.assign(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      a.mask[i][j] = attends(s, i, j);
    a.norm[i] = m.nNorm == ModelDesc::NNorm::Total ? static_cast<double>(n)
                : m.nNorm == ModelDesc::NNorm::Visible
                    ? std::count(a.mask[i].begin(), a.mask[i].end(), 1)
                    : m.nNormConstant;
    if (!m.rab)
      continue;
    const Vec &Pt = P(prefix + ".rab.pos"), &Tt = P(prefix + ".rab.time");
    for (int64_t j = 0; j < n; ++j) {
      int64_t dpos = std::clamp(s.pos[j] - s.pos[i], -m.rabMaxPos, m.rabMaxPos);
      a.bias[i][j] = Pt[dpos + m.rabMaxPos];
      if (s.group[i] != U && s.group[j] != U) // no T term for U tokens
        a.bias[i][j] += Tt[static_cast<int64_t>(bucketOf(std::llabs(s.time[i] - s.time[j])))];
    }
  }
  c.O = attention(a, &macs);
  c.n2.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    Vec y;
    const double *gamma = &g2[normGroup(i) * hdv], *beta = &b2[normGroup(i) * hdv];
    if (m.normOrder == ModelDesc::NormOrder::GateThenNorm) {
      Vec z = c.O[i];
      for (int64_t k = 0; k < hdv; ++k)
        z[k] *= c.Uo[i][k];
      c.gated.push_back(z);
      y = layerNorm(z, gamma, beta, c.n2[i]);
    } else {
      Vec nrm = layerNorm(c.O[i], gamma, beta, c.n2[i]);
      c.gated.push_back(nrm);
      y = nrm;
      for (int64_t k = 0; k < hdv; ++k)
        y[k] *= c.Uo[i][k];
    }
    c.Y.push_back(y);
    std::vector<char> keep(hdv, 1);
    if (o.training && m.dropout > 0)
      for (int64_t k = 0; k < hdv; ++k) {
        keep[k] = dropoutKeeps(o.seed, o.step, l, s.firstToken + i, k, m.dropout);
        y[k] = keep[k] ? y[k] / (1.0 - m.dropout) : 0.0;
      }
    c.keep.push_back(keep);
    c.Yd.push_back(y);
    Vec out = lin(prefix + ".out", y);
    for (int64_t k = 0; k < d; ++k)
      X[i][k] += out[k]; // U, V, Q, K of every row were computed above
  }
}

void Ref::layerBackward(int64_t l, const Sample &s, const LayerCache &c, std::vector<Vec> &dX) {
  std::string prefix = "layers." + std::to_string(l);
  int64_t n = s.n(), h = m.heads, dv = m.dv, d = m.dModel, hdv = h * dv;
  const Vec &g1 = P(prefix + ".gln1.gamma"), &g2 = P(prefix + ".gln2.gamma");
  Vec &dg1 = G(prefix + ".gln1.gamma"), &db1 = G(prefix + ".gln1.beta");
  Vec &dg2 = G(prefix + ".gln2.gamma"), &db2 = G(prefix + ".gln2.beta");
  auto normGroup = [&](int64_t i) -> int64_t {
    return m.normGroups == ModelDesc::NormGroups::Shared ? 0 : s.group[i];
  };
  std::vector<Vec> dO(n), dU(n);
  for (int64_t i = 0; i < n; ++i) { // residual: dX passes through unchanged
    Vec dy = linBack(prefix + ".out", c.Yd[i], dX[i]);
    for (int64_t k = 0; k < hdv; ++k)
      dy[k] = c.keep[i][k] ? dy[k] / (m.dropout > 0 && o.training ? 1.0 - m.dropout : 1.0) : 0.0;
    int64_t gi = normGroup(i);
    dU[i].assign(hdv, 0.0);
    if (m.normOrder == ModelDesc::NormOrder::GateThenNorm) {
      Vec dz = layerNormBackward(dy, &g2[gi * hdv], c.n2[i], &dg2[gi * hdv], &db2[gi * hdv]);
      dO[i].assign(hdv, 0.0);
      for (int64_t k = 0; k < hdv; ++k) {
        dO[i][k] = dz[k] * c.Uo[i][k];
        dU[i][k] = dz[k] * c.O[i][k];
      }
    } else {
      Vec dnrm(hdv);
      for (int64_t k = 0; k < hdv; ++k) {
        dU[i][k] = dy[k] * c.gated[i][k];
        dnrm[k] = dy[k] * c.Uo[i][k];
      }
      dO[i] = layerNormBackward(dnrm, &g2[gi * hdv], c.n2[i], &dg2[gi * hdv], &db2[gi * hdv]);
    }
  }
  std::vector<Vec> dQ, dK, dV, dBias;
  attentionBackward(c.att, dO, dQ, dK, dV, dBias);
  if (m.rab) {
    Vec &dP = G(prefix + ".rab.pos"), &dT = G(prefix + ".rab.time");
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        if (!c.att.mask[i][j])
          continue;
        dP[std::clamp(s.pos[j] - s.pos[i], -m.rabMaxPos, m.rabMaxPos) + m.rabMaxPos] +=
            dBias[i][j];
        if (s.group[i] != U && s.group[j] != U)
          dT[static_cast<int64_t>(bucketOf(std::llabs(s.time[i] - s.time[j])))] += dBias[i][j];
      }
  }
  for (int64_t i = 0; i < n; ++i) {
    Vec dpre;
    for (const Vec *part : {&dU[i], &dV[i], &dQ[i], &dK[i]})
      dpre.insert(dpre.end(), part->begin(), part->end());
    for (size_t k = 0; k < dpre.size(); ++k)
      dpre[k] *= siluGrad(c.pre[i][k]);
    Vec dXn = linBack(prefix + ".uvqk", c.Xn[i], dpre);
    int64_t gi = normGroup(i);
    Vec dx = layerNormBackward(dXn, &g1[gi * d], c.n1[i], &dg1[gi * d], &db1[gi * d]);
    for (int64_t k = 0; k < d; ++k)
      dX[i][k] += dx[k];
  }
}

Output Ref::run(const Batch &batch) {
  Output out;
  out.logits.assign(m.tasks.size(), {});
  int64_t nU = static_cast<int64_t>(m.user.size());
  std::vector<FeatureDesc> candSchema = m.candidateItem;
  candSchema.insert(candSchema.end(), m.candidateCross.begin(), m.candidateCross.end());
  std::vector<int64_t> tokenOffsets = batch.tokenOffsets(m);
  bool labelled = !batch.labels.empty();
  double cExpected = static_cast<double>(m.training.candidatesPerStep);
  for (int64_t b = 0; b < batch.numSamples; ++b) {
    int64_t s0 = batch.sequenceOffsets[b], s1 = batch.sequenceOffsets[b + 1];
    int64_t r0 = batch.realtimeOffsets[b], r1 = batch.realtimeOffsets[b + 1];
    int64_t c0 = batch.candidateOffsets[b], c1 = batch.candidateOffsets[b + 1];
    int64_t K = c1 - c0;
    // --- forward ---------------------------------------------------------
    Vec context; // DLRM-style: U inputs, mean-pooled S and R event inputs
    if (m.candidateContext) {
      context = features(m.user, batch.user, b);
      for (auto [schema, cols, lo, hi] : {std::tuple{&m.sequence, &batch.sequence, s0, s1},
                                          std::tuple{&m.realtime, &batch.realtime, r0, r1}}) {
        Vec mean(ModelDesc::totalWidth(*schema), 0.0);
        for (int64_t r = lo; r < hi; ++r) {
          Vec x = features(*schema, *cols, r);
          for (size_t k = 0; k < x.size(); ++k)
            mean[k] += x[k];
        }
        for (double &v : mean)
          v = hi > lo ? v / (hi - lo) : 0.0; // an empty history pools to zeros
        context.insert(context.end(), mean.begin(), mean.end());
      }
    }
    std::vector<MlpCache> candCache(K);
    std::vector<Vec> cand;
    for (int64_t c = c0; c < c1; ++c) {
      Vec x = features(candSchema, batch.candidate, c);
      x.insert(x.end(), context.begin(), context.end());
      cand.push_back(mlp("candidate_mlp", m.candidateMlp.size(), x, candCache[c - c0]));
    }
    Sample s{nU, s1 - s0, r1 - r0, K, tokenOffsets[b], {}, {}, {}, nullptr};
    std::vector<Vec> X, userInputs;
    std::vector<MlpCache> eventCache;
    std::vector<LayerCache> layers(m.layers);
    const std::string rtMlp = m.realtimeOwnMlp ? "realtime_mlp" : "sequence_mlp";
    const size_t rtHidden = m.realtimeOwnMlp ? m.realtimeMlp.size() : m.sequenceMlp.size();
    if (m.layers > 0) {
      for (int64_t f = 0; f < nU; ++f) {
        userInputs.push_back(features({m.user[f]}, {batch.user[f]}, b));
        X.push_back(lin("user_tokenizer." + m.user[f].name, userInputs.back()));
        s.group.push_back(U);
        s.time.push_back(0);
      }
      eventCache.resize((s1 - s0) + (r1 - r0));
      for (int64_t r = s0; r < s1; ++r) {
        X.push_back(mlp("sequence_mlp", m.sequenceMlp.size(),
                        features(m.sequence, batch.sequence, r), eventCache[r - s0]));
        s.group.push_back(S);
        s.time.push_back(batch.sequenceTimes[r]);
      }
      for (int64_t r = r0; r < r1; ++r) {
        X.push_back(mlp(rtMlp, rtHidden, features(m.realtime, batch.realtime, r),
                        eventCache[(s1 - s0) + r - r0]));
        s.group.push_back(R);
        s.time.push_back(batch.realtimeTimes[r]);
      }
      for (int64_t c = 0; c < K; ++c) {
        X.push_back(cand[c]);
        s.group.push_back(C);
        s.time.push_back(batch.candidateTimes[c0 + c]);
      }
      for (int64_t i = 0; i < s.n(); ++i) {
        if (s.group[i] != C) {
          s.pos.push_back(i);
          continue;
        }
        int64_t before = 0; // R events strictly before the candidate
        for (int64_t r = r0; r < r1; ++r)
          before += batch.realtimeTimes[r] < s.time[i];
        s.pos.push_back(nU + s.nS + before);
      }
      if (m.mask == ModelDesc::Mask::Intervals)
        s.intervals = batch.intervals.data() + tokenOffsets[b] * 6;
      for (int64_t l = 0; l < m.layers; ++l)
        layerForward(l, s, X, layers[l]);
      if (m.layers > 0) // every layer reads the same mask: count it once
        for (const auto &row : layers[0].att.mask)
          visiblePairs += std::count(row.begin(), row.end(), 1);
      for (const Vec &x : X)
        out.hidden.insert(out.hidden.end(), x.begin(), x.end());
      for (int64_t c = 0; c < K; ++c)
        cand[c] = X[nU + s.nS + s.nR + c];
    }
    std::vector<std::vector<MlpCache>> headCache(m.tasks.size(), std::vector<MlpCache>(K));
    std::vector<Vec> dCand(K, Vec(m.dModel, 0.0));
    for (size_t t = 0; t < m.tasks.size(); ++t)
      for (int64_t c = 0; c < K; ++c) {
        const std::string head = "heads." + m.tasks[t].name;
        double logit = mlp(head, m.tasks[t].hidden.size(), cand[c], headCache[t][c])[0];
        out.logits[t].push_back(logit);
        if (!labelled)
          continue;
        double y = batch.labels[t][c0 + c], w = m.tasks[t].weight;
        out.loss += w * bceWithLogits(logit, y) / cExpected;
        if (!g)
          continue;
        Vec dx = mlpBack(head, m.tasks[t].hidden.size(), headCache[t][c],
                         {w * bceWithLogitsGrad(logit, y) / cExpected});
        for (int64_t k = 0; k < m.dModel; ++k)
          dCand[c][k] += dx[k];
      }
    if (!g)
      continue;
    // --- backward --------------------------------------------------------
    if (m.layers > 0) {
      std::vector<Vec> dX(s.n(), Vec(m.dModel, 0.0));
      for (int64_t c = 0; c < K; ++c)
        dX[nU + s.nS + s.nR + c] = dCand[c];
      for (int64_t l = m.layers; l-- > 0;)
        layerBackward(l, s, layers[l], dX);
      for (int64_t f = 0; f < nU; ++f) {
        Vec dx = linBack("user_tokenizer." + m.user[f].name, userInputs[f], dX[f]);
        featuresBack({m.user[f]}, {batch.user[f]}, b, dx);
      }
      for (int64_t r = s0; r < s1; ++r)
        featuresBack(m.sequence, batch.sequence, r,
                     mlpBack("sequence_mlp", m.sequenceMlp.size(), eventCache[r - s0],
                             dX[nU + r - s0]));
      for (int64_t r = r0; r < r1; ++r)
        featuresBack(m.realtime, batch.realtime, r,
                     mlpBack(rtMlp, rtHidden, eventCache[(s1 - s0) + r - r0],
                             dX[nU + s.nS + r - r0]));
      for (int64_t c = 0; c < K; ++c)
        dCand[c] = dX[nU + s.nS + s.nR + c];
    }
    int64_t itemWidth = ModelDesc::totalWidth(candSchema);
    Vec dContext(context.size(), 0.0);
    for (int64_t c = 0; c < K; ++c) {
      Vec dx = mlpBack("candidate_mlp", m.candidateMlp.size(), candCache[c], dCand[c]);
      featuresBack(candSchema, batch.candidate, c0 + c, dx);
      for (size_t k = 0; k < dContext.size(); ++k)
        dContext[k] += dx[itemWidth + k];
    }
    if (m.candidateContext) {
      featuresBack(m.user, batch.user, b, dContext);
      size_t offset = ModelDesc::totalWidth(m.user);
      for (auto [schema, cols, lo, hi] : {std::tuple{&m.sequence, &batch.sequence, s0, s1},
                                          std::tuple{&m.realtime, &batch.realtime, r0, r1}}) {
        Vec dmean(dContext.begin() + offset,
                  dContext.begin() + offset + ModelDesc::totalWidth(*schema));
        for (double &v : dmean)
          v /= std::max<int64_t>(1, hi - lo);
        for (int64_t r = lo; r < hi; ++r)
          featuresBack(*schema, *cols, r, dmean);
        offset += ModelDesc::totalWidth(*schema);
      }
    }
  }
  out.multiplyAdds = macs;
  out.visiblePairs = visiblePairs;
  return out;
}
} // namespace

Output mtgr::reference::forward(const ModelDesc &m, const ParamStore &params,
                                      const Batch &batch, const DynamicTables *dynamic) {
  return Ref(m, params, TrainOptions{}, nullptr, dynamic).run(batch);
}

Output mtgr::reference::forwardBackward(const ModelDesc &m, const ParamStore &params,
                                              const Batch &batch, const TrainOptions &options,
                                              Gradients &gradients,
                                              const DynamicTables *dynamic) {
  gradients = Gradients();
  for (const std::string &name : params.names())
    if (!llvm::StringRef(name).starts_with("tables."))
      gradients.dense[name].assign(params.get(name).data.size(), 0.0);
  return Ref(m, params, options, &gradients, dynamic).run(batch);
}
