//===- Reference.cpp - the float64 reference forward pass -----------------===//
#include "runtime/reference/Reference.h"

#include <algorithm>
#include <cmath>

using namespace mlir::mtgr;
using namespace mlir::mtgr::reference;

namespace {
using Vec = std::vector<double>;

enum Group { U = 0, S = 1, R = 2, C = 3 };

double silu(double x) { return x / (1.0 + std::exp(-x)); }

struct Ref {
  const ModelDesc &m;
  const ParamStore &p;
  const Batch &batch;
  int64_t macs = 0;

  const std::vector<float> &w(const std::string &name) const { return p.get(name).data; }

  /// y = W x + b for W [out, in] (PyTorch layout).
  Vec linear(const std::string &prefix, const Vec &x) {
    const Tensor &W = p.get(prefix + ".weight");
    const std::vector<float> &b = w(prefix + ".bias");
    int64_t out = W.shape[0], in = W.shape[1];
    Vec y(out);
    for (int64_t o = 0; o < out; ++o) {
      double acc = b[o];
      for (int64_t i = 0; i < in; ++i)
        acc += W.data[o * in + i] * x[i];
      y[o] = acc;
    }
    macs += out * in;
    return y;
  }

  Vec mlp(const std::string &prefix, size_t hiddenLayers, Vec x) {
    for (size_t l = 0; l <= hiddenLayers; ++l) {
      x = linear(prefix + ".layers." + std::to_string(l), x);
      if (l < hiddenLayers)
        for (double &v : x)
          v = silu(v);
    }
    return x;
  }

  /// Concatenated feature inputs of row r of a group (embedding rows or values).
  Vec features(const std::vector<FeatureDesc> &schema, const std::vector<FeatureColumn> &cols,
               int64_t r) {
    Vec x;
    for (size_t f = 0; f < schema.size(); ++f) {
      const FeatureDesc &d = schema[f];
      if (d.isCategorical()) {
        const TableDesc *t = m.findTable(d.table);
        // Fixed: the id is the row. Hashed: splitmix64(id) mod rows.
        uint64_t row = static_cast<uint64_t>(cols[f].ids[r]);
        if (t->kind == "hashed") {
          uint64_t z = row + 0x9e3779b97f4a7c15ULL;
          z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
          z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
          row = (z ^ (z >> 31)) % static_cast<uint64_t>(t->rows);
        }
        const std::vector<float> &table = w("tables." + t->name + ".weight");
        for (int64_t k = 0; k < t->dim; ++k)
          x.push_back(table[row * t->dim + k]);
      } else {
        for (int64_t k = 0; k < d.denseDim; ++k)
          x.push_back(cols[f].values[r * d.denseDim + k]);
      }
    }
    return x;
  }

  Vec groupNorm(const std::string &prefix, const Vec &x, Group g) {
    const std::vector<float> &gamma = w(prefix + ".gamma"), &beta = w(prefix + ".beta");
    size_t n = x.size();
    double mean = 0, var = 0;
    for (double v : x)
      mean += v;
    mean /= n;
    for (double v : x)
      var += (v - mean) * (v - mean);
    var /= n; // biased
    Vec y(n);
    for (size_t k = 0; k < n; ++k)
      y[k] = gamma[g * n + k] * (x[k] - mean) / std::sqrt(var + 1e-5) + beta[g * n + k];
    return y;
  }

  /// One sample's token layout.
  struct Sample {
    int64_t nU, nS, nR, K;
    std::vector<Group> group;
    std::vector<int64_t> time;  // 0 for U tokens
    std::vector<int64_t> pos;   // DESIGN 1.3: index in U|S|R; candidates by time among R
    const int32_t *intervals;   // mask: intervals
    int64_t n() const { return nU + nS + nR + K; }
  };

