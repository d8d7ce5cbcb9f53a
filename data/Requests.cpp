//===- Requests.cpp - request files (JSON Lines) --------------------------===//
#include "data/Requests.h"

#include <cmath>

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <numeric>

using namespace mtgr;
namespace json = llvm::json;

namespace {
struct LineError {
  std::string where; // "requests.jsonl:3"
  llvm::Error operator()(const llvm::Twine &msg) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), where + ": " + msg);
  }
};

/// Appends one event's features (an object with a field per feature).
llvm::Error readFeatures(const LineError &fail, const std::string &at,
                         const std::vector<FeatureDesc> &schema, const json::Object &o,
                         std::vector<FeatureColumn> &cols) {
  for (size_t f = 0; f < schema.size(); ++f) {
    const FeatureDesc &d = schema[f];
    const json::Value *v = o.get(d.name);
    if (!v)
      return fail(at + ": missing feature '" + d.name + "'");
    if (d.isCategorical()) {
      std::optional<int64_t> id = v->getAsInteger();
      if (!id)
        return fail(at + "." + d.name + ": expected an integer id");
      cols[f].ids.push_back(*id);
      continue;
    }
    std::vector<double> values;
    if (auto x = v->getAsNumber()) {
      values.push_back(*x);
    } else if (const json::Array *a = v->getAsArray()) {
      for (const json::Value &e : *a) {
        auto x = e.getAsNumber();
        if (!x)
          return fail(at + "." + d.name + ": expected numbers");
        values.push_back(*x);
      }
    } else {
      return fail(at + "." + d.name + ": expected a number or a list of numbers");
    }
    if (static_cast<int64_t>(values.size()) != d.denseDim)
      return fail(at + "." + d.name + llvm::formatv(": expected {0} values, got {1}", d.denseDim,
                                                    values.size()));
    for (double x : values) {
      // JSON numbers are doubles: one beyond float32's range would become
      // infinite and turn every score of the sample into garbage.
      if (!std::isfinite(static_cast<float>(x)))
        return fail(at + "." + d.name + ": " + llvm::formatv("{0:e3}", x).str() +
                    " is outside float32's range");
      cols[f].values.push_back(static_cast<float>(x));
    }
  }
  return llvm::Error::success();
}

llvm::Expected<int64_t> readTime(const LineError &fail, const std::string &at,
                                 const json::Object &o) {
  const json::Value *t = o.get("time");
  if (!t || !t->getAsInteger())
    return fail(at + ": 'time' must be an integer (seconds)");
  return *t->getAsInteger();
}

/// Reads an event list (S or R) sorted by (time, input order).
llvm::Error readEvents(const LineError &fail, const char *key, const json::Object &request,
                       const std::vector<FeatureDesc> &schema, std::vector<FeatureColumn> &cols,
                       std::vector<int64_t> &times, std::vector<int64_t> &offsets) {
  std::vector<const json::Object *> events;
  std::vector<int64_t> eventTimes;
  if (const json::Value *v = request.get(key)) {
    const json::Array *a = v->getAsArray();
    if (!a)
      return fail(std::string(key) + ": expected a list of events");
    for (size_t i = 0; i < a->size(); ++i) {
      std::string at = std::string(key) + "[" + std::to_string(i) + "]";
      const json::Object *e = (*a)[i].getAsObject();
      if (!e)
        return fail(at + ": expected an object");
      auto t = readTime(fail, at, *e);
      if (!t)
        return t.takeError();
      events.push_back(e);
      eventTimes.push_back(*t);
    }
  }
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return eventTimes[a] < eventTimes[b]; });
  for (size_t i : order) {
    if (auto e = readFeatures(fail, std::string(key) + "[" + std::to_string(i) + "]", schema,
                              *events[i], cols))
      return e;
    times.push_back(eventTimes[i]);
  }
  offsets.push_back(times.size());
  return llvm::Error::success();
}
/// The `intervals` mask's column intervals of the request just read (the
/// last sample of `b`): one entry per token of [U | S | R | C], S and R in
/// their sorted order, each a list of at most 3 [begin, end) pairs.
llvm::Error readIntervals(const LineError &fail, const ModelDesc &m, const json::Object &r,
                          Batch &b) {
  const json::Value *v = r.get("intervals");
  bool wanted = m.layers > 0 && m.mask == ModelDesc::Mask::Intervals;
  if (!wanted)
    return v ? fail("'intervals' is only for models with HSTU layers and mask: intervals")
             : llvm::Error::success();
  const json::Array *tokens = v ? v->getAsArray() : nullptr;
  if (!tokens)
    return fail("'intervals' (the mask: intervals model needs them) must be a list with one "
                "entry per token");
  int64_t s = b.numSamples;
  int64_t n = static_cast<int64_t>(m.user.size()) +
              (b.sequenceOffsets[s + 1] - b.sequenceOffsets[s]) +
              (b.realtimeOffsets[s + 1] - b.realtimeOffsets[s]) +
              (b.candidateOffsets[s + 1] - b.candidateOffsets[s]);
  if (static_cast<int64_t>(tokens->size()) != n)
    return fail(llvm::formatv("'intervals': expected {0} entries (one per token of U, S, R, C), "
                              "got {1}",
                              n, tokens->size())
                    .str());
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string at = "intervals[" + std::to_string(i) + "]";
    const json::Array *list = (*tokens)[i].getAsArray();
    if (!list || list->size() > 3)
      return fail(at + ": expected a list of at most 3 [begin, end) pairs");
    for (size_t k = 0; k < 3; ++k) {
      int64_t lo = 0, hi = 0;
      if (k < list->size()) {
        const json::Array *pair = (*list)[k].getAsArray();
        auto a = pair && pair->size() == 2 ? (*pair)[0].getAsInteger() : std::nullopt;
        auto e = pair && pair->size() == 2 ? (*pair)[1].getAsInteger() : std::nullopt;
        if (!a || !e || *a < 0 || *e > INT32_MAX || *a > *e)
          return fail(at + "[" + std::to_string(k) + "]: expected [begin, end) with 0 <= begin "
                                                     "<= end");
        lo = *a, hi = *e;
      }
      b.intervals.push_back(static_cast<int32_t>(lo));
      b.intervals.push_back(static_cast<int32_t>(hi));
    }
  }
  return llvm::Error::success();
}
} // namespace

