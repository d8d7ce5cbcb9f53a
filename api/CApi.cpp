//===- CApi.cpp - include/mtgr/mtgr.h over the C++ runtime -----------------===//
//
// Each handle owns its C++ object; every entry point catches what the
// runtime reports (llvm::Error, and std::bad_alloc) and turns it into a
// status plus the calling thread's message. Nothing C++ crosses the header.
//
//===----------------------------------------------------------------------===//
#include "include/mtgr/mtgr.h"

#include "data/Requests.h"
#include "runtime/Npz.h"
#include "runtime/PrefixCache.h"
#include "runtime/Session.h"

#include <cmath>
#include <memory>
#include <new>
#include <string>

using namespace mtgr;

struct mtgr_session {
  std::unique_ptr<Session> session;
  std::unique_ptr<PrefixCache> cache;
  OptimizerState optimizer;
  int64_t steps = 0;
};

struct mtgr_batch {
  const ModelDesc *model;
  Batch batch;
};

namespace {
thread_local std::string lastError;

mtgr_status failWith(mtgr_status status, std::string message) {
  lastError = std::move(message);
  return status;
}
mtgr_status failWith(mtgr_status status, llvm::Error e) {
  return failWith(status, llvm::toString(std::move(e)));
}
mtgr_status ok() {
  lastError.clear();
  return MTGR_OK;
}

/// Runs `body` (returning a status), turning an allocation failure into
/// MTGR_FAILED: nothing thrown crosses the C boundary.
template <typename F> mtgr_status guarded(F body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return failWith(MTGR_FAILED, "out of memory");
  }
}

/// The batch's rows of a group, its offsets, times and columns.
struct GroupRef {
  std::vector<int64_t> *offsets, *times;
  std::vector<FeatureColumn> *columns;
  const std::vector<FeatureDesc> *schema; // candidate: items then cross (see below)
};

std::optional<GroupRef> groupNamed(mtgr_batch &b, llvm::StringRef group) {
  Batch &x = b.batch;
  const ModelDesc &m = *b.model;
  if (group == "sequence")
    return GroupRef{&x.sequenceOffsets, &x.sequenceTimes, &x.sequence, &m.sequence};
  if (group == "realtime")
    return GroupRef{&x.realtimeOffsets, &x.realtimeTimes, &x.realtime, &m.realtime};
  if (group == "candidate")
    return GroupRef{&x.candidateOffsets, &x.candidateTimes, &x.candidate, nullptr};
  return std::nullopt;
}

/// The column of "<group>.<name>" and its description, or an error status.
mtgr_status featureNamed(mtgr_batch &b, const char *feature, FeatureColumn *&column,
                         const FeatureDesc *&desc) {
  if (!feature)
    return failWith(MTGR_INVALID_ARGUMENT, "feature name is NULL");
  std::pair<llvm::StringRef, llvm::StringRef> parts = llvm::StringRef(feature).split('.');
  llvm::StringRef group = parts.first, name = parts.second;
  const ModelDesc &m = *b.model;
  auto find = [&](const std::vector<FeatureDesc> &schema, std::vector<FeatureColumn> &columns,
                  size_t first) -> bool {
    for (size_t f = 0; f < schema.size(); ++f)
      if (schema[f].name == name) {
        column = &columns[first + f], desc = &schema[f];
        return true;
      }
    return false;
  };
  bool found = group == "user"       ? find(m.user, b.batch.user, 0)
               : group == "sequence" ? find(m.sequence, b.batch.sequence, 0)
               : group == "realtime" ? find(m.realtime, b.batch.realtime, 0)
               : group == "candidate"
                   ? find(m.candidateItem, b.batch.candidate, 0) ||
                         find(m.candidateCross, b.batch.candidate, m.candidateItem.size())
                   : false;
  if (!found)
    return failWith(MTGR_NOT_FOUND, "model '" + m.name + "' has no feature '" +
                                        std::string(feature) +
                                        "' (names are <group>.<feature>, group user, sequence, "
                                        "realtime or candidate)");
  return MTGR_OK;
}

template <typename T> std::vector<T> copyOf(const T *data, int64_t count) {
  return count > 0 ? std::vector<T>(data, data + count) : std::vector<T>();
}

mtgr_status checkArray(const void *data, int64_t count) {
  if (count < 0)
    return failWith(MTGR_INVALID_ARGUMENT, "negative count " + std::to_string(count));
  if (count > 0 && !data)
    return failWith(MTGR_INVALID_ARGUMENT, "NULL array of " + std::to_string(count) + " elements");
  return MTGR_OK;
}
} // namespace

