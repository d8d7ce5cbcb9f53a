//===- Synthetic.cpp - synthetic requests -----------------------------------===//
#include "data/Synthetic.h"
#include "runtime/Batching.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace mtgr;

namespace {
constexpr int kTopics = 8;

/// The planted "topic" of an id: what users like and what the labels use.
int topicOf(int64_t id) { return static_cast<int>(splitmix64(id ^ 0x5eedULL) % kTopics); }

class Generator {
public:
  Generator(const ModelDesc &m, const SyntheticOptions &o) : m(m), o(o), rng(o.seed) {}
  Batch run();

private:
  const ModelDesc &m;
  const SyntheticOptions &o;
  std::mt19937_64 rng;

  double uniform() { return (rng() >> 11) * 0x1.0p-53; }
  double normal() {
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  int64_t range(int64_t lo, int64_t hi) { // inclusive
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  }
  /// Zipf-like id of a table whose topic is `topic` (a few tries, then any).
  int64_t itemId(const TableDesc &t, int topic) {
    int64_t universe = t.kind == TableDesc::Kind::Fixed ? t.rows : 4 * t.rows;
    int64_t id = 0;
    for (int tries = 0; tries < 32; ++tries) {
      // Power law: small ids are popular.
      id = static_cast<int64_t>(std::pow(uniform(), 2.5) * universe);
      id = std::min(id, universe - 1);
      if (topicOf(id) == topic)
        break;
    }
    return id;
  }
  void eventFeatures(const std::vector<FeatureDesc> &schema, std::vector<FeatureColumn> &cols,
                     int topic) {
    for (size_t f = 0; f < schema.size(); ++f) {
      if (schema[f].isCategorical())
        cols[f].ids.push_back(itemId(*m.findTable(schema[f].table), topic));
      else
        for (int64_t k = 0; k < schema[f].denseDim; ++k)
          cols[f].values.push_back(static_cast<float>(0.5 * normal()));
    }
  }
};

Batch Generator::run() {
  Batch b = makeEmptyBatch(m);
  b.numSamples = o.users * std::max<int64_t>(1, o.windows);
  b.labels.assign(m.tasks.size(), {});
  size_t nItem = m.candidateItem.size();
  // Repeats need a candidate item feature and a sequence feature on one table.
  int historyItem = -1;
  if (nItem && m.candidateItem[0].isCategorical())
    for (size_t f = 0; f < m.sequence.size() && historyItem < 0; ++f)
      if (m.sequence[f].table == m.candidateItem[0].table)
        historyItem = static_cast<int>(f);
  for (int64_t u = 0; u < o.users; ++u) {
    int64_t userId = o.firstUser + u;
    b.userIds.push_back(userId);
    // Taste: a favourite topic and how strongly the user sticks to it.
    int favourite = static_cast<int>(rng() % kTopics);
    double loyalty = 0.3 + 0.6 * uniform();
    for (size_t f = 0; f < m.user.size(); ++f) {
      const FeatureDesc &d = m.user[f];
      if (d.isCategorical()) {
        const TableDesc *t = m.findTable(d.table);
        int64_t id = t->kind == TableDesc::Kind::Fixed ? (userId * 7919 + 13) % t->rows : userId;
        b.user[f].ids.push_back(id);
      } else {
        // The first dense value carries the loyalty (a profile signal).
        for (int64_t k = 0; k < d.denseDim; ++k)
          b.user[f].values.push_back(
              static_cast<float>(k == 0 ? 2 * loyalty - 1 : 0.5 * normal()));
      }
    }
    auto pickTopic = [&] {
      return uniform() < loyalty ? favourite : static_cast<int>(rng() % kTopics);
    };
    for (int64_t window = 0; window < std::max<int64_t>(1, o.windows); ++window) {
      const int64_t now = 1700000000 + u * 86400 + window * 7 * 86400;
      // S: long-tailed lengths, all before the request.
      int64_t nS = std::clamp<int64_t>(
          static_cast<int64_t>(std::exp(normal() * 1.0) * std::max<int64_t>(1, o.maxSequence / 6)),
          std::min(o.minSequence, o.maxSequence), o.maxSequence);
      std::vector<int64_t> times;
      for (int64_t i = 0; i < nS; ++i)
        times.push_back(now - 3600 - range(0, 30 * 86400));
      std::sort(times.begin(), times.end());
      std::vector<int> seqTopics;
      std::vector<int64_t> seqItems;
      for (int64_t i = 0; i < nS; ++i) {
        int topic = pickTopic();
        seqTopics.push_back(topic);
        eventFeatures(m.sequence, b.sequence, topic);
        if (historyItem >= 0)
          seqItems.push_back(b.sequence[historyItem].ids.back());
        b.sequenceTimes.push_back(times[i]);
      }
      b.sequenceOffsets.push_back(b.sequenceOffsets.back() + nS);
      // R: the last hour and the next ten minutes, interleaving the candidates.
      // Integer minutes make equal timestamps (ties) common.
      int64_t nR = range(std::min(o.minRealtime, o.maxRealtime), o.maxRealtime);
      times.clear();
      for (int64_t i = 0; i < nR; ++i)
        times.push_back(now - 3600 + 60 * range(0, 70));
      std::sort(times.begin(), times.end());
      std::vector<std::pair<int64_t, int>> realtime; // (time, topic)
      // Recent interest drifts: half of R follows a "session" topic.
      int session = static_cast<int>(rng() % kTopics);
      for (int64_t i = 0; i < nR; ++i) {
        int topic = uniform() < 0.5 ? session : pickTopic();
        realtime.push_back({times[i], topic});
        eventFeatures(m.realtime, b.realtime, topic);
        b.realtimeTimes.push_back(times[i]);
      }
      b.realtimeOffsets.push_back(b.realtimeOffsets.back() + nR);
      // C: K candidates requested over the next ten minutes. About 30% are an
      // item of the user's long history again (re-engagement).
      int64_t K = range(o.minCandidates, o.maxCandidates);
      for (int64_t c = 0; c < K; ++c) {
        int topic = uniform() < 0.5 ? pickTopic() : static_cast<int>(rng() % kTopics);
        int64_t t = now + 60 * range(-10, 10);
        int64_t repeatOf = -1;
        if (!seqItems.empty() && uniform() < 0.3) {
          size_t pick = rng() % seqItems.size();
          topic = seqTopics[pick];
          repeatOf = seqItems[pick];
        }
        // Signal: long-term taste (the favourite topic, the candidate topic's
        // share of S), the candidate item being in S, real-time events of its
        // topic before t, and a cross feature. Everything but the cross
        // feature needs the candidate compared with single events: mean
        // pooling (the DLRM baseline) blurs exactly that, attention does not.
        double historyShare = 0;
        for (int s : seqTopics)
          historyShare += s == topic;
        historyShare = nS ? historyShare / nS : 0;
        double recent = 0;
        for (auto &[rt, rtopic] : realtime)
          recent += rt < t && rtopic == topic;
        // The cross feature is a context score of its own (think: the
        // candidate's recent CTR in this slot), not a summary of the history.
        double context = normal();
        double cross = 0.5 + 0.25 * context;
        bool repeated = false;
        // Item features, then cross features.
        for (size_t f = 0; f < nItem; ++f) {
          const FeatureDesc &d = m.candidateItem[f];
          if (d.isCategorical()) {
            int64_t id = f == 0 && repeatOf >= 0 ? repeatOf : itemId(*m.findTable(d.table), topic);
            if (f == 0)
              repeated = std::find(seqItems.begin(), seqItems.end(), id) != seqItems.end();
            b.candidate[f].ids.push_back(id);
          } else
            for (int64_t k = 0; k < d.denseDim; ++k)
              b.candidate[f].values.push_back(static_cast<float>(0.5 * normal()));
        }
        for (size_t f = 0; f < m.candidateCross.size(); ++f) {
          const FeatureDesc &d = m.candidateCross[f];
          FeatureColumn &col = b.candidate[nItem + f];
          if (d.isCategorical()) {
            const TableDesc *tab = m.findTable(d.table);
            int64_t bucket = static_cast<int64_t>(std::clamp(cross, 0.0, 0.999) * 10);
            col.ids.push_back(tab->kind == TableDesc::Kind::Fixed ? bucket % tab->rows : bucket);
          } else {
            for (int64_t k = 0; k < d.denseDim; ++k)
              col.values.push_back(static_cast<float>(k == 0 ? cross : 0.5 * normal()));
          }
        }
        b.candidateTimes.push_back(t);
        b.candidateIds.push_back(nItem && m.candidateItem[0].isCategorical()
                                     ? b.candidate[0].ids.back()
                                     : static_cast<int64_t>(b.candidateIds.size()));
        double logit = -1.0 + 2.5 * (topic == favourite) * loyalty + 3.0 * historyShare +
                       1.5 * repeated + 0.8 * std::min(recent, 3.0) + 0.8 * context +
                       0.3 * normal();
        bool click = uniform() < 1.0 / (1.0 + std::exp(-logit));
        bool convert = click && uniform() < 1.0 / (1.0 + std::exp(-(logit - 1.5)));
        for (size_t task = 0; task < m.tasks.size(); ++task)
          b.labels[task].push_back(task == 0 ? click : convert);
      }
      b.candidateOffsets.push_back(b.candidateOffsets.back() + K);
      if (window + 1 < std::max<int64_t>(1, o.windows)) { // the next window is a new sample
        b.userIds.push_back(userId);
        for (size_t f = 0; f < m.user.size(); ++f) {
          if (m.user[f].isCategorical()) {
            int64_t id = b.user[f].ids.back();
            b.user[f].ids.push_back(id);
          } else {
            std::vector<float> last(b.user[f].values.end() - m.user[f].denseDim,
                                    b.user[f].values.end());
            b.user[f].values.insert(b.user[f].values.end(), last.begin(), last.end());
          }
        }
      }
    }
  }
  if (m.layers > 0 && m.mask == ModelDesc::Mask::Intervals)
    b.intervals = dynamicMaskIntervals(m, b);
  return b;
}
} // namespace

Batch mtgr::generateSynthetic(const ModelDesc &m, const SyntheticOptions &options) {
  return Generator(m, options).run();
}

std::vector<int32_t> mtgr::dynamicMaskIntervals(const ModelDesc &m, const Batch &b) {
  std::vector<int32_t> out;
  int32_t nU = static_cast<int32_t>(m.user.size());
  for (int64_t s = 0; s < b.numSamples; ++s) {
    int32_t nS = b.sequenceOffsets[s + 1] - b.sequenceOffsets[s];
    int64_t r0 = b.realtimeOffsets[s], r1 = b.realtimeOffsets[s + 1];
    int32_t P = nU + nS, nR = r1 - r0;
    auto push = [&](int32_t a, int32_t c, int32_t d, int32_t e, int32_t f, int32_t g) {
      out.insert(out.end(), {a, c, d, e, f, g});
    };
    for (int32_t i = 0; i < P; ++i)
      push(0, P, 0, 0, 0, 0);
    const int64_t *rt = b.realtimeTimes.data() + r0;
    for (int32_t i = 0; i < nR; ++i) {
      int32_t upto = std::upper_bound(rt, rt + nR, rt[i]) - rt; // t_j <= t_i
      push(0, P, P, P + upto, 0, 0);
    }
    for (int64_t c = b.candidateOffsets[s]; c < b.candidateOffsets[s + 1]; ++c) {
      int32_t before = std::lower_bound(rt, rt + nR, b.candidateTimes[c]) - rt; // t_j < t_c
      int32_t self = P + nR + static_cast<int32_t>(c - b.candidateOffsets[s]);
      push(0, P, P, P + before, self, self + 1);
    }
  }
  return out;
}

std::pair<Batch, Batch> mtgr::splitLastWindow(const ModelDesc &m, const Batch &batch) {
  std::vector<int64_t> train, last;
  for (int64_t b = 0; b < batch.numSamples; ++b)
    (b + 1 == batch.numSamples || batch.userIds[b + 1] != batch.userIds[b] ? last : train)
        .push_back(b);
  return {gatherSamples(m, batch, train), gatherSamples(m, batch, last)};
}
