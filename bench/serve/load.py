"""Latency and throughput of mtgr-serve under concurrent clients, with and
without the prefix cache (bench/serve/run-load.sh runs it).

Closed loop: C client threads, each sending its next request as soon as the
last one is answered, for --seconds per point, over kept-alive loopback
connections. The requests follow one fixed stream: each is from a user seen
before with probability --repeat-rate (its U and S unchanged, new R events
and candidates), else from a new user. Every point starts a fresh server
(--cache-mib=0 for "no cache"), warms it with requests of users outside the
stream, then measures. The baseline of each point is the same concurrency
without the cache, measured in the same run. Bodies are built before the
clock starts (KServe v2 binary tensors, as tritonclient sends them); the
clients share the machine's cores with the server, as on a small host.

Writes --results (a table and the ratios) and, when matplotlib imports,
--plot (p50/p99 and throughput against concurrency).
"""
import argparse
import http.client
import json
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "test", "serve"))
from serve_util import binary_infer_body, metric, raw, start  # noqa: E402


def exact(events, n, rng):
    """`events` resampled to exactly n, in time order (ties kept)."""
    if not events or n == 0:
        return []
    picked = [dict(events[i % len(events)]) for i in range(n)] if len(events) < n else \
        [dict(e) for e in rng.sample(events, n)]
    return sorted(picked, key=lambda e: e.get("time", 0))


def stream(pool, count, repeat, rt_len, candidates, seed):
    """`count` request lines: users from `pool` (new ones in order, ids
    beyond the pool's when it runs out), each request's R and C from a random
    pool line, of exactly rt_len and `candidates` rows."""
    rng = random.Random(seed)
    seen, lines, new_users = [], [], 0
    for _ in range(count):
        if seen and rng.random() < repeat:
            user = rng.choice(seen)
        else:
            base = pool[new_users % len(pool)]
            user = {"user": 100000 + new_users, "profile": base["profile"],
                    "sequence": base["sequence"]}
            new_users += 1
            seen.append(user)
        rc = rng.choice(pool)
        realtime = exact(rc["realtime"], rt_len, rng)
        cands = exact(rc["candidates"], candidates, rng)
        # R and C after the user's S, as a request of that user would be.
        last_s = max((e["time"] for e in user["sequence"]), default=0)
        first_rc = min((e["time"] for e in realtime + cands), default=last_s + 1)
        shift = max(0, last_s + 1 - first_rc)
        for e in realtime + cands:
            e["time"] += shift
        lines.append(json.dumps(dict(user, realtime=realtime, candidates=cands)))
    return lines, new_users


