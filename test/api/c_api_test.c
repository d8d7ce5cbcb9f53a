/* c_api_test.c - a C program that uses only include/mtgr/mtgr.h.
 *
 *   c_api_test ARTIFACT REQUESTS.jsonl [PARAMS.npz SCORES-AFTER.txt]
 *
 * Scores the requests and prints one line per candidate with each task's
 * probability (%.6f), as `mtgr-run infer` does after its user and candidate
 * columns (test/tools/c-api.test compares them). Then, on stderr, checks
 * with a message per failure: the prefix cache (when the model has the
 * split: the same scores, one hit per repeat user), errors (bad JSON, an
 * unknown feature, a short output buffer, a batch of another session) that
 * leave the session working, and a training step on the labelled requests.
 * With PARAMS.npz: loading them empties the cache (its rows are of the old
 * parameters; a file that is not an archive changes nothing), and the
 * scores after it go to SCORES-AFTER.txt (as the first ones: c-api.test
 * compares them with `mtgr-run infer --params`). Labels set as a column
 * replace the requests' (a wrong count or task refused) and train.
 * Exit status: the number of failed checks (0: all passed).
 */
#include <mtgr/mtgr.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "FAIL line %d: ", __LINE__);                                              \
      fprintf(stderr, __VA_ARGS__);                                                             \
      fprintf(stderr, " (last error: %s)\n", mtgr_last_error());                                \
      ++failures;                                                                               \
    }                                                                                           \
  } while (0)

static char *readFile(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  size_t got = fread(text, 1, (size_t)n, f);
  text[got] = 0;
  fclose(f);
  return text;
}

