"""Crash consistency of a whole training run (issue 9).

Runs `mtgr-run train` once uninterrupted, then again killed with SIGKILL at
KILLS seeded moments, each restart resuming from the last checkpoint, and
checks that the interrupted run ends bit-identical to the uninterrupted one:
the same final checkpoint (parameters, optimiser state, dynamic tables, step,
data position), the same saved parameters and the same step count.

A moment is (step s, fraction f): once the run has reported step s (s = 0:
right after the process starts) it is killed f x (a step's mean duration)
later, so kills land in step computation, in checkpoint writes and in
start-up. Moments come from random.Random(SEED): the same in every run.

usage: crash_consistency.py MTGR_RUN ARTIFACT WORKDIR KILLS SEED [train args]
"""
import os
import random
import signal
import re
import subprocess
import sys
import time

mtgr_run, artifact, work, kills, seed = sys.argv[1:6]
kills, seed = int(kills), int(seed)
train_args = sys.argv[6:]
os.makedirs(work, exist_ok=True)


def command(ckpt, params, resume):
    cmd = [mtgr_run, "train", artifact, *train_args, "--checkpoint=" + ckpt,
           "--checkpoint-every=1", "--log-every=1", "--save-params=" + params]
    if resume and os.path.exists(ckpt):
        cmd.append("--resume=" + ckpt)
    return cmd


def trained_line(out):
    return [l for l in out.splitlines() if l.startswith("trained")]


def step_of(line):
    # "step 12 (epoch 1, 3/40) ..."
    return int(line.split()[1]) if line.startswith("step ") else None


for f in os.listdir(work):
    os.remove(os.path.join(work, f))

# The uninterrupted run, timed per step.
ref_ckpt, ref_params = os.path.join(work, "ref.ckpt"), os.path.join(work, "ref.npz")
start = time.monotonic()
ref = subprocess.run(command(ref_ckpt, ref_params, False), capture_output=True, text=True)
if ref.returncode != 0:
    sys.exit("uninterrupted run failed:\n" + ref.stderr)
total = time.monotonic() - start
steps = [s for s in map(step_of, ref.stderr.splitlines()) if s is not None]
if len(steps) < 4:
    sys.exit("the run is too short to kill (%d steps)" % len(steps))
last = steps[-1]
step_seconds = total / (last + 1)

rng = random.Random(seed)
moments = sorted((rng.randrange(0, last), rng.random()) for _ in range(kills))

ckpt, params = os.path.join(work, "run.ckpt"), os.path.join(work, "run.npz")
delivered = []
for target, fraction in moments:
    proc = subprocess.Popen(command(ckpt, params, True), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    if target > 0:
        # A resumed run reports from its checkpoint's step on: a step already
        # past the target counts as reached.
        for line in proc.stderr:
            s = step_of(line)
            if s is not None and s >= target:
                break
    time.sleep(fraction * step_seconds)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.stderr.close()
    proc.wait()
    if finished:
        sys.exit("the run finished before kill %d (step %d): lengthen it" %
                 (len(delivered) + 1, target))
    delivered.append((target, fraction))

# The last start runs to the end. It must have resumed from a checkpoint
# past step 0 (mtgr-run prints what it resumed): a restart from scratch would
# also end bit-identical, by determinism, and prove nothing.
final = subprocess.run(command(ckpt, params, True), capture_output=True, text=True)
if final.returncode != 0:
    sys.exit("resumed run failed:\n" + final.stderr)
resumed = re.search(r"^resumed \S+ at step (\d+) ", final.stderr, re.M)
if not resumed or int(resumed.group(1)) == 0:
    sys.exit("the last start did not resume past step 0:\n" + final.stderr[:2000])
print("the last start resumed at step %s" % resumed.group(1))

print("uninterrupted: %d steps in %.2f s; killed %d times at (step, fraction): %s" %
      (last, total, len(delivered), " ".join("(%d,%.2f)" % m for m in delivered)))
same = True
for name, a, b in (("checkpoint", ref_ckpt, ckpt), ("parameters", ref_params, params)):
    if open(a, "rb").read() != open(b, "rb").read():
        print("DIFFERENT %s: %s vs %s" % (name, a, b))
        same = False
if trained_line(ref.stdout) != trained_line(final.stdout):
    print("DIFFERENT step counts: %s vs %s" % (trained_line(ref.stdout), trained_line(final.stdout)))
    same = False
print("bit-identical" if same else "NOT bit-identical")
sys.exit(0 if same else 1)
