#!/usr/bin/env python3
"""MTGR vs its DLRM-style baseline and ablations on MovieLens, over seeds.

    python3 scripts/movielens-experiment.py DATA_DIR [--out=DIR] [--seeds=3] ...

For every variant (examples/movielens/*.yaml) and seed: compile once, then
`mtgr-run train --movielens=DATA_DIR` with early stopping on the validation
split (each seed sets the parameter initialisation and the step order, the
same for every variant), then the test split's AUC, GAUC and NE per task.
Writes DIR/report.md (mean and 95% confidence interval per variant, paired
per-seed differences, what the test split can resolve, agreement with the
paper's direction), DIR/*.svg plots and every run's log and metrics
(DIR/runs/). Nothing is chosen on the test split: epochs are picked on
validation, the settings are the files'. Standard library only.
"""
import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "movielens")
# name -> (file, role): the paper's comparisons (MTGR paper, Tables 3-4).
VARIANTS = {
    "mtgr": "mtgr.yaml",
    "dlrm": "dlrm.yaml",
    "shared-norm": "shared-norm.yaml",
    "causal": "causal.yaml",
    "no-cross": "no-cross.yaml",
}
WHAT = {
    "mtgr": "MTGR: GLN, dynamic mask, cross features",
    "dlrm": "DLRM-style baseline (one row per candidate, pooled history)",
    "shared-norm": "MTGR with one shared norm instead of GLN",
    "causal": "MTGR with a causal mask instead of the dynamic one",
    "no-cross": "MTGR without cross features",
}
# (variant, reference, what the paper says the reference does better)
CLAIMS = [
    ("mtgr", "dlrm", "MTGR beats the DLRM baseline"),
    ("shared-norm", "mtgr", "GLN helps (shared norm is worse)"),
    ("no-cross", "mtgr", "cross features help (without them is worse)"),
    ("causal", "mtgr", "the dynamic mask helps (the paper: causal masks leak)"),
]
METRICS = [("auc", "AUC", +1), ("gauc", "GAUC", +1), ("ne", "NE", -1)]
# Two-sided 95% Student t quantiles by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t95(df):
    if df in T95:
        return T95[df]
    keys = sorted(k for k in T95 if k <= df)
    return T95[keys[-1]] if df < 30 else 1.96


def mean_ci(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, 0
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, None, len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return m, t95(len(xs) - 1) * sd / math.sqrt(len(xs)), len(xs)


def fmt(m, ci, digits=4):
    if m is None:
        return "n/a"
    return f"{m:.{digits}f}" + (f" ± {ci:.{digits}f}" if ci is not None else "")


def leaks(yaml_text):
    """A mask that shows a candidate R events at or after its time leaks here:
    R holds the day's ratings, the candidate's own among them."""
    m = re.search(r"^mask:\s*(\S+)", yaml_text, re.M)
    return bool(m) and m.group(1) not in ("dynamic", "intervals")


class Progress:
    def __init__(self, total_epochs):
        self.total = max(1, total_epochs)
        self.done = 0
        self.began = time.time()
        self.tty = sys.stderr.isatty()
        self.last = 0

    def show(self, label, extra=0, final=False):
        done = min(self.total, self.done + extra)
        frac = done / self.total
        el = time.time() - self.began
        eta = el / frac - el if frac > 0 else 0
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        line = f"[{bar}] {100 * frac:5.1f}%  {label}  {el / 60:5.1f} min, ETA {eta / 60:5.1f} min (at most)"
        if self.tty:
            sys.stderr.write("\r" + line + "   ")
            if final:
                sys.stderr.write("\n")
        elif final or time.time() - self.last > 30:
            sys.stderr.write(line + "\n")
            self.last = time.time()
        sys.stderr.flush()


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass  # a line being written
    return out


def run(cmd, log):
    with open(log, "w") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)


# ---------------------------------------------------------------- SVG plots

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]