llvm::Expected<Batch> mtgr::readRequests(const ModelDesc &m, llvm::StringRef text,
                                               llvm::StringRef path) {
  Batch b = makeEmptyBatch(m);
  std::vector<FeatureDesc> cand = m.candidateItem;
  cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
  bool labelled = false;
  int lineNo = 0;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    ++lineNo;
    line = line.trim();
    if (line.empty() || line.starts_with("#"))
      continue;
    LineError fail{(path + ":" + llvm::Twine(lineNo)).str()};
    auto value = json::parse(line);
    if (!value)
      return fail("invalid JSON: " + llvm::toString(value.takeError()));
    const json::Object *r = value->getAsObject();
    if (!r)
      return fail("a request is a JSON object");
    for (const auto &kv : *r)
      if (!llvm::is_contained({"user", "profile", "sequence", "realtime", "candidates",
                               "intervals"},
                              kv.first.str()))
        return fail("unknown field '" + kv.first.str() +
                    "' (expected user, profile, sequence, realtime, candidates, intervals)");
    auto uid = r->getInteger("user");
    if (!uid)
      return fail("'user' must be an integer id");
    b.userIds.push_back(*uid);
    const json::Object *profile = r->getObject("profile");
    if (!profile)
      return fail("'profile' must be an object with the user features");
    if (auto e = readFeatures(fail, "profile", m.user, *profile, b.user))
      return std::move(e);
    if (auto e = readEvents(fail, "sequence", *r, m.sequence, b.sequence, b.sequenceTimes,
                            b.sequenceOffsets))
      return std::move(e);
    if (auto e = readEvents(fail, "realtime", *r, m.realtime, b.realtime, b.realtimeTimes,
                            b.realtimeOffsets))
      return std::move(e);
    const json::Array *cs = r->getArray("candidates");
    if (!cs)
      return fail("'candidates' must be a list");
    for (size_t i = 0; i < cs->size(); ++i) {
      std::string at = "candidates[" + std::to_string(i) + "]";
      const json::Object *c = (*cs)[i].getAsObject();
      if (!c)
        return fail(at + ": expected an object");
      auto t = readTime(fail, at, *c);
      if (!t)
        return t.takeError();
      b.candidateTimes.push_back(*t);
      auto id = c->getInteger("id");
      // Without an id, a candidate is numbered by its position in its request.
      b.candidateIds.push_back(id ? *id : static_cast<int64_t>(i));
      if (auto e = readFeatures(fail, at, cand, *c, b.candidate))
        return std::move(e);
      const json::Object *labels = c->getObject("labels");
      if (labels) {
        if (!labelled && b.candidateTimes.size() > 1)
          return fail(at + ": labels must be given for every candidate or none");
        labelled = true;
        b.labels.resize(m.tasks.size());
        for (size_t task = 0; task < m.tasks.size(); ++task) {
          auto y = labels->getNumber(m.tasks[task].name);
          if (!y || (*y != 0 && *y != 1))
            return fail(at + ".labels." + m.tasks[task].name + ": expected 0 or 1");
          b.labels[task].push_back(static_cast<float>(*y));
        }
      } else if (labelled) {
        return fail(at + ": labels must be given for every candidate or none");
      }
    }
    b.candidateOffsets.push_back(b.candidateTimes.size());
    if (auto e = readIntervals(fail, m, *r, b))
      return std::move(e);
    ++b.numSamples;
  }
  if (auto e = validateBatch(m, b))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": " + llvm::toString(std::move(e)) +
                                       " (sample n is the n-th request, from 0)");
  return b;
}

