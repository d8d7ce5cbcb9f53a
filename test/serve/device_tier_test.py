"""mtgr-serve on a device with memory of its own (the GPU emulator): the
prefix cache's device tier.

    device_tier_test.py MTGR_SERVE ARTIFACT REQUESTS.jsonl INFER_SCORES.txt

Serves a CUDA artifact with --device=cuda-emu and sends the same users three
times (one request of all of them): the scores match mtgr-run infer's on the
same device each time; /metrics counts each user's rows copied to the device
once and found there twice. With --cache-device-mib=0 nothing is kept there
and the scores are the same. Plain Python; prints one line, exit status 0
when every check passed.
"""
import json
import os
import signal
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from serve_util import check, failures, metric, raw, start  # noqa: E402


def main():
    serve, artifact, requests_path, infer_path = sys.argv[1:5]
    lines = [l for l in open(requests_path).read().splitlines() if l.strip()]
    with open(infer_path) as f:
        tasks = f.readline().split()[3:]
        expected = [[float(x) for x in l.split()[2:]] for l in f if l.strip()]
    body = json.dumps({"inputs": [{"name": "requests", "shape": [len(lines)],
                                   "datatype": "BYTES", "data": lines}]}).encode()
    users = len(lines)
    for device_mib, kept in (("16", True), ("0", False)):
        p, port = start(serve, f"tiny={artifact}", "--device=cuda-emu",
                        f"--cache-device-mib={device_mib}")
        for round in range(3):
            s, _, d = raw(port, "POST", "/v2/models/tiny/infer", body)
            check(s == 200, f"device tier {device_mib} MiB, round {round}: {s} {d[:200]}")
            if s != 200:
                continue
            out = {o["name"]: o["data"] for o in json.loads(d)["outputs"]}
            got = [[out[t][k] for t in tasks] for k in range(len(expected))]
            worst = max(abs(a - b) for g, e in zip(got, expected) for a, b in zip(g, e))
            check(worst <= 2e-6, f"device tier {device_mib} MiB, round {round}: {worst} from "
                                 "mtgr-run infer")
        _, _, d = raw(port, "GET", "/metrics")
        text = d.decode()
        uploads = metric(text, "mtgr_prefix_cache_device_uploads_total")
        reuses = metric(text, "mtgr_prefix_cache_device_reuses_total")
        held = metric(text, "mtgr_prefix_cache_device_bytes")
        want = (users, 2 * users) if kept else (0, 0)
        check((uploads, reuses) == want,
              f"device tier {device_mib} MiB: uploads, reuses {uploads}, {reuses}, want {want}")
        check((held > 0) == kept, f"device tier {device_mib} MiB: {held} bytes held")
        p.send_signal(signal.SIGTERM)
        check(p.wait(timeout=30) == 0, "exit status after SIGTERM")
    print(f"device tier: {users} users x 3 rounds x 2 servers, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