extern "C" {

const char *mtgr_last_error(void) { return lastError.c_str(); }
int mtgr_api_version(void) { return MTGR_API_VERSION; }

mtgr_status mtgr_session_create(const char *artifactPath, const mtgr_session_options *options,
                                mtgr_session **out) {
  return guarded([&] {
    if (!artifactPath || !out)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_session_create: NULL path or out");
    *out = nullptr;
    auto artifact = Artifact::read(artifactPath);
    if (!artifact)
      return failWith(MTGR_NOT_FOUND, artifact.takeError());
    SessionOptions o;
    if (options) {
      o.threads = options->threads;
      o.maxMemory = options->max_memory;
      if (options->device)
        o.device = options->device;
    }
    auto session = Session::create(std::move(*artifact), o);
    if (!session)
      return failWith(MTGR_FAILED, session.takeError());
    *out = new mtgr_session{std::move(*session), nullptr, {}, 0};
    return ok();
  });
}

void mtgr_session_release(mtgr_session *session) { delete session; }

mtgr_status mtgr_session_load_params(mtgr_session *s, const char *npzPath) {
  return guarded([&] {
    if (!s || !npzPath)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_session_load_params: NULL session or path");
    if (auto e = loadParams(npzPath, s->session->params()))
      return failWith(MTGR_INVALID_ARGUMENT, std::move(e));
    if (s->cache)
      s->cache->clear(); // rows of the old parameters
    return ok();
  });
}

int64_t mtgr_session_num_tasks(const mtgr_session *s) {
  return s ? static_cast<int64_t>(s->session->model().tasks.size()) : 0;
}

const char *mtgr_session_task_name(const mtgr_session *s, int64_t task) {
  if (!s || task < 0 || task >= mtgr_session_num_tasks(s))
    return nullptr;
  return s->session->model().tasks[task].name.c_str();
}

int mtgr_session_can_cache_prefix(const mtgr_session *s) {
  return s && s->session->canSplitPrefix() ? 1 : 0;
}

mtgr_status mtgr_batch_create(const mtgr_session *s, mtgr_batch **out) {
  return guarded([&] {
    if (!s || !out)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_create: NULL session or out");
    *out = new mtgr_batch{&s->session->model(), makeEmptyBatch(s->session->model())};
    return ok();
  });
}

void mtgr_batch_release(mtgr_batch *batch) { delete batch; }

mtgr_status mtgr_batch_add_requests_json(mtgr_batch *b, const char *jsonl) {
  return guarded([&] {
    if (!b || !jsonl)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_add_requests_json: NULL batch or text");
    auto more = readRequests(*b->model, jsonl, "requests");
    if (!more)
      return failWith(MTGR_INVALID_ARGUMENT, more.takeError());
    appendBatch(*b->model, b->batch, *more);
    return ok();
  });
}

mtgr_status mtgr_batch_set_offsets(mtgr_batch *b, const char *group, const int64_t *offsets,
                                   int64_t count) {
  return guarded([&] {
    if (!b || !group)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_set_offsets: NULL batch or group");
    if (mtgr_status s = checkArray(offsets, count))
      return s;
    auto g = groupNamed(*b, group);
    if (!g)
      return failWith(MTGR_NOT_FOUND, "no group '" + std::string(group) +
                                          "' with offsets (sequence, realtime, candidate)");
    if (count < 1 || offsets[0] != 0)
      return failWith(MTGR_INVALID_ARGUMENT, std::string(group) +
                                                 " offsets: B + 1 entries starting at 0");
    *g->offsets = copyOf(offsets, count);
    b->batch.numSamples = count - 1;
    return ok();
  });
}

mtgr_status mtgr_batch_set_times(mtgr_batch *b, const char *group, const int64_t *times,
                                 int64_t count) {
  return guarded([&] {
    if (!b || !group)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_set_times: NULL batch or group");
    if (mtgr_status s = checkArray(times, count))
      return s;
    auto g = groupNamed(*b, group);
    if (!g)
      return failWith(MTGR_NOT_FOUND, "no group '" + std::string(group) +
                                          "' with times (sequence, realtime, candidate)");
    *g->times = copyOf(times, count);
    return ok();
  });
}

mtgr_status mtgr_batch_set_ids(mtgr_batch *b, const char *feature, const int64_t *ids,
                               int64_t count) {
  return guarded([&] {
    if (!b)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_set_ids: NULL batch");
    if (mtgr_status s = checkArray(ids, count))
      return s;
    FeatureColumn *column;
    const FeatureDesc *desc;
    if (mtgr_status s = featureNamed(*b, feature, column, desc))
      return s;
    if (!desc->isCategorical())
      return failWith(MTGR_INVALID_ARGUMENT, "feature '" + std::string(feature) +
                                                 "' is dense: set its values");
    column->ids = copyOf(ids, count);
    return ok();
  });
}

mtgr_status mtgr_batch_set_values(mtgr_batch *b, const char *feature, const float *values,
                                  int64_t count) {
  return guarded([&] {
    if (!b)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_set_values: NULL batch");
    if (mtgr_status s = checkArray(values, count))
      return s;
    FeatureColumn *column;
    const FeatureDesc *desc;
    if (mtgr_status s = featureNamed(*b, feature, column, desc))
      return s;
    if (desc->isCategorical())
      return failWith(MTGR_INVALID_ARGUMENT, "feature '" + std::string(feature) +
                                                 "' is categorical: set its ids");
    column->values = copyOf(values, count);
    return ok();
  });
}

mtgr_status mtgr_batch_set_user_ids(mtgr_batch *b, const int64_t *ids, int64_t count) {
  return guarded([&] {
    if (!b)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_set_user_ids: NULL batch");
    if (mtgr_status s = checkArray(ids, count))
      return s;
    b->batch.userIds = copyOf(ids, count);
    return ok();
  });
}

mtgr_status mtgr_batch_set_labels(mtgr_batch *b, const char *task, const float *labels,
                                  int64_t count) {
  return guarded([&] {
    if (!b || !task)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_batch_set_labels: NULL batch or task");
    if (mtgr_status s = checkArray(labels, count))
      return s;
    const std::vector<TaskDesc> &tasks = b->model->tasks;
    for (size_t t = 0; t < tasks.size(); ++t)
      if (tasks[t].name == task) {
        b->batch.labels.resize(tasks.size());
        b->batch.labels[t] = copyOf(labels, count);
        return ok();
      }
    return failWith(MTGR_NOT_FOUND, "model '" + b->model->name + "' has no task '" + task + "'");
  });
}

int64_t mtgr_batch_num_samples(const mtgr_batch *b) { return b ? b->batch.numSamples : 0; }
int64_t mtgr_batch_num_candidates(const mtgr_batch *b) {
  return b ? b->batch.numCandidates() : 0;
}

mtgr_status mtgr_score(mtgr_session *s, const mtgr_batch *b, float *scores, int64_t capacity,
                       int64_t *written) {
  return guarded([&] {
    if (!s || !b)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_score: NULL session or batch");
    if (b->model != &s->session->model())
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_score: the batch was made for another session");
    Batch batch = b->batch;
    if (batch.userIds.empty() && batch.numSamples > 0) // ids are optional for callers
      for (int64_t u = 0; u < batch.numSamples; ++u)
        batch.userIds.push_back(u);
    int64_t tasks = static_cast<int64_t>(s->session->model().tasks.size());
    int64_t K = batch.numCandidates(), need = tasks * K;
    if (need > 0 && (!scores || capacity < need))
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_score: the output holds " +
                                                 std::to_string(capacity) + " floats, " +
                                                 std::to_string(tasks) + " tasks x " +
                                                 std::to_string(K) + " candidates need " +
                                                 std::to_string(need));
    auto result = s->cache ? s->cache->score(*s->session, batch) : s->session->forward(batch);
    if (!result)
      return failWith(MTGR_INVALID_ARGUMENT, result.takeError());
    for (int64_t t = 0; t < tasks; ++t)
      for (int64_t c = 0; c < K; ++c)
        scores[t * K + c] = 1.0f / (1.0f + std::exp(-result->logits[t][c]));
    if (written)
      *written = need;
    return ok();
  });
}