def svg_lines(path, title, ylabel, series, xlabel="epoch"):
    """series: [(name, [(x, y)], dashed[, color index])]"""
    W, H, L, R, T, B = 720, 420, 70, 190, 40, 50
    pts = [p for entry in series for p in entry[1] if p[1] is not None]
    if not pts:
        return
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x1 = x0 + 1
    pad = (y1 - y0) * 0.08 or 0.01
    y0, y1 = y0 - pad, y1 + pad
    X = lambda x: L + (x - x0) / (x1 - x0) * (W - L - R)
    Y = lambda y: T + (y1 - y) / (y1 - y0) * (H - T - B)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
         f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
         f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
         f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>',
         f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + H - B) / 2})">{ylabel}</text>']
    for k in range(6):
        y = y0 + (y1 - y0) * k / 5
        o.append(f'<line x1="{L - 4}" y1="{Y(y):.1f}" x2="{W - R}" y2="{Y(y):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.3f}</text>')
    xs = sorted({p[0] for p in pts})
    for x in xs if len(xs) <= 20 else xs[:: max(1, len(xs) // 10)]:
        o.append(f'<text x="{X(x):.1f}" y="{H - B + 16}" text-anchor="middle">{x:g}</text>')
    for i, entry in enumerate(series):
        name, s, dashed = entry[:3]
        c = COLORS[(entry[3] if len(entry) > 3 else i) % len(COLORS)]
        s = [p for p in s if p[1] is not None]
        if not s:
            continue
        d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in s)
        o.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"' +
                 (' stroke-dasharray="5,4"' if dashed else "") + "/>")
        for x, y in s:
            o.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="2.5" fill="{c}"/>')
        ly = T + 16 * i + 8
        o.append(f'<line x1="{W - R + 10}" y1="{ly}" x2="{W - R + 30}" y2="{ly}" stroke="{c}" stroke-width="2"' +
                 (' stroke-dasharray="5,4"' if dashed else "") + "/>")
        o.append(f'<text x="{W - R + 34}" y="{ly + 4}">{name}</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def svg_bars(path, title, groups, series):
    """groups: metric labels; series: [(variant, [(mean, ci)] per group)]"""
    W, H, L, R, T, B = 760, 420, 70, 170, 40, 50
    vals = [(m - (c or 0), m + (c or 0)) for _, s in series for m, c in s if m is not None]
    if not vals:
        return
    lo, hi = min(v[0] for v in vals), max(v[1] for v in vals)
    pad = (hi - lo) * 0.15 or 0.01
    lo, hi = lo - pad, hi + pad
    Y = lambda y: T + (hi - y) / (hi - lo) * (H - T - B)
    gw = (W - L - R) / max(1, len(groups))
    bw = gw * 0.8 / max(1, len(series))
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
         f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
         f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>']
    for k in range(6):
        y = lo + (hi - lo) * k / 5
        o.append(f'<line x1="{L - 4}" y1="{Y(y):.1f}" x2="{W - R}" y2="{Y(y):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.3f}</text>')
    for g, label in enumerate(groups):
        o.append(f'<text x="{L + gw * (g + 0.5):.1f}" y="{H - B + 18}" text-anchor="middle">{label}</text>')
        for i, (name, s) in enumerate(series):
            m, c = s[g]
            if m is None:
                continue
            x = L + gw * g + gw * 0.1 + bw * i
            col = COLORS[i % len(COLORS)]
            o.append(f'<rect x="{x:.1f}" y="{Y(m):.1f}" width="{bw * 0.9:.1f}" height="{H - B - Y(m):.1f}" fill="{col}" opacity="0.8"/>')
            if c:
                cx = x + bw * 0.45
                o.append(f'<line x1="{cx:.1f}" y1="{Y(m - c):.1f}" x2="{cx:.1f}" y2="{Y(m + c):.1f}" stroke="black"/>')
                for yy in (m - c, m + c):
                    o.append(f'<line x1="{cx - 4:.1f}" y1="{Y(yy):.1f}" x2="{cx + 4:.1f}" y2="{Y(yy):.1f}" stroke="black"/>')
    for i, (name, _) in enumerate(series):
        ly = T + 16 * i + 8
        o.append(f'<rect x="{W - R + 10}" y="{ly - 6}" width="14" height="10" fill="{COLORS[i % len(COLORS)]}"/>')
        o.append(f'<text x="{W - R + 30}" y="{ly + 4}">{name}</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


# ---------------------------------------------------------------- sweep

SWEEP_AXES = {"layers": (1, 2, 3, 4), "d_model": (32, 64, 96), "seq_len": (32, 64, 128, 256, 512)}
# mtgr-run's --ml-max-seq default (MovieLensOptions::maxSequence in
# data/MovieLens.h): the seq_len point that needs no option.
DEFAULT_MAX_SEQ = 256


def plan_sweep(base, reuse_mtgr):
    """One axis at a time from the base model text. Returns the points
    [(axis, value, run name)] and the models to run [(name, yaml path under
    the report folder, text, extra mtgr-run args)]. Points that are the same
    model with the same options share one run: the base point appears once
    per axis, and with reuse_mtgr it is the mtgr variant's run (runs are
    deterministic given the seeds)."""
    def variant(axis, value):
        if axis == "seq_len":
            return base, () if value == DEFAULT_MAX_SEQ else (f"--ml-max-seq={value}",)
        return re.sub(rf"^{axis}: \d+", f"{axis}: {value}", base, flags=re.M), ()

    run_of = {(base, ()): "mtgr"} if reuse_mtgr else {}
    points, models = [], []
    for axis, values in SWEEP_AXES.items():
        for value in values:
            text, extra = variant(axis, value)
            if (text, extra) not in run_of:
                name = f"sweep-{axis}-{value}"
                run_of[(text, extra)] = name
                named = re.sub(r"^name: .*", f"name: movielens-{name}", text, count=1, flags=re.M)
                models.append((name, os.path.join("models", name + ".yaml"), named, list(extra)))
            points.append((axis, value, run_of[(text, extra)]))
    return points, models


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="a MovieLens folder (e.g. ../shared/data/ml-latest-small)")
    ap.add_argument("--out", default="movielens-report", help="report folder (default: %(default)s)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per variant, >= 2 for intervals (default: 3)")
    ap.add_argument("--epochs", type=int, default=8, help="most epochs per run (default: 8)")
    ap.add_argument("--patience", type=int, default=2, help="early stopping: epochs without a better validation loss (default: 2)")
    ap.add_argument("--threads", type=int, default=0, help="threads per run (default: all cores)")
    ap.add_argument("--max-users", type=int, default=0, help="only the first N users (quick runs; default: all)")
    ap.add_argument("--sweep", action="store_true", help="also sweep MTGR's layers, d_model and sequence length (one run per point and seed)")
    ap.add_argument("--sweep-seeds", type=int, default=1, help="seeds per sweep point (default: 1)")
    ap.add_argument("--dry-run", action="store_true", help="print the runs (and the sweep's points) and stop")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"), help="where mtgr-compile and mtgr-run are")
    ap.add_argument("--ml-arg", action="append", default=[], help="pass an option to mtgr-run (e.g. --ml-arg=--ml-max-seq=128)")
    a = ap.parse_args()

    if not os.path.isdir(a.data):
        sys.exit(f"movielens-experiment: {a.data}: not a folder (give a MovieLens data set)")
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"movielens-experiment: unknown variant '{v}' (expected: {', '.join(VARIANTS)})")
    if a.seeds < 1 or a.epochs < 1:
        sys.exit("movielens-experiment: --seeds and --epochs must be >= 1")
    # The runs: (name, yaml path, extra mtgr-run args, seed). Seeds outside,
    # so a cut-short experiment still has every variant on the first seeds.
    jobs = []
    texts = {}
    for v in variants:
        texts[v] = open(os.path.join(EXAMPLES, VARIANTS[v])).read()
    for s in range(1, a.seeds + 1):
        for v in variants:
            jobs.append((v, os.path.join(EXAMPLES, VARIANTS[v]), ["--dlrm-rows"] if v == "dlrm" else [], s))
    sweep_points, sweep_models = [], []
    if a.sweep:
        base = texts.get("mtgr") or open(os.path.join(EXAMPLES, "mtgr.yaml")).read()
        reuse_mtgr = "mtgr" in variants and a.sweep_seeds <= a.seeds
        sweep_points, sweep_models = plan_sweep(base, reuse_mtgr)
        for name, path, text, extra in sweep_models:
            for s in range(1, a.sweep_seeds + 1):
                jobs.append((name, os.path.join(a.out, path), extra, s))

    if a.dry_run:
        for name, yaml, extra, seed in jobs:
            print(f"run {name} seed {seed}: {os.path.basename(yaml)} {' '.join(extra)}".rstrip())
        for axis, value, name in sweep_points:
            print(f"sweep {axis} {value}: {name}")
        print(f"{len(jobs)} runs, {len({j[0] for j in jobs})} models")
        return
    for tool in ("mtgr-compile", "mtgr-run"):
        if not os.access(os.path.join(a.bin, tool), os.X_OK):
            sys.exit(f"movielens-experiment: {a.bin}/{tool} is missing: build first (bash scripts/setup.sh)")
    os.makedirs(os.path.join(a.out, "runs"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "models"), exist_ok=True)
    for name, path, text, extra in sweep_models:
        with open(os.path.join(a.out, path), "w") as f:
            f.write(text)

    progress = Progress(len(jobs) * a.epochs)
    artifacts = {}
    for name, yaml, _, _ in jobs:
        if name in artifacts:
            continue
        art = os.path.join(a.out, "models", name + ".mtgr")
        progress.show(f"compiling {name}")
        r = subprocess.run([os.path.join(a.bin, "mtgr-compile"), yaml, "--target=cpu", "-o", art],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"movielens-experiment: compiling {yaml} failed:\n{r.stdout}{r.stderr}")
        artifacts[name] = art

    summary = ""
    for k, (name, yaml, extra, seed) in enumerate(jobs):
        tag = f"{name}-seed{seed}"
        metrics = os.path.join(a.out, "runs", tag + ".jsonl")
        log = os.path.join(a.out, "runs", tag + ".log")
        if os.path.exists(metrics):
            os.remove(metrics)
        cmd = [os.path.join(a.bin, "mtgr-run"), "train", artifacts[name], f"--movielens={a.data}",
               f"--epochs={a.epochs}", f"--early-stopping={a.patience}", f"--metrics-json={metrics}",
               f"--param-seed={seed}", f"--train-seed={seed}", "--log-every=0"] + extra + a.ml_arg
        if a.threads:
            cmd.append(f"--num-threads={a.threads}")
        if a.max_users:
            cmd.append(f"--ml-max-users={a.max_users}")
        p = run(cmd, log)
        while p.poll() is None:
            epochs = sum(1 for e in read_jsonl(metrics) if e.get("event") == "epoch")
            progress.show(f"run {k + 1}/{len(jobs)} {tag} epoch {epochs}", extra=epochs)
            time.sleep(1)
        events = read_jsonl(metrics)
        if p.returncode != 0 or not any(e.get("event") == "test" for e in events):
            sys.stderr.write("\n")
            sys.exit(f"movielens-experiment: {' '.join(cmd)} failed (exit {p.returncode}); log: {log}\n" +
                     open(log).read()[-3000:])
        progress.done += a.epochs  # early stopping finishes sooner: the bar jumps
        progress.show(f"run {k + 1}/{len(jobs)} {tag} done")
        if not summary:
            summary = "".join(l for l in open(log) if l.startswith(("data:", "  train", "  validation", "  test ")))
    progress.show("all runs done", final=True)
    write_report(a, variants, texts, jobs, sweep_points, summary)