def measure(args, bodies, warm, concurrency, cache):
    flags = [f"--cache-mib={4096 if cache else 0}", f"--max-batch={args.max_batch}",
             f"--batch-delay-ms={args.batch_delay_ms}", "--queue=256"]
    p, port = start(args.serve, f"m={args.artifact}", *flags, threads=args.threads)
    try:
        for body, headers in warm:
            s, _, d = raw(port, "POST", "/v2/models/m/infer", body, headers)
            if s != 200:
                raise SystemExit(f"warm-up request: {s} {d[:300]}")
        _, _, before = raw(port, "GET", "/metrics")
        before = before.decode()
        latencies, errors = [], []
        lock = threading.Lock()
        next_index = [0]
        stop_at = time.time() + args.seconds

        def client():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            while time.time() < stop_at:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                body, headers = bodies[i % len(bodies)]
                t0 = time.perf_counter()
                s, _, d = raw(port, "POST", "/v2/models/m/infer", body, headers, connection=c)
                t = time.perf_counter() - t0
                with lock:
                    (latencies if s == 200 else errors).append(t if s == 200 else (s, d[:200]))
            c.close()

        t0 = time.time()
        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        _, _, after = raw(port, "GET", "/metrics")
        after = after.decode()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    delta = {n: (metric(after, n, "m") or 0.0) - (metric(before, n, "m") or 0.0) for n in
             ("mtgr_batch_calls_total", "mtgr_batch_samples_total",
              "mtgr_prefix_cache_hits_total", "mtgr_prefix_cache_misses_total")}
    lat = sorted(latencies)

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3

    looked_up = delta["mtgr_prefix_cache_hits_total"] + delta["mtgr_prefix_cache_misses_total"]
    return {
        "concurrency": concurrency, "cache": cache, "requests": len(lat),
        "throughput": len(lat) / wall, "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99),
        "mean": sum(lat) / len(lat) * 1e3,
        "batch": delta["mtgr_batch_samples_total"] / max(1, delta["mtgr_batch_calls_total"]),
        "hit_rate": delta["mtgr_prefix_cache_hits_total"] / looked_up if looked_up else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", required=True)
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--pool", required=True, help="mtgr-run gen output: users to draw from")
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--repeat-rate", type=float, default=0.9)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rt-len", type=int, default=100)
    ap.add_argument("--candidates", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2, help="server threads")
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--batch-delay-ms", type=float, default=2.0)
    ap.add_argument("--stream-length", type=int, default=600)
    ap.add_argument("--results", default="-")
    ap.add_argument("--plot", default="")
    ap.add_argument("--model", default="")
    args = ap.parse_args()

    pool = [json.loads(l) for l in open(args.pool) if l.strip()]
    lines, users = stream(pool, args.stream_length, args.repeat_rate, args.rt_len,
                          args.candidates, seed=7)
    warm_lines, _ = stream(pool[::-1], 4, 0.0, args.rt_len, args.candidates, seed=8)
    for i, l in enumerate(warm_lines):  # users outside the stream
        r = json.loads(l)
        r["user"] = 900000 + i
        warm_lines[i] = json.dumps(r)
    p, port = start(args.serve, f"m={args.artifact}", threads=1)
    _, _, meta = raw(port, "GET", "/v2/models/m")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    outputs = [o["name"] for o in json.loads(meta)["outputs"]]
    bodies = [binary_infer_body([l], outputs) for l in lines]
    warm = [binary_infer_body([l], outputs) for l in warm_lines]

    points = []
    for c in [int(x) for x in args.concurrency.split(",")]:
        for cache in (False, True):
            r = measure(args, bodies, warm, c, cache)
            points.append(r)
            print(f"  concurrency {c:3d} {'cache   ' if cache else 'no cache'}: "
                  f"{r['requests']} requests, {r['throughput']:.2f}/s, p50 {r['p50']:.1f} ms, "
                  f"p99 {r['p99']:.1f} ms", file=sys.stderr)

    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    tokens = 4 + len(pool[0]["sequence"]) + args.rt_len + args.candidates
    out = [
        f"# bench/serve/load.py: mtgr-serve on loopback, {args.model or args.artifact}",
        f"# CPU: {cpu}, {os.cpu_count()} cores shared by the server ({args.threads} threads) "
        f"and the clients",
        f"# each request: 1 user, S {len(pool[0]['sequence'])}, R {args.rt_len}, "
        f"{args.candidates} candidates (~{tokens} tokens), KServe v2 binary tensors",
        f"# stream: {args.stream_length} requests, repeat rate {args.repeat_rate:.2f} "
        f"({users} users); closed loop for {args.seconds:.0f} s per point; server "
        f"--max-batch={args.max_batch} --batch-delay-ms={args.batch_delay_ms}",
        "# baseline of each row: the same concurrency without the cache (--cache-mib=0), "
        "this run",
        f"{'clients':>7} {'cache':>5} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'mean ms':>8} {'users/call':>10} {'hits':>5} {'req/s x':>8} "
        f"{'p99 x':>6}",
    ]
    base = {r["concurrency"]: r for r in points if not r["cache"]}
    for r in points:
        b = base[r["concurrency"]]
        out.append(f"{r['concurrency']:>7} {'on' if r['cache'] else 'off':>5} "
                   f"{r['requests']:>8} {r['throughput']:>7.2f} {r['p50']:>8.1f} "
                   f"{r['p90']:>8.1f} {r['p99']:>8.1f} {r['mean']:>8.1f} {r['batch']:>10.2f} "
                   f"{r['hit_rate']:>5.2f} {r['throughput'] / b['throughput']:>8.2f} "
                   f"{r['p99'] / b['p99']:>6.2f}")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.results != "-":
        with open(args.results, "w") as f:
            f.write(text)
    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("load.py: no matplotlib: no plot", file=sys.stderr)
            return 0
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        for cache, style in ((False, "o--"), (True, "s-")):
            rs = [r for r in points if r["cache"] == cache]
            xs = [r["concurrency"] for r in rs]
            label = "cache" if cache else "no cache"
            a.plot(xs, [r["p50"] for r in rs], style, label=f"p50, {label}")
            a.plot(xs, [r["p99"] for r in rs], style, label=f"p99, {label}", alpha=0.6)
            b.plot(xs, [r["throughput"] for r in rs], style, label=label)
        for ax, title, unit in ((a, "latency", "ms"), (b, "throughput", "requests / s")):
            ax.set_xscale("log", base=2)
            ax.set_xticks([r["concurrency"] for r in points if not r["cache"]])
            ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.set_xlabel("concurrent clients")
            ax.set_ylabel(unit)
            ax.set_title(title)
            ax.legend()
            ax.grid(alpha=0.3)
        fig.suptitle(f"mtgr-serve, repeat rate {args.repeat_rate:.2f}, {cpu}", fontsize=9)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