mtgr_status mtgr_session_enable_prefix_cache(mtgr_session *s, uint64_t maxBytes, int bf16) {
  return guarded([&] {
    if (!s)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_session_enable_prefix_cache: NULL session");
    if (!s->session->canSplitPrefix())
      return failWith(MTGR_UNSUPPORTED, "model '" + s->session->model().name +
                                            "' has no prefix split: " +
                                            s->session->getArtifact().prefixSplitMissing);
    s->cache = std::make_unique<PrefixCache>(PrefixCache::Options{maxBytes, bf16 != 0});
    return ok();
  });
}

mtgr_status mtgr_session_cache_stats(const mtgr_session *s, mtgr_cache_stats *out) {
  if (!s || !out)
    return failWith(MTGR_INVALID_ARGUMENT, "mtgr_session_cache_stats: NULL session or out");
  if (!s->cache)
    return failWith(MTGR_UNSUPPORTED, "the session has no prefix cache "
                                      "(mtgr_session_enable_prefix_cache)");
  PrefixCache::Stats st = s->cache->stats();
  *out = mtgr_cache_stats{st.hits, st.misses, st.evictions, st.entries, st.bytes};
  return ok();
}

mtgr_status mtgr_train_step(mtgr_session *s, const mtgr_batch *b, uint64_t seed, double *loss) {
  return guarded([&] {
    if (!s || !b)
      return failWith(MTGR_INVALID_ARGUMENT, "mtgr_train_step: NULL session or batch");
    if (!s->session->canTrain())
      return failWith(MTGR_UNSUPPORTED, "artifact of model '" + s->session->model().name +
                                            "' has no train_step: " +
                                            s->session->getArtifact().trainStepMissing);
    Batch batch = b->batch;
    if (batch.userIds.empty())
      for (int64_t u = 0; u < batch.numSamples; ++u)
        batch.userIds.push_back(u);
    auto result = s->session->trainStep(batch, seed, s->steps, s->optimizer);
    if (!result)
      return failWith(MTGR_INVALID_ARGUMENT, result.takeError());
    ++s->steps;
    if (s->cache)
      s->cache->clear(); // the parameters changed
    if (loss)
      *loss = result->loss;
    return ok();
  });
}

} // extern "C"
