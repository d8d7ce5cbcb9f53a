#!/usr/bin/env python3
"""The MTGR model of DESIGN 1 in plain PyTorch: the peer mtgr is measured against.

Written from DESIGN 1 and docs/model-format.md (not from mtgr's code): it reads
the same model description, the same parameters (.npz, PyTorch names, Linear
weights [out, in]) and the same request file (JSON Lines, docs/requests.md),
and scores every candidate. Two layouts:

  per_user  one user's request at a time, attention on its own N x N scores
            (what a PyTorch user writes first; no padding)
  padded    every request padded to the batch's longest and scored at once
            ([B, N_max, d] tensors, padding masked out)

and eager or torch.compile (dynamic shapes). --time measures scoring the whole
file repeatedly and prints best and median seconds per pass as one JSON line.

A benchmark dependency only (a current torch and PyYAML from PyPI):
bench/peers/run-inference.sh installs them and drives the comparison.
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml

GROUP_U, GROUP_S, GROUP_R, GROUP_C = 0, 1, 2, 3
MASK64 = (1 << 64) - 1


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


class Model:
    """The description's shapes and options (docs/model-format.md)."""

    def __init__(self, path):
        with open(path) as f:
            d = yaml.safe_load(f)
        self.layers = int(d["layers"])
        self.d_model = int(d["d_model"])
        self.heads = int(d.get("heads", 1))
        self.dqk = int(d.get("dqk", self.d_model // self.heads))
        self.dv = int(d.get("dv", self.d_model // self.heads))
        self.alpha = float(d.get("alpha", 1.0 / math.sqrt(self.dqk)))
        self.n_norm = d.get("n_norm", "total")
        self.norm_order = d.get("norm_order", "gate_then_norm")
        self.mask = d.get("mask", "dynamic")
        if self.mask not in ("dynamic", "causal", "causal_targets", "contextual"):
            sys.exit(f"{path}: the peer has no mask '{self.mask}'")
        if d.get("norm_groups", "per_group") != "per_group":
            sys.exit(f"{path}: the peer implements per-group layer norm only")
        rab = d.get("rab")
        self.pmax = int(rab["positions"]) if rab else None
        self.buckets = int(rab["time_buckets"]) if rab else None
        self.tables = {t["name"]: t for t in d.get("tables", [])}
        for t in self.tables.values():
            if t.get("kind", "fixed") == "dynamic":
                sys.exit(f"{path}: the peer has no dynamic tables")
        feats = d["features"]
        self.user = feats["user"]
        self.sequence = feats["sequence"]
        self.realtime = feats.get("realtime", feats["sequence"])
        self.item = feats["candidate"]["item"]
        self.cross = feats["candidate"].get("cross", [])
        tok = d.get("tokenizer", {}) or {}
        if tok.get("candidate_context"):
            sys.exit(f"{path}: the peer has no candidate_context")
        self.own_realtime_mlp = "realtime_mlp" in tok
        self.tasks = [t["name"] for t in d["tasks"]]


def row_of(table, ident):
    if table.get("kind", "fixed") == "hashed":
        return splitmix64(ident & MASK64) % int(table["rows"])
    return ident


class Sample:
    """One request as tensors: feature inputs per group, times, sizes."""


def read_requests(model, path):
    samples = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            r = json.loads(line)
            s = Sample()
            s.user = r["user"]
            s.profile = r.get("profile", {})
            # Events sorted by (time, input order): a stable sort by time.
            s.seq = sorted(r.get("sequence", []) or [], key=lambda e: e["time"])
            s.rt = sorted(r.get("realtime", []) or [], key=lambda e: e["time"])
            s.cands = r.get("candidates", []) or []
            s.ids = [c.get("id", i) for i, c in enumerate(s.cands)]
            samples.append(s)
    return samples


class Peer(torch.nn.Module):
    def __init__(self, model, params):
        super().__init__()
        self.m = model
        self.p = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in params.items()}
        # Embedding rows come from here: the whole tables (inference) or, in
        # training, each table's rows the step touches (leaf tensors), the
        # lookups' rows renumbered into them (use_step_rows).
        self.emb = {name: self.p[f"tables.{name}.weight"] for name in model.tables}
        self.remap = None

    def lookup(self, table, rows):
        if self.remap is not None:
            rows = self.remap[table][rows]
        return self.emb[table][rows]

    # --- inputs ---------------------------------------------------------
    def event_inputs(self, features, events):
        """[n, width] of concatenated embeddings and dense values."""
        cols = []
        for f in features:
            if "table" in f:
                t = self.m.tables[f["table"]]
                rows = torch.tensor([row_of(t, int(e[f["name"]])) for e in events], dtype=torch.long)
                cols.append((t["name"], rows))
            else:
                w = int(f["dense"])
                vals = [e[f["name"]] for e in events]
                vals = [v if isinstance(v, list) else [v] for v in vals]
                cols.append(torch.tensor(vals, dtype=torch.float32).reshape(len(events), w))
        return cols

    def columns(self, cols):
        if cols is None:
            return None
        return torch.cat([self.lookup(*c) if isinstance(c, tuple) else c for c in cols], dim=1)

    def user_inputs(self, profile):
        xs = []
        for f in self.m.user:
            if "table" in f:
                t = self.m.tables[f["table"]]
                xs.append((t["name"], torch.tensor([row_of(t, int(profile[f["name"]]))])))
            else:
                v = profile[f["name"]]
                xs.append(torch.tensor(v if isinstance(v, list) else [v], dtype=torch.float32))
        return xs

    def prepare(self, s):
        """Inputs of one sample, built once before timing (the file's parse)."""
        m = self.m
        inp = {"user": self.user_inputs(s.profile)}
        inp["seq"] = self.event_inputs(m.sequence, s.seq) if s.seq else None
        inp["rt"] = self.event_inputs(m.realtime, s.rt) if s.rt else None
        inp["cand"] = self.event_inputs(m.item + m.cross, s.cands) if s.cands else None
        inp["t_seq"] = torch.tensor([e["time"] for e in s.seq], dtype=torch.int64)
        inp["t_rt"] = torch.tensor([e["time"] for e in s.rt], dtype=torch.int64)
        inp["t_cand"] = torch.tensor([c["time"] for c in s.cands], dtype=torch.int64)
        return inp

    # --- layers ---------------------------------------------------------
    def linear(self, name, x):
        return F.linear(x, self.p[name + ".weight"], self.p[name + ".bias"])

    def mlp(self, prefix, x):
        i = 0
        while f"{prefix}.layers.{i}.weight" in self.p:
            if i > 0:
                x = F.silu(x)
            x = self.linear(f"{prefix}.layers.{i}", x)
            i += 1
        return x

    def gln(self, x, gamma, beta, groups):
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, unbiased=False, keepdim=True)
        return gamma[groups] * (x - mu) / torch.sqrt(var + 1e-5) + beta[groups]

    def tokens(self, inp):
        m = self.m
        u = torch.stack([self.linear(f"user_tokenizer.{f['name']}",
                                     self.lookup(*x)[0] if isinstance(x, tuple) else x)
                         for f, x in zip(m.user, inp["user"])])
        parts = [u]
        if inp["seq"] is not None:
            parts.append(self.mlp("sequence_mlp", self.columns(inp["seq"])))
        if inp["rt"] is not None:
            parts.append(self.mlp("realtime_mlp" if m.own_realtime_mlp else "sequence_mlp",
                                  self.columns(inp["rt"])))
        if inp["cand"] is not None:
            parts.append(self.mlp("candidate_mlp", self.columns(inp["cand"])))
        return torch.cat(parts, dim=0)

    def layout(self, inp):
        """Per token: group, time (int64; U: 0), rab position; and the mask."""
        m = self.m
        nU, nS, nR, K = len(m.user), len(inp["t_seq"]), len(inp["t_rt"]), len(inp["t_cand"])
        N = nU + nS + nR + K
        g = torch.cat([torch.full((n,), grp, dtype=torch.long)
                       for n, grp in ((nU, GROUP_U), (nS, GROUP_S), (nR, GROUP_R), (K, GROUP_C))])
        t = torch.cat([torch.zeros(nU, dtype=torch.int64), inp["t_seq"], inp["t_rt"], inp["t_cand"]])
        tr, tc = inp["t_rt"], inp["t_cand"]
        i = torch.arange(N)
        if m.mask == "dynamic":
            M = torch.zeros(N, N, dtype=torch.bool)
            us = nU + nS
            M[:, :us] = True
            M[:us, :us] = True
            M[:us, us:] = False
            r0, c0 = us, us + nR
            M[r0:c0, r0:c0] = tr[None, :] <= tr[:, None]
            M[c0:, r0:c0] = tr[None, :] < tc[:, None]
            M[c0:, c0:] = torch.eye(K, dtype=torch.bool)
        elif m.mask == "causal":
            M = i[None, :] <= i[:, None]
        else:
            ctx = nU + nS + nR
            M = i[None, :] <= i[:, None]
            M[ctx:, :ctx] = True
            M[ctx:, ctx:] = torch.eye(K, dtype=torch.bool)
            if m.mask == "contextual":
                M[:nU, :ctx] = True
                M[nU:ctx, :nU] = True
        pos = torch.cat([torch.arange(nU + nS + nR),
                         nU + nS + (tr[None, :] < tc[:, None]).sum(1)]) if K else torch.arange(N)
        return g, t, pos, M

    def rab(self, l, t, g, pos):
        m = self.m
        dp = (pos[None, :] - pos[:, None]).clamp(-m.pmax, m.pmax) + m.pmax
        bias = self.p[f"layers.{l}.rab.pos"][dp]
        d = (t[None, :] - t[:, None]).abs().clamp(min=1).double()
        bucket = torch.clamp(torch.floor(torch.log(d) / 0.301), max=m.buckets - 1).long()
        timed = (g[:, None] != GROUP_U) & (g[None, :] != GROUP_U)
        return bias + torch.where(timed, self.p[f"layers.{l}.rab.time"][bucket], 0.0)

    def attention(self, l, q, k, v, M, norm, bias):
        """q, k: [..., N, h*dqk], v: [..., N, h*dv]; M [..., N, N]; norm [..., N, 1]."""
        m = self.m
        h = m.heads
        shape = q.shape[:-1]
        q = q.reshape(*shape, h, m.dqk).transpose(-2, -3)
        k = k.reshape(*shape, h, m.dqk).transpose(-2, -3)
        v = v.reshape(*shape, h, m.dv).transpose(-2, -3)
        s = m.alpha * (q @ k.transpose(-1, -2))
        if bias is not None:
            s = s + bias.unsqueeze(-3)
        a = torch.where(M.unsqueeze(-3), F.silu(s), 0.0) / norm.unsqueeze(-3)
        o = a @ v
        return o.transpose(-2, -3).reshape(*shape, h * m.dv)

    def hstu(self, x, g, M, norm, biases):
        m = self.m
        hv, hq = m.heads * m.dv, m.heads * m.dqk
        for l in range(m.layers):
            xn = self.gln(x, self.p[f"layers.{l}.gln1.gamma"], self.p[f"layers.{l}.gln1.beta"], g)
            hid = F.silu(self.linear(f"layers.{l}.uvqk", xn))
            u, v, q, k = torch.split(hid, [hv, hv, hq, hq], dim=-1)
            o = self.attention(l, q, k, v, M, norm, biases[l] if biases else None)
            g2, b2 = self.p[f"layers.{l}.gln2.gamma"], self.p[f"layers.{l}.gln2.beta"]
            if m.norm_order == "gate_then_norm":
                y = self.gln(o * u, g2, b2, g)
            else:
                y = self.gln(o, g2, b2, g) * u
            x = x + self.linear(f"layers.{l}.out", y)
        return x

    def norm_of(self, M, N):
        m = self.m
        if m.n_norm == "total":
            return torch.full(M.shape[:-1] + (1,), float(N))
        if m.n_norm == "visible":
            return M.sum(-1, keepdim=True).float()
        return torch.full(M.shape[:-1] + (1,), float(m.n_norm))

    def heads(self, c):
        return torch.stack([self.mlp(f"heads.{t}", c).squeeze(-1) for t in self.m.tasks])

    # --- per user ---------------------------------------------------------
    def forward_user(self, inp, lay):
        g, t, pos, M = lay
        K = len(inp["t_cand"])
        x = self.tokens(inp)
        N = x.shape[0]
        if self.m.layers > 0:
            biases = [self.rab(l, t, g, pos) for l in range(self.m.layers)] if self.m.pmax is not None else None
            x = self.hstu(x, g, M, self.norm_of(M, N), biases)
        return self.heads(x[N - K:])  # [tasks, K]

    # --- padded ---------------------------------------------------------
    def pad_batch(self, inputs, lays):
        """[B, N_max] layouts and masks (padding rows and columns masked)."""
        B = len(inputs)
        Ns = [len(l[0]) for l in lays]
        Nmax = max(Ns)
        g = torch.zeros(B, Nmax, dtype=torch.long)
        M = torch.zeros(B, Nmax, Nmax, dtype=torch.bool)
        norm = torch.ones(B, Nmax, 1)
        biases = None
        if self.m.pmax is not None:
            biases = [torch.zeros(B, Nmax, Nmax) for _ in range(self.m.layers)]
        for b, (gb, tb, pb, Mb) in enumerate(lays):
            n = Ns[b]
            g[b, :n] = gb
            M[b, :n, :n] = Mb
            norm[b, :n] = self.norm_of(Mb, n)
            if biases:
                for l in range(self.m.layers):
                    biases[l][b, :n, :n] = self.rab(l, tb, gb, pb)
        return {"g": g, "M": M, "norm": norm, "biases": biases, "Ns": Ns, "Nmax": Nmax,
                "Ks": [len(i["t_cand"]) for i in inputs]}

    def forward_padded(self, inputs, pad):
        x = torch.zeros(len(inputs), pad["Nmax"], self.m.d_model)
        for b, inp in enumerate(inputs):
            x[b, :pad["Ns"][b]] = self.tokens(inp)
        if self.m.layers > 0:
            x = self.hstu(x, pad["g"], pad["M"], pad["norm"], pad["biases"])
        cands = torch.cat([x[b, n - k:n] for b, (n, k) in enumerate(zip(pad["Ns"], pad["Ks"]))])
        return self.heads(cands)


# --- training ------------------------------------------------------------
NO_DECAY = (".bias", ".gamma", ".beta", ".rab.pos", ".rab.time")


class Trainer:
    """One step = loss of DESIGN 1.6, backward, dense Adam/AdamW (PyTorch's),
    row-wise Adagrad on the embedding rows the step touches (DESIGN 1.8)."""

    def __init__(self, peer, model_yaml, samples, inputs):
        with open(model_yaml) as f:
            t = (yaml.safe_load(f) or {}).get("training", {}) or {}
        if t.get("sparse_optimizer", "rowwise_adagrad") != "rowwise_adagrad":
            sys.exit("the peer trains embeddings with row-wise Adagrad only")
        self.peer = peer
        self.sparse_lr = float(t.get("sparse_lr", 0.01))
        self.eps = float(t.get("eps", 1e-8))
        self.c_expected = float(t.get("candidates_per_step", 256))
        with open(model_yaml) as f:
            tasks = yaml.safe_load(f)["tasks"]
        self.weights = [float(x.get("weight", 1.0)) for x in tasks]
        names = peer.m.tasks
        self.labels = torch.tensor([[float(c["labels"][n]) for s in samples for c in s.cands]
                                    for n in names])
        dense = {k: v for k, v in peer.p.items() if not k.startswith("tables.")}
        for v in dense.values():
            v.requires_grad_(True)
        decay = [v for k, v in dense.items() if not k.endswith(NO_DECAY)]
        rest = [v for k, v in dense.items() if k.endswith(NO_DECAY)]
        opt = t.get("optimizer", "adam")
        wd = float(t.get("weight_decay", 0.01 if opt == "adamw" else 0.0))
        kind = torch.optim.AdamW if opt == "adamw" else torch.optim.Adam
        betas = tuple(t.get("betas", [0.9, 0.999]))
        self.opt = kind([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}],
                        lr=float(t.get("lr", 1e-3)), betas=betas, eps=self.eps)
        self.dense = dense
        # Every lookup's rows per table (the data's), deduplicated in the step.
        rows = {name: [] for name in peer.m.tables}
        for inp in inputs:
            for c in inp["user"] + (inp["seq"] or []) + (inp["rt"] or []) + (inp["cand"] or []):
                if isinstance(c, tuple):
                    rows[c[0]].append(c[1])
        self.rows = {k: torch.cat(v) for k, v in rows.items() if v}
        self.acc = {k: torch.zeros(peer.p[f"tables.{k}.weight"].shape[0]) for k in self.rows}
        self.remap = {k: torch.zeros(peer.p[f"tables.{k}.weight"].shape[0], dtype=torch.long)
                      for k in self.rows}

    def step(self, forward):
        peer = self.peer
        unique, leaves = {}, {}
        for k, r in self.rows.items():
            unique[k] = torch.unique(r)
            self.remap[k][unique[k]] = torch.arange(len(unique[k]))
            leaves[k] = peer.p[f"tables.{k}.weight"][unique[k]].clone().requires_grad_(True)
        peer.emb, peer.remap = leaves, self.remap
        self.opt.zero_grad(set_to_none=True)
        logits = forward()
        loss = sum(w * F.binary_cross_entropy_with_logits(logits[t], self.labels[t], reduction="sum")
                   for t, w in enumerate(self.weights)) / self.c_expected
        loss.backward()
        grads = {k: p.grad.clone() for k, p in self.dense.items() if p.grad is not None}
        rows = {k: (unique[k], leaves[k].grad.clone()) for k in leaves}
        self.opt.step()
        with torch.no_grad():
            for k, (u, g) in rows.items():
                G = self.acc[k][u] + (g * g).mean(1)
                self.acc[k][u] = G
                w = peer.p[f"tables.{k}.weight"]
                w[u] = w[u] - (self.sparse_lr / (G.sqrt() + self.eps))[:, None] * g
        peer.emb = {name: peer.p[f"tables.{name}.weight"] for name in peer.m.tables}
        peer.remap = None
        return float(loss.detach()), grads, rows


def check_gradients(path, loss, grads, rows):
    """Against mtgr's first-step gradients (mtgr-bench-train-step --gradients)."""
    ref = dict(np.load(path))
    out = {"loss_mtgr": float(ref["loss"][0]), "loss_torch": loss}
    if abs(loss - out["loss_mtgr"]) > 1e-4 * max(1.0, abs(loss)):
        sys.exit(f"losses differ: mtgr {out['loss_mtgr']}, torch {loss}")
    worst = 0.0
    for name, g in grads.items():
        r = ref[name].astype(np.float64)
        err = np.abs(g.double().numpy() - r).max() / max(np.abs(r).max(), 1e-30)
        worst = max(worst, err)
        if err > 1e-3:
            sys.exit(f"gradient of {name} differs: {err:.3g} of its largest entry")
    for k, (u, g) in rows.items():
        mine = dict(zip(u.tolist(), g.double().numpy()))
        theirs_rows = ref[f"tables.{k}.weight.rows"].astype(np.int64)
        theirs = ref[f"tables.{k}.weight.grad"].astype(np.float64)
        if set(theirs_rows.tolist()) != set(mine):
            sys.exit(f"table {k}: the steps touched different rows")
        scale = max(np.abs(theirs).max(), 1e-30)
        err = max(np.abs(mine[r] - theirs[i]).max() for i, r in enumerate(theirs_rows.tolist())) / scale
        worst = max(worst, err)
        if err > 1e-3:
            sys.exit(f"embedding gradient of table {k} differs: {err:.3g} of its largest entry")
    out["gradient_error"] = worst
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--params", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--scores", help="write scores here (mtgr-run infer's format)")
    ap.add_argument("--layout", choices=["per_user", "padded"], default="per_user")
    ap.add_argument("--compile", action="store_true", help="torch.compile (dynamic shapes)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time", type=float, default=0, help="seconds of timed passes over the file")
    ap.add_argument("--train", action="store_true",
                    help="time training steps (the whole file is one step) instead of scoring")
    ap.add_argument("--check-gradients", metavar="NPZ",
                    help="--train: compare the first step's loss and gradients with mtgr's")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = Model(args.model)
    params = dict(np.load(args.params))
    peer = Peer(model, params)
    samples = read_requests(model, args.requests)
    inputs = [peer.prepare(s) for s in samples]
    lays = [peer.layout(i) for i in inputs]

    if args.layout == "per_user":
        fn = torch.compile(peer.forward_user, dynamic=True) if args.compile else peer.forward_user

        def run():
            return [fn(i, l) for i, l in zip(inputs, lays)]
    else:
        pad = peer.pad_batch(inputs, lays)
        fn = torch.compile(peer.forward_padded, dynamic=True) if args.compile else peer.forward_padded

        def run():
            return [fn(inputs, pad)]

    if args.train:
        trainer = Trainer(peer, args.model, samples, inputs)
        if args.layout == "per_user":
            forward = lambda: torch.cat(run(), dim=1)
        else:
            forward = lambda: run()[0]
        t0 = time.perf_counter()
        loss, grads, rows = trainer.step(forward)  # the first step compiles (torch.compile)
        first = time.perf_counter() - t0
        result = {"contender": "torch " + ("compile" if args.compile else "eager") + " " + args.layout,
                  "threads": args.threads, "torch": torch.__version__,
                  "torch_threads": torch.get_num_threads(), "first_step_s": first, "loss": loss}
        if args.check_gradients:
            result.update(check_gradients(args.check_gradients, loss, grads, rows))
        times = []
        start = time.perf_counter()
        while args.time > 0 and (time.perf_counter() - start < args.time or len(times) < 3):
            t0 = time.perf_counter()
            trainer.step(forward)
            times.append(time.perf_counter() - t0)
        if times:
            result.update(best_s=min(times), median_s=statistics.median(times), passes=len(times))
        print(json.dumps(result))
        return

    with torch.inference_mode():
        t0 = time.perf_counter()
        out = run()  # the first pass compiles (torch.compile)
        first = time.perf_counter() - t0
        logits = torch.cat(out, dim=1)
        if args.scores:
            with open(args.scores, "w") as f:
                f.write("# user candidate " + " ".join(model.tasks) + "\n")
                probs = torch.sigmoid(logits.double()).T.tolist()
                k = 0
                for s in samples:
                    for cid in s.ids:
                        f.write(f"{s.user} {cid} " + " ".join(f"{p:.6f}" for p in probs[k]) + "\n")
                        k += 1
        times = []
        start = time.perf_counter()
        while args.time > 0 and (time.perf_counter() - start < args.time or len(times) < 3):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    result = {"contender": "torch " + ("compile" if args.compile else "eager") + " " + args.layout,
              "threads": args.threads, "torch": torch.__version__,
              "torch_threads": torch.get_num_threads(), "first_pass_s": first}
    if times:
        result.update(best_s=min(times), median_s=statistics.median(times), passes=len(times))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
