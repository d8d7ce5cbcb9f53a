//===- Batch.cpp - jagged batches: checks and slicing ---------------------===//
#include "runtime/Batch.h"
#include "model/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mtgr;

uint64_t mtgr::splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t mtgr::tableRow(const TableDesc &t, int64_t id) {
  if (t.kind == TableDesc::Kind::Hashed)
    return static_cast<int64_t>(splitmix64(static_cast<uint64_t>(id)) %
                                static_cast<uint64_t>(t.rows));
  return id;
}

int64_t Batch::sampleTokens(const ModelDesc &m, int64_t b) const {
  return static_cast<int64_t>(m.user.size()) + sequenceOffsets[b + 1] - sequenceOffsets[b] +
         realtimeOffsets[b + 1] - realtimeOffsets[b] + candidateOffsets[b + 1] -
         candidateOffsets[b];
}

int64_t Batch::totalTokens(const ModelDesc &m) const {
  return numSamples * static_cast<int64_t>(m.user.size()) + numSequence() + numRealtime() +
         numCandidates();
}

std::vector<int64_t> Batch::tokenOffsets(const ModelDesc &m) const {
  std::vector<int64_t> offsets{0};
  for (int64_t b = 0; b < numSamples; ++b)
    offsets.push_back(offsets.back() + sampleTokens(m, b));
  return offsets;
}

Batch mtgr::makeEmptyBatch(const ModelDesc &m) {
  Batch b;
  b.user.resize(m.user.size());
  b.sequence.resize(m.sequence.size());
  b.realtime.resize(m.realtime.size());
  b.candidate.resize(m.candidateItem.size() + m.candidateCross.size());
  b.sequenceOffsets = b.realtimeOffsets = b.candidateOffsets = {0};
  return b;
}

namespace {
/// Which sample owns row r of a group with these offsets.
int64_t sampleOf(const std::vector<int64_t> &offsets, int64_t r) {
  return std::upper_bound(offsets.begin(), offsets.end(), r) - offsets.begin() - 1;
}

llvm::Error checkOffsets(const char *group, const std::vector<int64_t> &offsets,
                         int64_t numSamples) {
  if (static_cast<int64_t>(offsets.size()) != numSamples + 1)
    return fail(llvm::formatv("{0} offsets: expected {1} entries (samples + 1), got {2}", group,
                              numSamples + 1, offsets.size()));
  if (offsets[0] != 0)
    return fail(llvm::formatv("{0} offsets: must start at 0, got {1}", group, offsets[0]));
  for (int64_t b = 0; b < numSamples; ++b)
    if (offsets[b + 1] < offsets[b])
      return fail(llvm::formatv("{0} offsets: not monotone at sample {1} ({2} > {3})", group, b,
                                offsets[b], offsets[b + 1]));
  return llvm::Error::success();
}

llvm::Error checkColumns(const ModelDesc &m, const char *group,
                         const std::vector<FeatureDesc> &schema,
                         const std::vector<FeatureColumn> &columns,
                         const std::vector<int64_t> *offsets, int64_t rows) {
  if (columns.size() != schema.size())
    return fail(llvm::formatv("{0}: expected {1} feature columns, got {2}", group,
                              schema.size(), columns.size()));
  for (size_t f = 0; f < schema.size(); ++f) {
    const FeatureDesc &d = schema[f];
    const FeatureColumn &c = columns[f];
    auto where = [&](int64_t r) {
      if (!offsets)
        return std::string(llvm::formatv("{0}.{1}, sample {2}", group, d.name, r));
      return std::string(llvm::formatv("{0}.{1}, sample {2}, row {3}", group, d.name,
                                       sampleOf(*offsets, r), r));
    };
    if (d.isCategorical()) {
      if (static_cast<int64_t>(c.ids.size()) != rows)
        return fail(llvm::formatv("{0}.{1}: expected {2} ids, got {3}", group, d.name, rows,
                                  c.ids.size()));
      const TableDesc *t = m.findTable(d.table);
      if (t->kind == TableDesc::Kind::Fixed)
        for (int64_t r = 0; r < rows; ++r)
          if (c.ids[r] < 0 || c.ids[r] >= t->rows)
            return fail(llvm::formatv("{0}: id {1} is out of range for fixed table '{2}' "
                                      "[0, {3})",
                                      where(r), c.ids[r], t->name, t->rows));
    } else {
      if (static_cast<int64_t>(c.values.size()) != rows * d.denseDim)
        return fail(llvm::formatv("{0}.{1}: expected {2} values ({3} rows x {4}), got {5}",
                                  group, d.name, rows * d.denseDim, rows, d.denseDim,
                                  c.values.size()));
      for (size_t i = 0; i < c.values.size(); ++i)
        if (!std::isfinite(c.values[i]))
          return fail(llvm::formatv("{0}: value {1} is not finite ({2})", where(i / d.denseDim),
                                    i % d.denseDim, c.values[i]));
    }
  }
  return llvm::Error::success();
}

llvm::Error checkSorted(const char *group, const std::vector<int64_t> &offsets,
                        const std::vector<int64_t> &times) {
  for (size_t b = 0; b + 1 < offsets.size(); ++b)
    for (int64_t r = offsets[b] + 1; r < offsets[b + 1]; ++r)
      if (times[r] < times[r - 1])
        return fail(llvm::formatv("{0}.time: sample {1}, row {2}: events must be sorted by "
                                  "time ({3} after {4})",
                                  group, b, r, times[r], times[r - 1]));
  return llvm::Error::success();
}
} // namespace