def load_runs(a, names, seeds):
    out = {}
    for n in names:
        for s in range(1, seeds + 1):
            ev = read_jsonl(os.path.join(a.out, "runs", f"{n}-seed{s}.jsonl"))
            if ev:
                out[(n, s)] = ev
    return out


def test_of(events):
    for e in events:
        if e.get("event") == "test":
            return e
    return None


def write_report(a, variants, texts, jobs, sweep_points, summary):
    runs = load_runs(a, variants, a.seeds)
    tasks = []
    for ev in runs.values():
        t = test_of(ev)
        if t:
            tasks = list(t["test"].keys())
            break
    md = [f"# MTGR on MovieLens: {os.path.basename(os.path.normpath(a.data))}", ""]
    command = " ".join(shlex.quote(x) for x in sys.argv[1:])  # exactly what ran, to rerun it
    md.append(f"Generated by `python3 scripts/movielens-experiment.py {command}` "
              f"({a.seeds} seed{'s' if a.seeds != 1 else ''}, at most {a.epochs} epochs, early stopping after {a.patience} "
              f"epochs without a better validation log loss; the best validation epoch's parameters "
              f"are evaluated on the test split{'; first ' + str(a.max_users) + ' users only' if a.max_users else ''}"
              f"{'; ' + ' '.join(a.ml_arg) if a.ml_arg else ''}).")
    md += ["", "```", summary.rstrip(), "```", ""]
    md.append("Mean ± 95% confidence interval over seeds (Student t; the seed sets the parameter "
              "initialisation and the step order). Higher AUC/GAUC and lower NE are better. "
              "**Leaks**: the mask shows a candidate the day's later ratings, its own included, "
              "so its numbers are not achievable at serving time.")
    md.append("")
    head = "| variant | leaks | epochs |" + "".join(f" {t} {lab} |" for t in tasks for _, lab, _ in METRICS)
    md += [head, "|" + "---|" * (3 + len(tasks) * len(METRICS))]
    stats = {}
    for v in variants:
        row = f"| {v} | {'**yes**' if leaks(texts[v]) else 'no'} |"
        eps = [test_of(runs[(v, s)])["best_epoch"] for s in range(1, a.seeds + 1) if (v, s) in runs and test_of(runs[(v, s)])]
        row += f" {fmt(*mean_ci(eps)[:2], digits=1)} |"
        for t in tasks:
            for key, _, _ in METRICS:
                xs = [test_of(runs[(v, s)])["test"][t][key] for s in range(1, a.seeds + 1) if (v, s) in runs]
                m, ci, _ = mean_ci(xs)
                stats[(v, t, key)] = (m, ci)
                row += f" {fmt(m, ci)} |"
        md.append(row)
    md.append("")
    md += ["Variants: " + "; ".join(f"**{v}**: {WHAT.get(v, v)} (`examples/movielens/{VARIANTS[v]}`)" for v in variants) + ".", ""]

    # Paired differences: same seed, same data order.
    md += ["## Paired differences (variant − reference, per seed, then mean ± 95% CI)", ""]
    md += ["| comparison | paper's direction | " + " | ".join(f"Δ {t} {lab}" for t in tasks for _, lab, _ in METRICS if lab != "AUC") + " | verdict (ctcvr GAUC) |",
           "|" + "---|" * (3 + len(tasks) * 2)]
    verdicts = []
    for v, ref, claim in CLAIMS:
        if v not in variants or ref not in variants:
            continue
        row = f"| {v} − {ref} | {claim} |"
        verdict = ""
        for t in tasks:
            for key, lab, sign in METRICS:
                if lab == "AUC":
                    continue
                d = [test_of(runs[(v, s)])["test"][t][key] - test_of(runs[(ref, s)])["test"][t][key]
                     for s in range(1, a.seeds + 1) if (v, s) in runs and (ref, s) in runs
                     and test_of(runs[(v, s)])["test"][t][key] is not None
                     and test_of(runs[(ref, s)])["test"][t][key] is not None]
                m, ci, n = mean_ci(d)
                row += f" {fmt(m, ci)} |"
                if key == "gauc" and t == tasks[-1] and m is not None:
                    # The paper's direction: v above ref for "mtgr - dlrm", below for ablations.
                    want = +1 if v == "mtgr" else -1
                    if leaks(texts[v]):
                        verdict = "leaks: not comparable (higher is expected and is not a win)"
                    elif ci is None or abs(m) <= ci:
                        verdict = "inconclusive (interval contains 0)"
                    elif (m > 0) == (want > 0):
                        verdict = "agrees with the paper"
                    else:
                        verdict = "**disagrees** with the paper"
        row += f" {verdict} |"
        md.append(row)
        verdicts.append((v, ref, claim, verdict))
    md.append("")

    # What the test split can resolve: GAUC's spread over test users.
    md += ["## What the test split can resolve", ""]
    ref = "mtgr" if "mtgr" in variants else variants[0]
    t0 = test_of(runs.get((ref, 1), []))
    if t0:
        for t in tasks:
            tm = t0["test"][t]
            se = tm.get("gauc_se")
            n1, n2, A = tm.get("positives", 0), tm.get("negatives", 0), tm.get("auc") or 0.5
            q1, q2 = A / (2 - A), 2 * A * A / (1 + A)
            auc_se = math.sqrt(max(0.0, (A * (1 - A) + (n1 - 1) * (q1 - A * A) + (n2 - 1) * (q2 - A * A)) / max(1, n1 * n2)))
            md.append(f"- {t}: {n1 + n2} test candidates ({n1} positive). GAUC's standard error over "
                      f"test users is {se:.4f}" if se is not None else f"- {t}: GAUC standard error n/a")
            md[-1] += (f", so two models scored on independent user samples of this size differ by more "
                       f"than 1.96·√2·SE = **{1.96 * math.sqrt(2) * se:.4f}** GAUC by chance alone 5% of "
                       f"the time; AUC's (Hanley–McNeil) SE is {auc_se:.4f} (difference ≈ "
                       f"{1.96 * math.sqrt(2) * auc_se:.4f}). Paired comparisons on the same users "
                       f"resolve less than that, but the seed intervals above only measure training "
                       f"noise, not which users happen to be in the test split." if se is not None else "")
    md.append("")

    # Curves.
    series = []
    for vi, v in enumerate(variants):
        for key, dashed, label in (("validation", False, v), ("train_loss", True, v + " (train)")):
            by_epoch = {}
            for s in range(1, a.seeds + 1):
                for e in runs.get((v, s), []):
                    if e.get("event") != "epoch":
                        continue
                    val = e["train_loss"] if key == "train_loss" else sum(x["logloss"] for x in e["validation"].values() if x["logloss"] is not None)
                    by_epoch.setdefault(e["epoch"], []).append(val)
            series.append((label, sorted((ep, sum(xs) / len(xs)) for ep, xs in by_epoch.items()), dashed, vi))
    svg_lines(os.path.join(a.out, "curves.svg"), "loss per epoch (mean over seeds): validation solid, train dashed",
              "sum over tasks of mean BCE", series)
    for t in tasks:
        svg_bars(os.path.join(a.out, f"test-{t}.svg"), f"test {t}: mean ± 95% CI over seeds",
                 ["AUC", "GAUC"], [(v, [stats[(v, t, "auc")], stats[(v, t, "gauc")]]) for v in variants])
    md += ["## Plots", "", "![loss curves](curves.svg)", ""] + [f"![test {t}](test-{t}.svg)" for t in tasks] + [""]

    if sweep_points:
        sweep_runs = load_runs(a, sorted({n for _, _, n in sweep_points}), a.sweep_seeds)

        def gaucs(name, task):
            return [test_of(sweep_runs[(name, s)])["test"][task]["gauc"]
                    for s in range(1, a.sweep_seeds + 1) if (name, s) in sweep_runs]

        base_run = next(n for ax, v, n in sweep_points if ax == "seq_len" and v == DEFAULT_MAX_SEQ)
        md += ["## Scaling sweep (MTGR; one axis at a time from mtgr.yaml)", "",
               f"Test GAUC, {a.sweep_seeds} seed(s) per point" +
               (" (mean ± 95% CI)" if a.sweep_seeds >= 2 else " (no interval: one seed)") +
               f"; the base point (mtgr.yaml unchanged, S {DEFAULT_MAX_SEQ}) is "
               + ("the mtgr variant's runs" if base_run == "mtgr" else "run once") +
               ". Read the differences against the resolution above.", "",
               "| axis | value | " + " | ".join(f"{t} GAUC" for t in tasks) + " |", "|---|---|" + "---|" * len(tasks)]
        for axis in SWEEP_AXES:
            pts = [(val, n) for ax, val, n in sweep_points if ax == axis]
            lines = [(t, [(val, mean_ci(gaucs(n, t))[0]) for val, n in pts], False) for t in tasks]
            for val, n in pts:
                md.append(f"| {axis} | {val} | " + " | ".join(fmt(*mean_ci(gaucs(n, t))[:2]) for t in tasks) + " |")
            svg_lines(os.path.join(a.out, f"sweep-{axis}.svg"), f"test GAUC vs {axis}", "GAUC", lines, xlabel=axis)
        md += [""] + [f"![sweep {ax}](sweep-{ax}.svg)" for ax in SWEEP_AXES] + [""]

    md += ["## Notes", "",
           "- Nothing here is tuned on the test split: the epoch is chosen on validation; the model "
           "files' settings were fixed before any test result was seen.",
           "- The paper's numbers come from Meituan's industrial data (billions of samples); "
           "MovieLens ratings are small and not exposures: directions may differ, and the report "
           "says so where they do.", ""]
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    print(f"\nreport: {os.path.join(a.out, 'report.md')}")


if __name__ == "__main__":
    main()
