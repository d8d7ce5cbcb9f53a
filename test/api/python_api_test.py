"""A Python client that uses only `import mtgr` (and NumPy): its scores are
mtgr-run infer's, from requests given as JSON and the same requests given as
NumPy columns; the prefix cache gives the same scores; errors are mtgr.Error
with a status and a message, and the session goes on; a training step runs,
and again on labels set as columns. With PARAMS.npz and the scores
`mtgr-run infer --params=PARAMS.npz` wrote: loading them empties the cache
and gives those scores; a file that is no archive changes nothing.

    python_api_test.py ARTIFACT REQUESTS.jsonl INFER_SCORES.txt [PARAMS.npz PARAMS_SCORES.txt]

Exit status 0 when every check passed (each failure is printed).
"""
import json
import sys

import os

import numpy as np

import mtgr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from request_columns import request_columns  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def columns(batch, requests):
    """The requests as NumPy columns, feature by feature."""
    for name, a in request_columns(requests).items():
        if name == "user_ids":
            batch.set_user_ids(a)
        elif name.endswith(".offsets"):  # a reserved feature name: the group's offsets
            batch.set_offsets(name.split(".")[0], a)
        elif name.endswith(".time"):
            batch.set_times(name.split(".")[0], a)
        elif a.dtype == np.float32:
            batch.set_values(name, a.reshape(-1))
        else:
            try:
                batch.set_ids(name, a)
            except mtgr.Error as e:  # a dense feature whose values were all integers
                check(e.status == "invalid_argument" and "is dense" in str(e), str(e))
                batch.set_values(name, a.astype(np.float32))


def read_scores(path):
    """mtgr-run infer's output: the task names and a [candidates, tasks] array."""
    with open(path) as f:
        header = f.readline().split()[3:]  # "# user candidate <tasks...>"
        return header, np.array([[float(x) for x in l.split()[2:]] for l in f if l.strip()])


def main():
    artifact, requests_path, infer_path = sys.argv[1:4]
    text = open(requests_path).read()
    requests = [json.loads(l) for l in text.splitlines() if l.strip() and not l.startswith("#")]
    header, expected = read_scores(infer_path)

    s = mtgr.Session(artifact, device="cpu", threads=1)
    check(s.tasks == header, f"tasks {s.tasks} vs {header}")
    from_json = s.batch()
    from_json.add_requests_json(text)
    check(from_json.num_samples == len(requests), "samples")
    scores = s.score(from_json)
    check(scores.shape == (len(s.tasks), expected.shape[0]), f"shape {scores.shape}")
    check(scores.dtype == np.float32, f"dtype {scores.dtype}")
    # mtgr-run infer prints six decimals.
    check(np.all(np.abs(scores.T - expected) <= 5e-7 + 1e-6), "JSON scores vs mtgr-run infer")

    from_columns = s.batch()
    columns(from_columns, requests)
    by_columns = s.score(from_columns)
    check(np.array_equal(by_columns, scores), "NumPy columns vs JSON: the same batch, the same scores")

    if s.can_cache_prefix:
        s.enable_prefix_cache(max_bytes=1 << 28)
        for _ in range(2):
            check(np.allclose(s.score(from_json), scores, atol=1e-5, rtol=0), "cached scores")
        stats = s.cache_stats()
        n = len(requests)
        check(stats["hits"] == n and stats["misses"] == n, f"cache stats {stats}")
    else:
        try:
            s.enable_prefix_cache()
            check(False, "a model without the split accepted the cache")
        except mtgr.Error as e:
            check(e.status == "unsupported" and "no prefix split" in str(e), str(e))

    # Errors: an exception naming what, nothing changed, scoring goes on.
    for bad, status, words in ((lambda: from_json.add_requests_json('{"user": 1, "profile": [}'),
                                "invalid_argument", "requests:1"),
                               (lambda: from_json.set_ids("sequence.nope", np.zeros(1, np.int64)),
                                "not_found", "no feature 'sequence.nope'"),
                               (lambda: mtgr.Session("/nonexistent.mtgr"), "not_found",
                                "/nonexistent.mtgr"),
                               (lambda: s.score(mtgr.Session(artifact).batch()), "invalid_argument",
                                "another session")):
        try:
            bad()
            check(False, f"no error for a call that must fail with {status}")
        except mtgr.Error as e:
            check(e.status == status and words in str(e), f"{e.status}: {e}")
    empty = s.batch()
    empty.set_offsets("candidate", np.array([0, 1], dtype=np.int64))
    try:
        s.score(empty)
        check(False, "an incomplete batch scored")
    except mtgr.Error as e:
        check(e.status == "invalid_argument", f"incomplete batch: {e.status}: {e}")
    check(np.allclose(s.score(from_json), scores, atol=1e-5, rtol=0), "still scores")

    if len(sys.argv) > 5:
        params_path, params_scores = sys.argv[4:6]
        try:
            s.load_params(requests_path)
            check(False, "requests loaded as parameters")
        except mtgr.Error as e:
            check(e.status == "invalid_argument" and requests_path in str(e), f"{e.status}: {e}")
        check(np.allclose(s.score(from_json), scores, atol=1e-5, rtol=0), "a refused load changed scores")
        s.load_params(params_path)
        if s.can_cache_prefix:
            stats = s.cache_stats()
            check(stats["entries"] == 0 and stats["bytes"] == 0, f"cache after the load: {stats}")
        _, expected_after = read_scores(params_scores)
        after = s.score(from_json)
        check(np.all(np.abs(after.T - expected_after) <= 5e-7 + 2e-6), "scores of the loaded parameters")
        check(not np.allclose(after, scores, atol=1e-4), "other parameters, other scores")

    try:
        loss = s.train_step(from_json, seed=1)
        check(np.isfinite(loss) and loss > 0, f"loss {loss}")
        for task in s.tasks:  # labels as columns: every candidate's label 1
            from_json.set_labels(task, np.ones(from_json.num_candidates, np.float32))
        ones = s.train_step(from_json, seed=2)
        check(np.isfinite(ones) and ones > 0 and ones != loss, f"loss on column labels {ones}")
        try:
            from_json.set_labels("nope", np.ones(from_json.num_candidates, np.float32))
            check(False, "labels of an unknown task taken")
        except mtgr.Error as e:
            check(e.status == "not_found" and "nope" in str(e), f"{e.status}: {e}")
    except mtgr.Error as e:
        check(e.status == "unsupported", f"train_step: {e.status}: {e}")

    print(f"python API: {len(requests)} requests, {scores.shape[1]} candidates, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