llvm::Error mtgr::validateBatch(const ModelDesc &m, const Batch &batch) {
  int64_t B = batch.numSamples;
  if (B < 0)
    return fail("batch: negative number of samples");
  if (static_cast<int64_t>(batch.userIds.size()) != B)
    return fail(llvm::formatv("batch: expected {0} user ids, got {1}", B, batch.userIds.size()));
  if (auto e = checkOffsets("sequence", batch.sequenceOffsets, B))
    return e;
  if (auto e = checkOffsets("realtime", batch.realtimeOffsets, B))
    return e;
  if (auto e = checkOffsets("candidate", batch.candidateOffsets, B))
    return e;
  struct Group {
    const char *name;
    const std::vector<int64_t> &offsets, &times;
  };
  for (Group g : {Group{"sequence", batch.sequenceOffsets, batch.sequenceTimes},
                  Group{"realtime", batch.realtimeOffsets, batch.realtimeTimes},
                  Group{"candidate", batch.candidateOffsets, batch.candidateTimes}})
    if (static_cast<int64_t>(g.times.size()) != g.offsets.back())
      return fail(llvm::formatv("{0}.time: expected {1} timestamps, got {2}", g.name,
                                g.offsets.back(), g.times.size()));
  std::vector<FeatureDesc> candSchema = m.candidateItem;
  candSchema.insert(candSchema.end(), m.candidateCross.begin(), m.candidateCross.end());
  if (auto e = checkColumns(m, "user", m.user, batch.user, nullptr, B))
    return e;
  if (auto e = checkColumns(m, "sequence", m.sequence, batch.sequence, &batch.sequenceOffsets,
                            batch.numSequence()))
    return e;
  if (auto e = checkColumns(m, "realtime", m.realtime, batch.realtime, &batch.realtimeOffsets,
                            batch.numRealtime()))
    return e;
  if (auto e = checkColumns(m, "candidate", candSchema, batch.candidate,
                            &batch.candidateOffsets, batch.numCandidates()))
    return e;
  if (auto e = checkSorted("sequence", batch.sequenceOffsets, batch.sequenceTimes))
    return e;
  if (auto e = checkSorted("realtime", batch.realtimeOffsets, batch.realtimeTimes))
    return e;
  // max t_S <= min t_C within each sample: otherwise S leaks the future.
  for (int64_t b = 0; b < B; ++b) {
    int64_t s0 = batch.sequenceOffsets[b], s1 = batch.sequenceOffsets[b + 1];
    if (s0 == s1)
      continue;
    int64_t lastS = batch.sequenceTimes[s1 - 1];
    for (int64_t c = batch.candidateOffsets[b]; c < batch.candidateOffsets[b + 1]; ++c)
      if (batch.candidateTimes[c] < lastS)
        return fail(llvm::formatv("sample {0}: sequence event at time {1} (row {2}) comes after "
                                  "candidate {3} at time {4}; S must precede every candidate",
                                  b, lastS, s1 - 1, c, batch.candidateTimes[c]));
  }
  if (!batch.candidateIds.empty() &&
      static_cast<int64_t>(batch.candidateIds.size()) != batch.numCandidates())
    return fail(llvm::formatv("candidate ids: expected {0}, got {1}", batch.numCandidates(),
                              batch.candidateIds.size()));
  if (!batch.labels.empty()) {
    if (batch.labels.size() != m.tasks.size())
      return fail(llvm::formatv("labels: expected {0} tasks, got {1}", m.tasks.size(),
                                batch.labels.size()));
    for (size_t t = 0; t < batch.labels.size(); ++t)
      if (static_cast<int64_t>(batch.labels[t].size()) != batch.numCandidates())
        return fail(llvm::formatv("labels.{0}: expected {1}, got {2}", m.tasks[t].name,
                                  batch.numCandidates(), batch.labels[t].size()));
  }
  if (m.layers > 0 && m.mask == ModelDesc::Mask::Intervals) {
    int64_t N = batch.totalTokens(m);
    if (static_cast<int64_t>(batch.intervals.size()) != N * 6)
      return fail(llvm::formatv("mask.intervals: expected {0} values (3 intervals per token), "
                                "got {1}",
                                N * 6, batch.intervals.size()));
    std::vector<int64_t> offsets = batch.tokenOffsets(m);
    for (int64_t b = 0; b < B; ++b) {
      int64_t n = offsets[b + 1] - offsets[b];
      for (int64_t i = offsets[b]; i < offsets[b + 1]; ++i) {
        int32_t end = 0; // of the row's last non-empty interval
        for (int k = 0; k < 3; ++k) {
          int32_t lo = batch.intervals[i * 6 + 2 * k], hi = batch.intervals[i * 6 + 2 * k + 1];
          if (lo < 0 || hi < lo || hi > n)
            return fail(llvm::formatv("mask.intervals: sample {0}, token {1}, interval {2}: "
                                      "[{3}, {4}) is not inside [0, {5})",
                                      b, i - offsets[b], k, lo, hi, n));
          // A row's intervals are sorted and disjoint (DESIGN 1.5): an
          // overlap would count its columns twice.
          if (lo < hi && lo < end)
            return fail(llvm::formatv("mask.intervals: sample {0}, token {1}, interval {2}: "
                                      "[{3}, {4}) overlaps or precedes an earlier interval "
                                      "(ending at {5}); a row's intervals must be sorted and "
                                      "disjoint",
                                      b, i - offsets[b], k, lo, hi, end));
          if (lo < hi)
            end = hi;
        }
      }
    }
  }
  return llvm::Error::success();
}

