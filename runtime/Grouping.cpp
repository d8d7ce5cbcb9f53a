//===- Grouping.cpp - DLRM rows -> per-user samples -----------------------===//
#include "runtime/Grouping.h"
#include "model/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

#include <map>

using namespace mtgr;

namespace {
/// Rows [r0, r1) of a group, one feature column at a time.
struct Events {
  const std::vector<FeatureDesc> *schema;
  const std::vector<FeatureColumn> *columns;
  const std::vector<int64_t> *times;
};

/// The features of event r as comparable values (ids, then float bits).
std::vector<int64_t> eventKey(const Events &e, int64_t r) {
  std::vector<int64_t> key{e.times ? (*e.times)[r] : 0};
  for (size_t f = 0; f < e.schema->size(); ++f) {
    const FeatureDesc &d = (*e.schema)[f];
    const FeatureColumn &c = (*e.columns)[f];
    if (d.isCategorical()) {
      key.push_back(c.ids[r]);
    } else {
      for (int64_t k = 0; k < d.denseDim; ++k) {
        float v = c.values[r * d.denseDim + k];
        int32_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        key.push_back(bits);
      }
    }
  }
  return key;
}

void appendEvent(const Events &from, int64_t r, std::vector<FeatureColumn> &to,
                 std::vector<int64_t> *times) {
  if (times)
    times->push_back((*from.times)[r]);
  for (size_t f = 0; f < from.schema->size(); ++f) {
    const FeatureDesc &d = (*from.schema)[f];
    if (d.isCategorical())
      to[f].ids.push_back((*from.columns)[f].ids[r]);
    else
      to[f].values.insert(to[f].values.end(),
                          (*from.columns)[f].values.begin() + r * d.denseDim,
                          (*from.columns)[f].values.begin() + (r + 1) * d.denseDim);
  }
}

std::vector<FeatureDesc> candidateSchema(const ModelDesc &m) {
  std::vector<FeatureDesc> s = m.candidateItem;
  s.insert(s.end(), m.candidateCross.begin(), m.candidateCross.end());
  return s;
}
} // namespace

