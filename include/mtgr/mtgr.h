/* mtgr.h - the C API of mtgr's runtime (libmtgr.so).
 *
 * Loads a compiled artifact (mtgr-compile), builds batches of user requests
 * (one sample = one user's request group [U | S | R | C], DESIGN 1.1;
 * docs/requests.md), scores their candidates, optionally through a per-user
 * prefix cache (docs/serving.md), and trains. No C++ type crosses this
 * header; every function returns a status, and a failing call's message is
 * read with mtgr_last_error().
 *
 * Threads: a session and a batch are each used by one thread at a time (the
 * caller serialises calls on one handle); different sessions, of the same or
 * of different artifacts, run concurrently on different threads, each using
 * its own worker threads inside a call. mtgr_last_error() is per thread.
 *
 * Example (error checks left out):
 *
 *   mtgr_session *s;
 *   mtgr_session_create("tiny.mtgr", NULL, &s);
 *   mtgr_batch *b;
 *   mtgr_batch_create(s, &b);
 *   mtgr_batch_add_requests_json(b, "{\"user\": 1, \"profile\": {...}, ...}\n");
 *   float scores[64];
 *   int64_t n;
 *   mtgr_score(s, b, scores, 64, &n);   // task-major: scores[t * K + c]
 *   mtgr_batch_release(b);
 *   mtgr_session_release(s);
 */
#ifndef MTGR_MTGR_H
#define MTGR_MTGR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTGR_API_VERSION 1

typedef enum mtgr_status {
  MTGR_OK = 0,
  MTGR_INVALID_ARGUMENT = 1, /* a bad handle, name, size or batch: nothing changed */
  MTGR_NOT_FOUND = 2,        /* a file, feature, group or task that does not exist */
  MTGR_UNSUPPORTED = 3,      /* the artifact cannot do it (no train_step, no prefix split) */
  MTGR_FAILED = 4            /* the call failed (out of memory, a device error, ...) */
} mtgr_status;

typedef struct mtgr_session mtgr_session;
typedef struct mtgr_batch mtgr_batch;

/* The calling thread's message for its last failing call ("" if none). */
const char *mtgr_last_error(void);
/* MTGR_API_VERSION of the library. */
int mtgr_api_version(void);

/* ---- sessions ---------------------------------------------------------- */

typedef struct mtgr_session_options {
  const char *device;   /* "cpu" (default when NULL), "cuda", "cuda-emu" */
  unsigned threads;     /* 0: every core */
  uint64_t max_memory;  /* bytes; 0: the machine's memory */
} mtgr_session_options;

/* Loads an artifact; `options` may be NULL (defaults). Parameters are
 * initialised from the model's seed; mtgr_session_load_params replaces them. */
mtgr_status mtgr_session_create(const char *artifact_path, const mtgr_session_options *options,
                                mtgr_session **out);
void mtgr_session_release(mtgr_session *session);
/* Loads parameters from a NumPy .npz (a PyTorch state_dict saved with numpy). */
mtgr_status mtgr_session_load_params(mtgr_session *session, const char *npz_path);

/* The model's tasks (their scores are task-major in mtgr_score's output). */
int64_t mtgr_session_num_tasks(const mtgr_session *session);
const char *mtgr_session_task_name(const mtgr_session *session, int64_t task); /* NULL if out of range */
/* 1 when the artifact has the prefix split (encode_prefix, score_candidates). */
int mtgr_session_can_cache_prefix(const mtgr_session *session);

/* ---- batches ----------------------------------------------------------- */

/* An empty batch of the session's model. */
mtgr_status mtgr_batch_create(const mtgr_session *session, mtgr_batch **out);
void mtgr_batch_release(mtgr_batch *batch);
/* Appends requests, one JSON object per line (docs/requests.md). On an
 * error the batch is unchanged. */
mtgr_status mtgr_batch_add_requests_json(mtgr_batch *batch, const char *jsonl);

/* Columns, for a whole batch at once (NumPy-style). B samples: the first
 * offsets given fix B. `group`: "sequence", "realtime" or "candidate";
 * `feature`: "<group>.<name>" ("user.<name>" for profile features, one row
 * per sample). Each call copies its array; mtgr_score checks the whole batch
 * (sizes, order, ranges) and names what is wrong. */
mtgr_status mtgr_batch_set_offsets(mtgr_batch *batch, const char *group, const int64_t *offsets,
                                   int64_t count); /* count = B + 1, offsets[0] = 0 */
mtgr_status mtgr_batch_set_times(mtgr_batch *batch, const char *group, const int64_t *times,
                                 int64_t count); /* one per row of the group */
mtgr_status mtgr_batch_set_ids(mtgr_batch *batch, const char *feature, const int64_t *ids,
                               int64_t count); /* categorical: one per row */
mtgr_status mtgr_batch_set_values(mtgr_batch *batch, const char *feature, const float *values,
                                  int64_t count); /* dense: rows x its width */
mtgr_status mtgr_batch_set_user_ids(mtgr_batch *batch, const int64_t *ids, int64_t count);
mtgr_status mtgr_batch_set_labels(mtgr_batch *batch, const char *task, const float *labels,
                                  int64_t count); /* one 0/1 per candidate */
int64_t mtgr_batch_num_samples(const mtgr_batch *batch);
int64_t mtgr_batch_num_candidates(const mtgr_batch *batch);

/* ---- scoring ----------------------------------------------------------- */

/* Scores every candidate: sigmoid probabilities, task-major
 * (scores[t * K + c], K = mtgr_batch_num_candidates). `capacity` is the
 * number of floats `scores` holds; `written` (may be NULL) receives tasks x K.
 * With the prefix cache enabled, repeat users skip their U and S rows. */
mtgr_status mtgr_score(mtgr_session *session, const mtgr_batch *batch, float *scores,
                       int64_t capacity, int64_t *written);

/* The per-user prefix cache (docs/serving.md): keyed by the user id and a
 * hash of the user's U and S inputs, LRU under `max_bytes`, rows stored in
 * bf16 when `bf16` is 1. MTGR_UNSUPPORTED when the model has no prefix
 * split (mtgr_last_error says why). Parameters loaded later clear it. */
mtgr_status mtgr_session_enable_prefix_cache(mtgr_session *session, uint64_t max_bytes, int bf16);

typedef struct mtgr_cache_stats {
  int64_t hits, misses, evictions, entries;
  uint64_t bytes;
} mtgr_cache_stats;
mtgr_status mtgr_session_cache_stats(const mtgr_session *session, mtgr_cache_stats *out);

/* ---- training ---------------------------------------------------------- */

/* One training step on a labelled batch (every task's labels set): the
 * loss of DESIGN 1.6, gradients, the optimiser update in place. The session
 * counts its steps (dropout's stream and Adam's bias correction use it). */
mtgr_status mtgr_train_step(mtgr_session *session, const mtgr_batch *batch, uint64_t seed,
                            double *loss);

#ifdef __cplusplus
}
#endif

#endif /* MTGR_MTGR_H */
