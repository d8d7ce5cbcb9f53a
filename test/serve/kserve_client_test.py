"""mtgr-serve against a standard KServe v2 client (tritonclient's HTTP client)
and raw HTTP, on loopback, bounded in count and time.

    kserve_client_test.py MTGR_SERVE ARTIFACT REQUESTS.jsonl INFER_SCORES.txt

Starts the server (--port=0), then checks: metadata, readiness and the
Triton-style config; scores of the requests as BYTES (binary tensors, the
client's default; JSON with binary_data=False; gzip bodies) and as NumPy
columns against mtgr-run infer's; a cache hit bit-identical to the miss
before it; every malformed request a 4xx naming the problem while the server
goes on answering correctly; ids echoed; a full queue answers 503; /metrics;
SIGTERM lets the request in flight finish and the server exit 0.
Exit status 0 when every check passed (each failure is printed).
"""
import gzip
import json
import signal
import sys
import threading
import time

import os

import numpy as np
import tritonclient.http as httpclient

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "api"))
sys.path.insert(0, here)
from request_columns import request_columns  # noqa: E402
from serve_util import check, failures, metric, raw, start as start_server  # noqa: E402


def start(serve, artifact, *flags):
    return start_server(serve, f"tiny={artifact}", *flags)


def requests_input(lines, binary=True):
    inp = httpclient.InferInput("requests", [len(lines)], "BYTES")
    inp.set_data_from_numpy(np.array([l.encode() for l in lines], dtype=np.object_),
                            binary_data=binary)
    return inp


def columns(requests):
    """The requests as KServe tensors (docs/serving.md's column inputs)."""
    out = []
    for name, a in request_columns(requests).items():
        i = httpclient.InferInput(name, list(a.shape), "FP32" if a.dtype == np.float32 else "INT64")
        i.set_data_from_numpy(a)
        out.append(i)
    return out