static void printScores(FILE *out, const mtgr_session *session, const float *scores, int64_t tasks,
                        int64_t K) {
  fprintf(out, "#");
  for (int64_t t = 0; t < tasks; ++t)
    fprintf(out, " %s", mtgr_session_task_name(session, t));
  fprintf(out, "\n");
  for (int64_t c = 0; c < K; ++c) {
    for (int64_t t = 0; t < tasks; ++t)
      fprintf(out, t ? " %.6f" : "%.6f", scores[t * K + c]);
    fprintf(out, "\n");
  }
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: c_api_test ARTIFACT REQUESTS.jsonl [PARAMS.npz SCORES-AFTER.txt]\n");
    return 100;
  }
  char *requests = readFile(argv[2]);
  if (!requests) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 100;
  }
  CHECK(mtgr_api_version() == MTGR_API_VERSION, "API version %d", mtgr_api_version());
  mtgr_session_options options = {"cpu", 1, 0};
  mtgr_session *session = NULL;
  if (mtgr_session_create(argv[1], &options, &session) != MTGR_OK) {
    fprintf(stderr, "mtgr_session_create: %s\n", mtgr_last_error());
    return 100;
  }
  mtgr_batch *batch = NULL;
  CHECK(mtgr_batch_create(session, &batch) == MTGR_OK, "mtgr_batch_create");
  CHECK(mtgr_batch_add_requests_json(batch, requests) == MTGR_OK, "add requests");
  int64_t tasks = mtgr_session_num_tasks(session), K = mtgr_batch_num_candidates(batch);
  float *scores = malloc(sizeof(float) * (size_t)(tasks * K + 1));
  int64_t written = 0;
  CHECK(mtgr_score(session, batch, scores, tasks * K, &written) == MTGR_OK, "mtgr_score");
  CHECK(written == tasks * K, "wrote %lld scores", (long long)written);
  printScores(stdout, session, scores, tasks, K);

  /* The prefix cache: the same scores (to rounding), a hit per repeat user. */
  if (mtgr_session_can_cache_prefix(session)) {
    CHECK(mtgr_session_enable_prefix_cache(session, 1u << 30, 0) == MTGR_OK, "enable cache");
    float *cached = malloc(sizeof(float) * (size_t)(tasks * K + 1));
    for (int round = 0; round < 2; ++round) {
      CHECK(mtgr_score(session, batch, cached, tasks * K, NULL) == MTGR_OK, "cached score");
      for (int64_t i = 0; i < tasks * K; ++i)
        CHECK(fabsf(cached[i] - scores[i]) < 1e-5f, "cached score %lld: %f vs %f", (long long)i,
              cached[i], scores[i]);
    }
    mtgr_cache_stats stats;
    CHECK(mtgr_session_cache_stats(session, &stats) == MTGR_OK, "cache stats");
    int64_t B = mtgr_batch_num_samples(batch);
    CHECK(stats.misses == B && stats.hits == B, "hits %lld misses %lld for %lld users twice",
          (long long)stats.hits, (long long)stats.misses, (long long)B);
    fprintf(stderr, "cache: %lld hits, %lld misses, %llu bytes\n", (long long)stats.hits,
            (long long)stats.misses, (unsigned long long)stats.bytes);
    free(cached);
  } else {
    CHECK(mtgr_session_enable_prefix_cache(session, 1u << 30, 0) == MTGR_UNSUPPORTED,
          "a model without the split refuses the cache");
    CHECK(strstr(mtgr_last_error(), "no prefix split") != NULL, "says why");
  }

  /* Bad input: a status, a message naming what, the batch and session intact. */
  CHECK(mtgr_batch_add_requests_json(batch, "{\"user\": 1, \"profile\": [}\n") ==
            MTGR_INVALID_ARGUMENT,
        "bad JSON refused");
  CHECK(strstr(mtgr_last_error(), "requests:1") != NULL, "names the line: %s", mtgr_last_error());
  CHECK(mtgr_batch_num_candidates(batch) == K, "the batch is unchanged");
  int64_t id = 3;
  CHECK(mtgr_batch_set_ids(batch, "sequence.no_such", &id, 1) == MTGR_NOT_FOUND,
        "unknown feature");
  CHECK(mtgr_score(session, batch, scores, tasks * K - 1, NULL) == MTGR_INVALID_ARGUMENT,
        "short output refused");
  CHECK(strstr(mtgr_last_error(), "need") != NULL, "says what it needs");
  CHECK(mtgr_score(NULL, batch, scores, tasks * K, NULL) == MTGR_INVALID_ARGUMENT, "NULL session");
  mtgr_session *other = NULL;
  CHECK(mtgr_session_create(argv[1], &options, &other) == MTGR_OK, "second session");
  CHECK(mtgr_score(other, batch, scores, tasks * K, NULL) == MTGR_INVALID_ARGUMENT,
        "a batch of another session refused");
  mtgr_session_release(other);
  CHECK(mtgr_session_create("/nonexistent.mtgr", NULL, &other) == MTGR_NOT_FOUND,
        "missing artifact");
  CHECK(other == NULL, "no session on failure");
  CHECK(mtgr_score(session, batch, scores, tasks * K, NULL) == MTGR_OK, "still scores");

  /* Other parameters: the cache empties; a file that is no archive changes nothing. */
  if (argc == 5) {
    int cached = mtgr_session_can_cache_prefix(session);
    CHECK(mtgr_session_load_params(session, argv[2]) == MTGR_INVALID_ARGUMENT,
          "requests are no parameters");
    CHECK(strstr(mtgr_last_error(), argv[2]) != NULL, "names the file: %s", mtgr_last_error());
    float *same = malloc(sizeof(float) * (size_t)(tasks * K + 1));
    CHECK(mtgr_score(session, batch, same, tasks * K, NULL) == MTGR_OK, "score after the refusal");
    for (int64_t i = 0; i < tasks * K; ++i)
      CHECK(fabsf(same[i] - scores[i]) < 1e-5f, "score %lld moved after a refused load",
            (long long)i);
    free(same);
    CHECK(mtgr_session_load_params(session, argv[3]) == MTGR_OK, "load %s", argv[3]);
    mtgr_cache_stats stats;
    if (cached) {
      CHECK(mtgr_session_cache_stats(session, &stats) == MTGR_OK, "cache stats");
      CHECK(stats.entries == 0 && stats.bytes == 0, "the cache is empty after the load: %lld rows",
            (long long)stats.entries);
    }
    CHECK(mtgr_score(session, batch, scores, tasks * K, NULL) == MTGR_OK, "score new parameters");
    FILE *after = fopen(argv[4], "w");
    CHECK(after != NULL, "open %s", argv[4]);
    if (after) {
      printScores(after, session, scores, tasks, K);
      fclose(after);
    }
  }

  /* Labels as columns: every candidate's, per task; wrong task or count refused. */
  float *ones = malloc(sizeof(float) * (size_t)(K + 1));
  for (int64_t c = 0; c < K; ++c)
    ones[c] = 1.0f;
  CHECK(mtgr_batch_set_labels(batch, "no_such_task", ones, K) == MTGR_NOT_FOUND, "unknown task");
  CHECK(strstr(mtgr_last_error(), "no_such_task") != NULL, "names the task");

  /* A training step on the labelled requests lowers nothing here, but runs. */
  double loss = -1;
  mtgr_status trained = mtgr_train_step(session, batch, 1, &loss);
  if (trained == MTGR_OK)
    CHECK(loss > 0 && isfinite(loss), "loss %f", loss);
  else
    CHECK(trained == MTGR_UNSUPPORTED, "train step status %d", (int)trained);
  if (trained == MTGR_OK) {
    /* Every label 1: the loss is each candidate's -log p, another number. */
    for (int64_t t = 0; t < tasks; ++t)
      CHECK(mtgr_batch_set_labels(batch, mtgr_session_task_name(session, t), ones, K) == MTGR_OK,
            "labels of task %lld", (long long)t);
    double allOnes = -1;
    CHECK(mtgr_train_step(session, batch, 2, &allOnes) == MTGR_OK, "train on column labels");
    CHECK(allOnes > 0 && isfinite(allOnes) && allOnes != loss, "loss %f (requests' labels: %f)",
          allOnes, loss);
    CHECK(mtgr_batch_set_labels(batch, mtgr_session_task_name(session, 0), ones, K - 1) == MTGR_OK,
          "a short column is taken (the step checks it)");
    CHECK(mtgr_train_step(session, batch, 3, &allOnes) == MTGR_INVALID_ARGUMENT,
          "a step on labels of the wrong count refused");
    CHECK(strstr(mtgr_last_error(), "label") != NULL, "says which: %s", mtgr_last_error());
  }
  free(ones);

  mtgr_batch_release(batch);
  mtgr_session_release(session);
  free(scores);
  free(requests);
  if (failures)
    fprintf(stderr, "%d checks failed\n", failures);
  return failures;
}