namespace {
void sliceColumns(const std::vector<FeatureDesc> &schema, const std::vector<FeatureColumn> &in,
                  std::vector<FeatureColumn> &out, int64_t r0, int64_t r1) {
  out.resize(in.size());
  for (size_t f = 0; f < in.size(); ++f) {
    if (schema[f].isCategorical())
      out[f].ids.assign(in[f].ids.begin() + r0, in[f].ids.begin() + r1);
    else
      out[f].values.assign(in[f].values.begin() + r0 * schema[f].denseDim,
                           in[f].values.begin() + r1 * schema[f].denseDim);
  }
}

std::vector<int64_t> sliceOffsets(const std::vector<int64_t> &o, int64_t b0, int64_t b1) {
  std::vector<int64_t> out;
  for (int64_t b = b0; b <= b1; ++b)
    out.push_back(o[b] - o[b0]);
  return out;
}

template <typename T>
std::vector<T> sliceRows(const std::vector<T> &v, int64_t r0, int64_t r1, int64_t width = 1) {
  return std::vector<T>(v.begin() + r0 * width, v.begin() + r1 * width);
}
} // namespace

Batch mtgr::sliceBatch(const ModelDesc &m, const Batch &in, int64_t b0, int64_t b1) {
  Batch out = makeEmptyBatch(m);
  out.numSamples = b1 - b0;
  out.userIds = sliceRows(in.userIds, b0, b1);
  sliceColumns(m.user, in.user, out.user, b0, b1);
  std::vector<FeatureDesc> candSchema = m.candidateItem;
  candSchema.insert(candSchema.end(), m.candidateCross.begin(), m.candidateCross.end());
  struct Group {
    const std::vector<FeatureDesc> &schema;
    const std::vector<int64_t> &offsets, &times;
    const std::vector<FeatureColumn> &columns;
    std::vector<int64_t> &outOffsets, &outTimes;
    std::vector<FeatureColumn> &outColumns;
  };
  for (Group g : {Group{m.sequence, in.sequenceOffsets, in.sequenceTimes, in.sequence,
                        out.sequenceOffsets, out.sequenceTimes, out.sequence},
                  Group{m.realtime, in.realtimeOffsets, in.realtimeTimes, in.realtime,
                        out.realtimeOffsets, out.realtimeTimes, out.realtime},
                  Group{candSchema, in.candidateOffsets, in.candidateTimes, in.candidate,
                        out.candidateOffsets, out.candidateTimes, out.candidate}}) {
    int64_t r0 = g.offsets[b0], r1 = g.offsets[b1];
    g.outOffsets = sliceOffsets(g.offsets, b0, b1);
    g.outTimes = sliceRows(g.times, r0, r1);
    sliceColumns(g.schema, g.columns, g.outColumns, r0, r1);
  }
  int64_t c0 = in.candidateOffsets[b0], c1 = in.candidateOffsets[b1];
  if (!in.candidateIds.empty())
    out.candidateIds = sliceRows(in.candidateIds, c0, c1);
  for (const auto &l : in.labels)
    out.labels.push_back(sliceRows(l, c0, c1));
  if (!in.intervals.empty()) {
    std::vector<int64_t> t = in.tokenOffsets(m);
    out.intervals = sliceRows(in.intervals, t[b0], t[b1], 6);
  }
  return out;
}