llvm::Expected<Batch> mtgr::loadRequests(const ModelDesc &m, llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   path + ": cannot read: " + buffer.getError().message());
  return readRequests(m, (*buffer)->getBuffer(), path);
}

namespace {
/// A float for JSON: -0 is written as 0, because readers (llvm::json
/// included) read "-0" as the integer 0; the file then reads back to itself.
double jsonFloat(float x) { return x == 0.0f ? 0.0 : x; }

json::Object featuresOf(const std::vector<FeatureDesc> &schema,
                        const std::vector<FeatureColumn> &cols, int64_t r) {
  json::Object o;
  for (size_t f = 0; f < schema.size(); ++f) {
    const FeatureDesc &d = schema[f];
    if (d.isCategorical()) {
      o[d.name] = cols[f].ids[r];
    } else if (d.denseDim == 1) {
      o[d.name] = jsonFloat(cols[f].values[r]);
    } else {
      json::Array a;
      for (int64_t k = 0; k < d.denseDim; ++k)
        a.push_back(jsonFloat(cols[f].values[r * d.denseDim + k]));
      o[d.name] = std::move(a);
    }
  }
  return o;
}
} // namespace

void mtgr::writeRequests(const ModelDesc &m, const Batch &b, llvm::raw_ostream &os) {
  std::vector<FeatureDesc> cand = m.candidateItem;
  cand.insert(cand.end(), m.candidateCross.begin(), m.candidateCross.end());
  for (int64_t s = 0; s < b.numSamples; ++s) {
    json::Object r{{"user", b.userIds[s]}, {"profile", featuresOf(m.user, b.user, s)}};
    auto events = [&](const std::vector<FeatureDesc> &schema, const std::vector<FeatureColumn> &cols,
                      const std::vector<int64_t> &offsets, const std::vector<int64_t> &times) {
      json::Array a;
      for (int64_t e = offsets[s]; e < offsets[s + 1]; ++e) {
        json::Object o = featuresOf(schema, cols, e);
        o["time"] = times[e];
        a.push_back(std::move(o));
      }
      return a;
    };
    r["sequence"] = events(m.sequence, b.sequence, b.sequenceOffsets, b.sequenceTimes);
    r["realtime"] = events(m.realtime, b.realtime, b.realtimeOffsets, b.realtimeTimes);
    json::Array cs;
    for (int64_t c = b.candidateOffsets[s]; c < b.candidateOffsets[s + 1]; ++c) {
      json::Object o = featuresOf(cand, b.candidate, c);
      o["time"] = b.candidateTimes[c];
      if (!b.candidateIds.empty())
        o["id"] = b.candidateIds[c];
      if (!b.labels.empty()) {
        json::Object labels;
        for (size_t t = 0; t < m.tasks.size(); ++t)
          labels[m.tasks[t].name] = static_cast<int64_t>(b.labels[t][c]);
        o["labels"] = std::move(labels);
      }
      cs.push_back(std::move(o));
    }
    r["candidates"] = std::move(cs);
    if (!b.intervals.empty()) {
      std::vector<int64_t> tokens = b.tokenOffsets(m);
      json::Array all;
      for (int64_t i = tokens[s]; i < tokens[s + 1]; ++i) {
        json::Array list;
        for (int k = 0; k < 3; ++k)
          list.push_back(json::Array{b.intervals[i * 6 + 2 * k], b.intervals[i * 6 + 2 * k + 1]});
        all.push_back(std::move(list));
      }
      r["intervals"] = std::move(all);
    }
    os << json::Value(std::move(r)) << "\n";
  }
}