def main():
    serve, artifact, requests_path, infer_path = sys.argv[1:5]
    lines = [l for l in open(requests_path).read().splitlines() if l.strip()]
    requests = [json.loads(l) for l in lines]
    with open(infer_path) as f:
        tasks = f.readline().split()[3:]
        expected = np.array([[float(x) for x in l.split()[2:]] for l in f if l.strip()])

    p, port = start(serve, artifact, "--max-body=200000", "--max-candidates=100",
                    "--read-timeout=2")
    client = httpclient.InferenceServerClient(f"127.0.0.1:{port}")
    check(client.is_server_live() and client.is_server_ready(), "live and ready")
    check(client.is_model_ready("tiny"), "model ready")
    meta = client.get_model_metadata("tiny")
    check([o["name"] for o in meta["outputs"]] == tasks, f"outputs {meta['outputs']}")
    check(any(i["name"] == "requests" and i["datatype"] == "BYTES" for i in meta["inputs"]),
          "the requests input")
    config = client.get_model_config("tiny")
    check(config["input"][0]["name"] == "requests" and config["max_batch_size"] == 0,
          f"config {config}")

    def scores_of(result):
        return np.stack([result.as_numpy(t) for t in tasks], axis=1)

    def matches_infer(s, what):
        check(s.shape == expected.shape, f"{what}: shape {s.shape} vs {expected.shape}")
        if s.shape == expected.shape:
            worst = float(np.max(np.abs(s - expected)))
            check(worst <= 2e-6, f"{what}: {worst} from mtgr-run infer")

    outputs = [httpclient.InferRequestedOutput(t) for t in tasks]
    first = client.infer("tiny", [requests_input(lines)], outputs=outputs, request_id="req-1")
    check(first.get_response()["id"] == "req-1", "request id echoed")
    miss = scores_of(first)
    matches_infer(miss, "binary tensors")
    hit = scores_of(client.infer("tiny", [requests_input(lines)], outputs=outputs))
    check(np.array_equal(hit, miss), "a cache hit is bit-identical to the miss before it")
    as_json = client.infer("tiny", [requests_input(lines, binary=False)],
                           outputs=[httpclient.InferRequestedOutput(t, binary_data=False)
                                    for t in tasks])
    matches_infer(scores_of(as_json), "JSON tensors")
    zipped = client.infer("tiny", [requests_input(lines)], outputs=outputs,
                          request_compression_algorithm="gzip")
    matches_infer(scores_of(zipped), "gzip request")
    by_columns = client.infer("tiny", columns(requests), outputs=outputs)
    matches_infer(scores_of(by_columns), "NumPy columns")

    # Malformed requests: a 4xx with the reason; the server keeps answering.
    good = json.dumps({"inputs": [{"name": "requests", "shape": [1], "datatype": "BYTES",
                                   "data": [lines[0]]}]}).encode()
    infer = "/v2/models/tiny/infer"
    lying = json.dumps({"inputs": [{"name": "requests", "shape": [1], "datatype": "BYTES",
                                    "parameters": {"binary_data_size": 100}}]}).encode()
    bad_cases = [
        ("bad JSON", infer, b'{"inputs": [', {}, 400, "request JSON"),
        ("wrong datatype", infer, json.dumps({"inputs": [{"name": "requests", "shape": [1],
                                                          "datatype": "FP32", "data": [1.0]}]}).encode(),
         {}, 400, "must be BYTES"),
        ("shape and data disagree", infer, json.dumps({"inputs": [{"name": "requests", "shape": [2],
                                                                   "datatype": "BYTES",
                                                                   "data": [lines[0]]}]}).encode(),
         {}, 400, "not 2 BYTES values"),
        ("missing inputs", infer, json.dumps({"inputs": [{"name": "user_ids", "shape": [1],
                                                          "datatype": "INT64", "data": [1]}]}).encode(),
         {}, 400, "missing input"),
        ("a bad request line", infer, json.dumps({"inputs": [{"name": "requests", "shape": [1],
                                                              "datatype": "BYTES",
                                                              "data": ['{"user": 1}']}]}).encode(),
         {}, 400, "requests:1"),
        ("oversized body", infer, b"x" * 300000, {}, 413, "limit"),
        ("gzip bomb", infer, gzip.compress(b" " * 5000000), {"Content-Encoding": "gzip"}, 413,
         "limit"),
        ("unknown encoding", infer, good, {"Content-Encoding": "br"}, 415, "Content-Encoding"),
        ("corrupt gzip", infer, gzip.compress(good)[:-12] + b"garbage!", {"Content-Encoding": "gzip"},
         400, "gzip"),
        ("120 header fields", infer, good, {f"X-Filler-{i}": "x" for i in range(120)}, 431,
         "header fields"),
        ("unknown model", "/v2/models/nope/infer", good, {}, 404, "unknown model"),
        ("binary size that lies", infer, lying + b"\x05\0\0\0abc",
         {"Inference-Header-Content-Length": str(len(lying))}, 400, "binary_data_size 100"),
        ("header length past the body", infer, good, {"Inference-Header-Content-Length": "99999"},
         400, "Inference-Header-Content-Length"),
        ("too many candidates", infer,
         json.dumps({"inputs": [{"name": "requests", "shape": [1], "datatype": "BYTES",
                                 "data": [json.dumps(dict(requests[0], candidates=requests[0]["candidates"] * 101))]}]}).encode(),
         {}, 400, "candidates in one request"),
        ("GET on infer", infer, b"", {}, 405, "POST"),
    ]
    for what, path, body, headers, status, words in bad_cases:
        got, _, data = raw(port, "GET" if what == "GET on infer" else "POST", path, body, headers)
        check(got == status, f"{what}: status {got}, expected {status}: {data[:200]}")
        check(words.encode() in data, f"{what}: {data[:300]!r} lacks {words!r}")
        s, _, d = raw(port, "POST", infer, good)
        check(s == 200, f"after {what}: the server answers {s} {d[:200]}")
    # Versioned paths: the model's version ("1" by default) answers, another is 404.
    s, _, d = raw(port, "POST", "/v2/models/tiny/versions/1/infer", good)
    check(s == 200, f"versions/1/infer: {s} {d[:200]}")
    s, _, d = raw(port, "GET", "/v2/models/tiny/versions/2")
    check(s == 404 and b"version '2'" in d, f"versions/2: {s} {d[:200]}")
    status, headers, _ = raw(port, "POST", infer, good, {"X-Request-ID": "abc-7"})
    check(headers.get("X-Request-ID") == "abc-7", f"X-Request-ID echoed: {headers}")
    s, _, d = raw(port, "GET", "/metrics")
    text = d.decode()
    check(s == 200 and 'mtgr_http_responses_total{code="413"}' in text and
          "mtgr_prefix_cache_hits_total" in text and "mtgr_request_duration_seconds_count" in text,
          "metrics")
    check((metric(text, "mtgr_prefix_cache_hits_total") or 0) > 0, "cache hits counted")
    f32_bytes = metric(text, "mtgr_prefix_cache_bytes")
    check(f32_bytes and f32_bytes > 0, "cached bytes reported")
    # A client that stops sending is cut off after --read-timeout.
    import socket
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    stalled.sendall(b"POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    t0 = time.time()
    try:
        closed = stalled.recv(100) == b""
    except ConnectionResetError:
        closed = True
    check(closed and time.time() - t0 < 8, f"a stalled client is cut off ({time.time() - t0:.1f} s)")
    stalled.close()
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=30) == 0, "exit 0 on SIGTERM")

    # A full queue answers 503; SIGTERM lets the request in flight finish.
    p, port = start(serve, artifact, "--queue=1", "--batch-delay-ms=400")
    answers = {}

    def send(key):
        answers[key] = raw(port, "POST", infer, good)

    a = threading.Thread(target=send, args=("first",))
    a.start()
    time.sleep(0.1)
    s, _, d = raw(port, "POST", infer, good)
    check(s == 503 and b"queue" in d, f"a full queue: {s} {d[:200]}")
    p.send_signal(signal.SIGTERM)
    a.join(timeout=30)
    check(answers.get("first", (0,))[0] == 200, f"the request in flight: {answers.get('first')}")
    check(p.wait(timeout=30) == 0, "exit 0 after the request in flight")

    # --cache-bf16: half the bytes per cached user, scores within bf16's
    # rounding of mtgr-run infer's, a hit still bit-identical to its miss.
    p, port = start(serve, artifact, "--cache-bf16")
    client = httpclient.InferenceServerClient(f"127.0.0.1:{port}")
    miss = scores_of(client.infer("tiny", [requests_input(lines)], outputs=outputs))
    check(miss.shape == expected.shape and float(np.max(np.abs(miss - expected))) <= 5e-3,
          "bf16 cached rows: scores near mtgr-run infer's")
    hit = scores_of(client.infer("tiny", [requests_input(lines)], outputs=outputs))
    check(np.array_equal(hit, miss), "bf16 rows: a hit is bit-identical to its miss")
    _, _, d = raw(port, "GET", "/metrics")
    half = metric(d.decode(), "mtgr_prefix_cache_bytes")
    check(half and f32_bytes and 2 * half == f32_bytes,
          f"bf16 rows take half the bytes: {half} vs {f32_bytes}")
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=30) == 0, "exit 0 on SIGTERM (bf16)")

    print(f"kserve client: {len(lines)} requests, {len(bad_cases)} bad ones, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
