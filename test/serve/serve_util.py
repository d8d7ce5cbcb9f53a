"""What the mtgr-serve tests and bench/serve share: checks, starting the server on
a free loopback port, raw HTTP calls, a request's KServe v2 body with the
binary tensor extension, and a process's resident memory."""
import http.client
import json
import re
import struct
import subprocess
import sys
import threading
import time

# Every check's failure, printed as it happens (the test's exit status).
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def start(serve, spec, *flags, threads=1):
    """mtgr-serve SPEC --port=0 FLAGS...: the process and the port it printed."""
    p = subprocess.Popen([serve, spec, "--port=0", f"--num-threads={threads}", *flags],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = p.stderr.readline()
        m = re.search(r"listening on 127.0.0.1:(\d+)", line)
        if m:
            threading.Thread(target=p.stderr.read, daemon=True).start()  # drain
            return p, int(m.group(1))
        if not line and p.poll() is not None:
            break
    p.kill()
    raise SystemExit("mtgr-serve did not start")


def raw(port, method, path, body=b"", headers=None, connection=None):
    """One HTTP call: (status, headers, body). With `connection` (an
    http.client.HTTPConnection) it is reused (keep-alive)."""
    c = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if connection is None:
        c.close()
    return r.status, dict(r.getheaders()), data


def binary_infer_body(lines, outputs):
    """A KServe v2 infer body: the JSON request lines as one BYTES tensor in
    the binary tensor extension (tritonclient's default), outputs asked in
    binary. Returns (body, headers)."""
    data = b"".join(struct.pack("<I", len(l)) + l for l in (x.encode() for x in lines))
    header = json.dumps({
        "inputs": [{"name": "requests", "shape": [len(lines)], "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(data)}}],
        "outputs": [{"name": o, "parameters": {"binary_data": True}} for o in outputs],
    }).encode()
    return header + data, {"Inference-Header-Content-Length": str(len(header)),
                           "Content-Type": "application/octet-stream"}


def metric(text, name, model="tiny", version="1"):
    """A model's sample of `name` in /metrics' Prometheus text, or None."""
    m = re.search(name + r'\{model="' + re.escape(model) + r'",version="' + re.escape(version) +
                  r'"\} (\d+(?:\.\d+)?(?:e[-+]?\d+)?)', text)
    return float(m.group(1)) if m else None


def rss_kib(pid):
    """Resident memory of a process (VmRSS, KiB)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