  /// M[i, j] of DESIGN 1.5.
  bool attends(const Sample &s, int64_t i, int64_t j) const {
    Group gi = s.group[i], gj = s.group[j];
    const std::string &mask = m.mask;
    if (mask == "intervals") {
      for (int k = 0; k < 3; ++k)
        if (j >= s.intervals[i * 6 + 2 * k] && j < s.intervals[i * 6 + 2 * k + 1])
          return true;
      return false;
    }
    if (mask == "causal")
      return j <= i;
    if (mask == "causal_targets")
      return gi == C ? (gj != C || j == i) : j <= i;
    if (mask == "contextual") {
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

  double rab(const std::string &prefix, const Sample &s, int64_t i, int64_t j) const {
    const std::vector<float> &P = w(prefix + ".rab.pos"), &T = w(prefix + ".rab.time");
    int64_t pmax = m.rabMaxPos;
    int64_t d = std::clamp(s.pos[j] - s.pos[i], -pmax, pmax);
    double bias = P[d + pmax];
    if (s.group[i] != U && s.group[j] != U) {
      int64_t dt = std::llabs(s.time[i] - s.time[j]);
      int64_t bucket = static_cast<int64_t>(
          std::floor(std::log(static_cast<double>(std::max<int64_t>(1, dt))) / 0.301));
      bias += T[std::min<int64_t>(m.rabTimeBuckets - 1, bucket)];
    }
    return bias;
  }

  /// One HSTU layer on one sample's tokens X [n, d] (DESIGN 1.3).
  void layer(int64_t l, const Sample &s, std::vector<Vec> &X) {
    std::string prefix = "layers." + std::to_string(l);
    int64_t n = s.n(), h = m.heads, dqk = m.dqk, dv = m.dv;
    std::vector<Vec> Uo(n), V(n), Q(n), K(n);
    for (int64_t i = 0; i < n; ++i) {
      Vec hid = linear(prefix + ".uvqk", groupNorm(prefix + ".gln1", X[i], s.group[i]));
      for (double &v : hid)
        v = silu(v);
      auto block = [&](int64_t begin, int64_t size) {
        return Vec(hid.begin() + begin, hid.begin() + begin + size);
      };
      Uo[i] = block(0, h * dv);
      V[i] = block(h * dv, h * dv);
      Q[i] = block(2 * h * dv, h * dqk);
      K[i] = block(2 * h * dv + h * dqk, h * dqk);
    }
    for (int64_t i = 0; i < n; ++i) {
      double norm = m.nNorm == "total" ? static_cast<double>(n) : m.nNormConstant;
      if (m.nNorm == "visible") {
        norm = 0;
        for (int64_t j = 0; j < n; ++j)
          norm += attends(s, i, j);
      }
      Vec O(h * dv, 0.0);
      for (int64_t j = 0; j < n; ++j) {
        if (!attends(s, i, j))
          continue; // masked pairs are not computed
        double bias = m.rab ? rab(prefix, s, i, j) : 0.0;
        for (int64_t hd = 0; hd < h; ++hd) {
          double dot = 0;
          for (int64_t k = 0; k < dqk; ++k)
            dot += Q[i][hd * dqk + k] * K[j][hd * dqk + k];
          double a = silu(m.alpha * dot + bias) / norm;
          for (int64_t k = 0; k < dv; ++k)
            O[hd * dv + k] += a * V[j][hd * dv + k];
        }
        macs += h * (dqk + dv);
      }
      Vec Y;
      if (m.normOrder == "gate_then_norm") {
        for (int64_t k = 0; k < h * dv; ++k)
          O[k] *= Uo[i][k];
        Y = groupNorm(prefix + ".gln2", O, s.group[i]);
      } else {
        Y = groupNorm(prefix + ".gln2", O, s.group[i]);
        for (int64_t k = 0; k < h * dv; ++k)
          Y[k] *= Uo[i][k];
      }
      // X is read by later rows only through U, V, Q, K (computed above), so
      // the residual can be applied in place.
      Vec out = linear(prefix + ".out", Y);
      for (size_t k = 0; k < out.size(); ++k)
        X[i][k] += out[k];
    }
  }

  Output run() {
    Output out;
    out.logits.assign(m.tasks.size(), {});
    int64_t nU = static_cast<int64_t>(m.user.size());
    std::vector<FeatureDesc> candSchema = m.candidateItem;
    candSchema.insert(candSchema.end(), m.candidateCross.begin(), m.candidateCross.end());
    std::vector<int64_t> tokenOffsets = batch.tokenOffsets(m);
    for (int64_t b = 0; b < batch.numSamples; ++b) {
      int64_t s0 = batch.sequenceOffsets[b], s1 = batch.sequenceOffsets[b + 1];
      int64_t r0 = batch.realtimeOffsets[b], r1 = batch.realtimeOffsets[b + 1];
      int64_t c0 = batch.candidateOffsets[b], c1 = batch.candidateOffsets[b + 1];
      // Candidate tokens (with DLRM-style context when asked for).
      Vec context;
      if (m.candidateContext) {
        context = features(m.user, batch.user, b);
        for (auto [schema, cols, lo, hi] :
             {std::tuple{&m.sequence, &batch.sequence, s0, s1},
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
      std::vector<Vec> cand;
      for (int64_t c = c0; c < c1; ++c) {
        Vec x = features(candSchema, batch.candidate, c);
        x.insert(x.end(), context.begin(), context.end());
        cand.push_back(mlp("candidate_mlp", m.candidateMlp.size(), x));
      }
      if (m.layers > 0) {
        Sample s{nU, s1 - s0, r1 - r0, c1 - c0, {}, {}, {}, nullptr};
        std::vector<Vec> X;
        for (int64_t f = 0; f < nU; ++f) {
          X.push_back(linear("user_tokenizer." + m.user[f].name,
                             features({m.user[f]}, {batch.user[f]}, b)));
          s.group.push_back(U);
          s.time.push_back(0);
        }
        for (int64_t r = s0; r < s1; ++r) {
          X.push_back(mlp("sequence_mlp", m.sequenceMlp.size(),
                          features(m.sequence, batch.sequence, r)));
          s.group.push_back(S);
          s.time.push_back(batch.sequenceTimes[r]);
        }
        for (int64_t r = r0; r < r1; ++r) {
          Vec x = features(m.realtime, batch.realtime, r);
          X.push_back(m.realtimeOwnMlp ? mlp("realtime_mlp", m.realtimeMlp.size(), x)
                                       : mlp("sequence_mlp", m.sequenceMlp.size(), x));
          s.group.push_back(R);
          s.time.push_back(batch.realtimeTimes[r]);
        }
        for (int64_t c = c0; c < c1; ++c) {
          X.push_back(cand[c - c0]);
          s.group.push_back(C);
          s.time.push_back(batch.candidateTimes[c]);
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
        if (m.mask == "intervals")
          s.intervals = batch.intervals.data() + tokenOffsets[b] * 6;
        for (int64_t l = 0; l < m.layers; ++l)
          layer(l, s, X);
        for (const Vec &x : X)
          out.hidden.insert(out.hidden.end(), x.begin(), x.end());
        for (int64_t c = 0; c < s.K; ++c)
          cand[c] = X[nU + s.nS + s.nR + c];
      }
      for (size_t t = 0; t < m.tasks.size(); ++t)
        for (const Vec &x : cand)
          out.logits[t].push_back(
              mlp("heads." + m.tasks[t].name, m.tasks[t].hidden.size(), x)[0]);
    }
    out.multiplyAdds = macs;
    return out;
  }
};
} // namespace

Output mlir::mtgr::reference::forward(const ModelDesc &m, const ParamStore &params,
                                      const Batch &batch) {
  return Ref{m, params, batch}.run();
}
