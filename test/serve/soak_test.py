"""mtgr-serve under a long stream of requests keeps its memory flat.

    soak_test.py MTGR_SERVE ARTIFACT REQUESTS.jsonl [REQUESTS_PER_PHASE]

Starts the server with a 1 MiB prefix cache (so users are evicted), then
sends, from 4 client threads over kept-alive and fresh connections, a mix:
requests of 600 rotating user ids (hits, misses, evictions), batches of
several users, gzip bodies, and malformed requests (bad JSON, a binary size
that lies, an unknown model). A warm-up phase lets the pools reach their
size; then two equal phases follow, each a fixed number of requests. The
server's resident memory after the last phase may exceed that after the
first by at most 2 MiB (the test's count and time are bounded: about ten
seconds on the tiny model). Prints one line; exit status 0 when every check
passed.
"""
import gzip
import http.client
import json
import os
import signal
import sys
import threading

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from serve_util import binary_infer_body, check, failures, metric, raw, rss_kib, start  # noqa: E402


def main():
    serve, artifact, requests_path = sys.argv[1:4]
    per_phase = int(sys.argv[4]) if len(sys.argv) > 4 else 1500
    base = [json.loads(l) for l in open(requests_path).read().splitlines() if l.strip()]
    p, port = start(serve, f"tiny={artifact}", "--cache-mib=1", "--batch-delay-ms=1")
    _, _, meta = raw(port, "GET", "/v2/models/tiny")
    outputs = [o["name"] for o in json.loads(meta)["outputs"]]

    def line(i):
        r = dict(base[i % len(base)])
        r["user"] = (i * 7919) % 600  # 600 users: a 1 MiB cache holds only some
        return json.dumps(r)

    def body(i):
        kind = i % 10
        if kind == 7:  # malformed: bad JSON
            return b'{"inputs": [', {}, 400
        if kind == 8:  # malformed: a binary size that lies
            b, h = binary_infer_body([line(i)], outputs)
            h["Inference-Header-Content-Length"] = str(len(b) + 10)
            return b, h, 400
        if kind == 5:  # three users in one request, gzip
            b, h = binary_infer_body([line(i), line(i + 1), line(i + 2)], outputs)
            h["Content-Encoding"] = "gzip"
            return gzip.compress(b), h, 200
        return (*binary_infer_body([line(i)], outputs), 200)

    counter = iter(range(10 ** 9))
    lock = threading.Lock()
    unexpected = []

    def client(n):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(n):
            with lock:
                i = next(counter)
            b, h, want = body(i)
            if i % 13 == 0:  # an unknown model, on a fresh connection
                s, _, _ = raw(port, "POST", "/v2/models/nope/infer", b, h)
                want = 404
            else:
                try:
                    s, _, _ = raw(port, "POST", "/v2/models/tiny/infer", b, h, connection=c)
                except (http.client.HTTPException, ConnectionError):
                    c.close()  # the server closes a connection after some errors
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    s, _, _ = raw(port, "POST", "/v2/models/tiny/infer", b, h, connection=c)
            if s != want:
                with lock:
                    unexpected.append((i, s, want))
        c.close()

    def phase():
        threads = [threading.Thread(target=client, args=(per_phase // 4,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return rss_kib(p.pid)

    warm = phase()
    first = phase()
    last = phase()
    check(not unexpected, f"{len(unexpected)} unexpected statuses, e.g. {unexpected[:3]}")
    check(last - first <= 2048, f"resident memory grew {last - first} KiB over {per_phase} "
          f"requests (warm {warm}, then {first}, then {last} KiB)")
    _, _, m = raw(port, "GET", "/metrics")
    text = m.decode()
    check((metric(text, "mtgr_prefix_cache_evictions_total") or 0) > 0, "users were evicted")
    s, _, _ = raw(port, "POST", "/v2/models/tiny/infer", *binary_infer_body([line(1)], outputs))
    check(s == 200, f"the server answers after the soak: {s}")
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=30) == 0, "exit 0 on SIGTERM")
    print(f"soak: {3 * per_phase} requests, resident memory {warm} -> {first} -> {last} KiB, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