void mtgr::appendBatch(const ModelDesc &m, Batch &out, const Batch &piece) {
  bool labelled = (out.numSamples == 0 || !out.labels.empty()) && !piece.labels.empty();
  bool intervals = (out.numSamples == 0 || !out.intervals.empty()) && !piece.intervals.empty();
  auto append = [](auto &to, const auto &from) { to.insert(to.end(), from.begin(), from.end()); };
  auto appendColumns = [&](std::vector<FeatureColumn> &to, const std::vector<FeatureColumn> &from) {
    to.resize(from.size());
    for (size_t f = 0; f < from.size(); ++f)
      append(to[f].ids, from[f].ids), append(to[f].values, from[f].values);
  };
  auto appendOffsets = [](std::vector<int64_t> &to, const std::vector<int64_t> &from) {
    if (to.empty())
      to.push_back(0);
    int64_t base = to.back();
    for (size_t i = 1; i < from.size(); ++i)
      to.push_back(base + from[i]);
  };
  out.numSamples += piece.numSamples;
  append(out.userIds, piece.userIds);
  appendColumns(out.user, piece.user);
  appendOffsets(out.sequenceOffsets, piece.sequenceOffsets);
  appendOffsets(out.realtimeOffsets, piece.realtimeOffsets);
  appendOffsets(out.candidateOffsets, piece.candidateOffsets);
  append(out.sequenceTimes, piece.sequenceTimes);
  append(out.realtimeTimes, piece.realtimeTimes);
  append(out.candidateTimes, piece.candidateTimes);
  appendColumns(out.sequence, piece.sequence);
  appendColumns(out.realtime, piece.realtime);
  appendColumns(out.candidate, piece.candidate);
  append(out.candidateIds, piece.candidateIds);
  if (labelled) {
    out.labels.resize(piece.labels.size());
    for (size_t t = 0; t < piece.labels.size(); ++t)
      append(out.labels[t], piece.labels[t]);
  } else {
    out.labels.clear();
  }
  if (intervals)
    append(out.intervals, piece.intervals);
  else
    out.intervals.clear();
  (void)m;
}

Batch mtgr::selectSamples(const ModelDesc &m, const Batch &batch,
                          const std::vector<int64_t> &indices) {
  Batch out = makeEmptyBatch(m);
  for (int64_t b : indices)
    appendBatch(m, out, sliceBatch(m, batch, b, b + 1));
  return out;
}

std::vector<int64_t> mtgr::candidateUsers(const Batch &batch) {
  std::vector<int64_t> users;
  for (int64_t b = 0; b < batch.numSamples; ++b)
    users.insert(users.end(), batch.candidateOffsets[b + 1] - batch.candidateOffsets[b],
                 batch.userIds[b]);
  return users;
}

std::optional<FlopCount> mtgr::countBatchFlops(const ModelDesc &m, const Batch &batch) {
  FlopCount total;
  for (int64_t b = 0; b < batch.numSamples; ++b) {
    int64_t r0 = batch.realtimeOffsets[b], r1 = batch.realtimeOffsets[b + 1];
    int64_t c0 = batch.candidateOffsets[b], c1 = batch.candidateOffsets[b + 1];
    SampleShape shape{batch.sequenceOffsets[b + 1] - batch.sequenceOffsets[b], r1 - r0, c1 - c0,
                      std::vector<int64_t>(batch.realtimeTimes.begin() + r0,
                                           batch.realtimeTimes.begin() + r1),
                      std::vector<int64_t>(batch.candidateTimes.begin() + c0,
                                           batch.candidateTimes.begin() + c1),
                      std::nullopt};
    auto c = countForwardFlops(m, shape);
    if (!c)
      return std::nullopt;
    total.tokenizer += c->tokenizer, total.projections += c->projections;
    total.attention += c->attention, total.heads += c->heads;
  }
  return total;
}

/// Every table lookup of a batch: its table and ids, in the model's group
/// order (user, sequence, real-time, candidate item then cross features).
void mtgr::forEachLookup(
    const ModelDesc &m, const Batch &batch,
    llvm::function_ref<void(const TableDesc &, const std::vector<int64_t> &)> fn) {
  std::vector<FeatureDesc> cand = m.candidateItem;
  cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
  std::pair<const std::vector<FeatureDesc> *, const std::vector<FeatureColumn> *> groups[] = {
      {&m.user, &batch.user},
      {&m.sequence, &batch.sequence},
      {&m.realtime, &batch.realtime},
      {&cand, &batch.candidate}};
  for (auto [schema, columns] : groups)
    for (size_t f = 0; f < schema->size() && f < columns->size(); ++f)
      if ((*schema)[f].isCategorical())
        fn(*m.findTable((*schema)[f].table), (*columns)[f].ids);
}