llvm::Expected<Batch> mtgr::groupRows(const ModelDesc &m, const Batch &rows) {
  if (auto e = validateBatch(m, rows))
    return std::move(e);
  for (int64_t r = 0; r < rows.numSamples; ++r)
    if (rows.candidateOffsets[r + 1] - rows.candidateOffsets[r] != 1)
      return fail(llvm::formatv("row {0}: a DLRM row has exactly one candidate, got {1}", r,
                                rows.candidateOffsets[r + 1] - rows.candidateOffsets[r]));
  std::vector<FeatureDesc> cand = candidateSchema(m);
  std::vector<int64_t> order;
  std::map<int64_t, std::vector<int64_t>> byUser;
  for (int64_t r = 0; r < rows.numSamples; ++r) {
    auto &list = byUser[rows.userIds[r]];
    if (list.empty())
      order.push_back(rows.userIds[r]);
    list.push_back(r);
  }
  Batch out = makeEmptyBatch(m);
  out.numSamples = order.size();
  out.labels.assign(rows.labels.size(), {});
  Events user{&m.user, &rows.user, nullptr};
  for (int64_t uid : order) {
    const std::vector<int64_t> &rs = byUser[uid];
    int64_t first = rs.front();
    out.userIds.push_back(uid);
    appendEvent(user, first, out.user, nullptr);
    // U and S must be the same in every row of the user.
    auto sequenceOf = [&](int64_t r) {
      std::vector<std::vector<int64_t>> keys;
      Events s{&m.sequence, &rows.sequence, &rows.sequenceTimes};
      for (int64_t e = rows.sequenceOffsets[r]; e < rows.sequenceOffsets[r + 1]; ++e)
        keys.push_back(eventKey(s, e));
      return keys;
    };
    auto firstS = sequenceOf(first);
    for (int64_t r : rs) {
      if (eventKey(user, r) != eventKey(user, first))
        return fail(llvm::formatv("row {0}: user {1}'s profile features differ from row {2}", r,
                                  uid, first));
      if (sequenceOf(r) != firstS)
        return fail(llvm::formatv("row {0}: user {1}'s sequence (S) differs from row {2}", r,
                                  uid, first));
    }
    Events s{&m.sequence, &rows.sequence, &rows.sequenceTimes};
    for (int64_t e = rows.sequenceOffsets[first]; e < rows.sequenceOffsets[first + 1]; ++e)
      appendEvent(s, e, out.sequence, &out.sequenceTimes);
    out.sequenceOffsets.push_back(out.sequenceTimes.size());
    // R: the union of the rows' events, each kept once, stable by time.
    Events rt{&m.realtime, &rows.realtime, &rows.realtimeTimes};
    std::vector<std::pair<std::vector<int64_t>, int64_t>> merged; // (key, source row)
    std::map<std::vector<int64_t>, int> seenInRow;
    for (int64_t r : rs) {
      std::map<std::vector<int64_t>, int> countHere;
      for (int64_t e = rows.realtimeOffsets[r]; e < rows.realtimeOffsets[r + 1]; ++e) {
        std::vector<int64_t> key = eventKey(rt, e);
        // An event repeated within one row is a real repeat; across rows it
        // is the same event seen again.
        if (++countHere[key] > seenInRow[key]) {
          seenInRow[key] = countHere[key];
          merged.push_back({key, e});
        }
      }
    }
    std::stable_sort(merged.begin(), merged.end(),
                     [](const auto &a, const auto &b) { return a.first[0] < b.first[0]; });
    for (auto &[key, e] : merged)
      appendEvent(rt, e, out.realtime, &out.realtimeTimes);
    out.realtimeOffsets.push_back(out.realtimeTimes.size());
    Events c{&cand, &rows.candidate, &rows.candidateTimes};
    for (int64_t r : rs) {
      appendEvent(c, r, out.candidate, &out.candidateTimes);
      if (!rows.candidateIds.empty())
        out.candidateIds.push_back(rows.candidateIds[r]);
      for (size_t t = 0; t < rows.labels.size(); ++t)
        out.labels[t].push_back(rows.labels[t][r]);
    }
    out.candidateOffsets.push_back(out.candidateTimes.size());
  }
  if (!rows.intervals.empty())
    return fail("rows with mask intervals cannot be grouped (the intervals are per sample)");
  return out;
}

Batch mtgr::splitIntoRows(const ModelDesc &m, const Batch &batch) {
  std::vector<FeatureDesc> cand = candidateSchema(m);
  Batch out = makeEmptyBatch(m);
  out.labels.assign(batch.labels.size(), {});
  Events user{&m.user, &batch.user, nullptr};
  Events s{&m.sequence, &batch.sequence, &batch.sequenceTimes};
  Events rt{&m.realtime, &batch.realtime, &batch.realtimeTimes};
  Events c{&cand, &batch.candidate, &batch.candidateTimes};
  for (int64_t b = 0; b < batch.numSamples; ++b)
    for (int64_t k = batch.candidateOffsets[b]; k < batch.candidateOffsets[b + 1]; ++k) {
      ++out.numSamples;
      out.userIds.push_back(batch.userIds[b]);
      appendEvent(user, b, out.user, nullptr);
      for (int64_t e = batch.sequenceOffsets[b]; e < batch.sequenceOffsets[b + 1]; ++e)
        appendEvent(s, e, out.sequence, &out.sequenceTimes);
      out.sequenceOffsets.push_back(out.sequenceTimes.size());
      for (int64_t e = batch.realtimeOffsets[b]; e < batch.realtimeOffsets[b + 1]; ++e)
        if (batch.realtimeTimes[e] < batch.candidateTimes[k])
          appendEvent(rt, e, out.realtime, &out.realtimeTimes);
      out.realtimeOffsets.push_back(out.realtimeTimes.size());
      appendEvent(c, k, out.candidate, &out.candidateTimes);
      out.candidateOffsets.push_back(out.candidateTimes.size());
      if (!batch.candidateIds.empty())
        out.candidateIds.push_back(batch.candidateIds[k]);
      for (size_t t = 0; t < batch.labels.size(); ++t)
        out.labels[t].push_back(batch.labels[t][k]);
    }
  return out;
}
