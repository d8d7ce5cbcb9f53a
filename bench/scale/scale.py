"""bench/scale/run.sh: steps on 1, 2 and 4 ranks, the exchange per step
measured and predicted (docs/scale-out.md)."""
import os
import re
import subprocess
import sys
import tempfile

root, out_path = sys.argv[1], sys.argv[2]
bin_dir = os.path.join(root, "build", "bin")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
lines = []


def log(s=""):
    print(s)
    lines.append(s)


def summary(artifact_yaml):
    s = subprocess.run([f"{bin_dir}/mtgr-compile", artifact_yaml, "--summary", "--emit=none"],
                       capture_output=True, text=True, check=True).stdout
    dense = int(re.search(r"dense ([\d,]+)", s).group(1).replace(",", ""))
    return dense


def train(artifact, ranks, threads, args, sharded=False):
    cmd = [f"{bin_dir}/mtgr-run", "train", artifact, f"--num-threads={threads}", *args]
    if sharded:
        cmd.append("--shard-tables")
    if ranks > 1:
        cmd = ["mpirun", "--oversubscribe", "-np", str(ranks), *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: {r.stderr[-800:]}")
    text = r.stdout + r.stderr
    steps = [m for m in re.finditer(r"step (\d+) \(epoch \d+, \d+/\d+\)\s+(\d+) samples/s", text)]
    trained = re.search(r"trained (\d+) steps .* on (\d+) samples", text)
    comm = re.search(r"communication per step \(rank 0\): ([\d.]+) MB all-reduced .*?, ([\d.]+) MB of row"
                     r".*steps of (\d+) tokens, ([\d.]+) samples", text)
    shard = re.search(r"sharded tables, per step \(rank 0 to the others\): ([\d.]+) MB of ids, "
                      r"([\d.]+) MB of rows, ([\d.]+) MB of row gradients", text)
    keys = re.search(r"sharded tables, per step \(rank 0's share\): ([\d.]+) ids looked up, "
                     r"([\d.]+) distinct keys \(([\d.]+) of them\), ([\d.]+) on other ranks: "
                     r"([\d.]+) MB of rows", text)
    step_count = int(trained.group(1))
    rate = int(steps[-1].group(2)) if steps else 0
    return step_count, rate, (tuple(float(comm.group(i)) for i in range(1, 5)) if comm
                              else (0.0, 0.0, 0.0, 0.0)), (
        tuple(float(shard.group(i)) for i in range(1, 4)) if shard else None), (
        tuple(float(keys.group(i)) for i in range(1, 6)) if keys else None)


log("# bench/scale/run.sh: training steps on several ranks (docs/scale-out.md)")
log(f"# machine: {os.cpu_count()} cores; ranks beyond that oversubscribe them")
with tempfile.TemporaryDirectory() as tmp:
    cases = [
        ("tiny", os.path.join(root, "examples/models/tiny.yaml"),
         ["--users=400", "--token-budget=8192", "--steps=12", "--epochs=4"]),
        ("mtgr-small", os.path.join(root, "examples/models/mtgr-small.yaml"),
         ["--users=16", "--seq-len=400", "--rt-len=40", "--candidates=16", "--token-budget=4096",
          "--steps=2"]),
    ]
    for name, yaml, args in cases:
        artifact = os.path.join(tmp, name + ".mtgr")
        subprocess.run([f"{bin_dir}/mtgr-compile", yaml, "-o", artifact], check=True,
                       capture_output=True)
        dense = summary(yaml)
        log(f"\n== {name}: {' '.join(args)}; {dense:,} dense parameters")
        base = None
        replicated = {}
        for ranks, threads, sharded in ((1, 2, False), (2, 1, False), (4, 1, False), (2, 1, True),
                                        (4, 1, True)):
            steps, rate, (reduced, gathered, tokens, samples), shard, keys = train(
                artifact, ranks, threads, args, sharded)
            if base is None:
                base = rate
            if not sharded:
                replicated[ranks] = gathered
            predicted = 4 * (dense + 1) / 1e6
            line = (f"{ranks} rank(s) x {threads} thread(s){', sharded tables' if sharded else ''}: "
                    f"{steps} steps, {rate} samples/s ({rate / base:.2f}x of 1 rank x 2 threads)")
            if shard:
                ids, rows, grads = shard
                share = tokens / ranks  # a rank's tokens
                rep_gathered = replicated[ranks]
                line += (f"; per step, rank 0 to the others: ids {ids:.3f} MB, rows {rows:.3f} MB, "
                         f"row gradients {grads:.3f} MB ({rows * 1e6 / max(share, 1):.0f} B of rows "
                         f"and {grads * 1e6 / max(share, 1):.0f} B of row gradients per token of "
                         f"a rank's share; replicated, each rank receives {rep_gathered:.3f} MB of "
                         f"row gradients: {rep_gathered * 1e6 / max(share, 1):.0f} B per token of "
                         f"its share)")
                # The model: 4 x dim B per distinct key of the share owned
                # by another rank (row gradients sent; rows served alike
                # on average), the distinct fraction measured.
                lookups, distinct, fraction, remote, model = keys
                line += (f"; rank 0's share looked up {lookups:.0f} ids, {distinct:.0f} distinct "
                         f"keys ({fraction:.3f}), {remote:.0f} on other ranks: model "
                         f"{model:.3f} MB, row gradients / model {grads / max(model, 1e-9):.3f}, "
                         f"rows / model {rows / max(model, 1e-9):.3f}")
                log(line)
                continue
            if ranks > 1:
                line += (f"; per step: all-reduced {reduced:.3f} MB (model: 4 x (dense + 1) = "
                         f"{predicted:.3f} MB, ratio {reduced / predicted:.3f}), row gradients "
                         f"gathered {gathered:.3f} MB for steps of {tokens:.0f} tokens "
                         f"({samples:.1f} samples): {gathered * 1e6 / max(tokens, 1):.0f} B a token")
            log(line)
with open(out_path, "w") as f:
    f.write("\n".join(lines) + "\n")
