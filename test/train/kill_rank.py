"""A rank killed in the middle of a multi-rank run leaves the last checkpoint
whole, and the job resumes from it to where an uninterrupted run ends.

    kill_rank.py MTGR_RUN ARTIFACT WORKDIR STEPS [MTGR-RUN OPTIONS...]

Runs STEPS steps of tiny on two ranks (the reference); then again with a
checkpoint after every step, kills rank 1 (SIGKILL) once a checkpoint is
there, checks that mpirun ended the job with an error, resumes the two-rank
job from the checkpoint to STEPS and compares every parameter with the
reference: bit for bit (a checkpoint continues a run exactly for a given
rank and thread count). Prints one line; exit status 0 when all held.
Bounded: tiny's steps take milliseconds, the whole script a few seconds.
"""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def mpirun(ranks, command):
    return ["mpirun", "--oversubscribe", "-np", str(ranks), *command]


def main():
    run, artifact, work, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.makedirs(work, exist_ok=True)
    common = ["--users=48", "--token-budget=1500", f"--epochs={steps}", "--num-threads=1",
              *sys.argv[5:]]
    reference = os.path.join(work, "reference.npz")
    subprocess.run(mpirun(2, [run, "train", artifact, *common, f"--steps={steps}",
                              f"--save-params={reference}"]),
                   env=ENV, check=True, capture_output=True)
    checkpoint = os.path.join(work, "run.ckpt")
    if os.path.exists(checkpoint):
        os.remove(checkpoint)
    # Each rank writes its pid, then becomes mtgr-run.
    script = (f'echo $$ > {work}/pid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"')
    job = subprocess.Popen(mpirun(2, ["sh", "-c", script, run, "train", artifact, *common,
                                      f"--steps={steps}", f"--checkpoint={checkpoint}",
                                      "--checkpoint-every=1"]),
                           env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    pid_file = os.path.join(work, "pid.1")
    while time.time() < deadline and not (os.path.exists(checkpoint) and os.path.exists(pid_file)):
        time.sleep(0.005)
    killed = False
    if job.poll() is None:
        os.kill(int(open(pid_file).read()), signal.SIGKILL)
        killed = True
    status = job.wait(timeout=60)
    failures = []
    if not killed:
        failures.append("the job ended before a rank could be killed")
    if status == 0:
        failures.append("mpirun exited 0 after a rank was killed")
    resumed = subprocess.run(mpirun(2, [run, "train", artifact, *common, f"--steps={steps}",
                                        f"--resume={checkpoint}",
                                        f"--save-params={work}/resumed.npz"]),
                             env=ENV, capture_output=True, text=True)
    m = re.search(r"resumed .* at step (\d+)", resumed.stderr)
    if resumed.returncode != 0 or not m:
        failures.append(f"resume failed ({resumed.returncode}): {resumed.stderr[-500:]}")
        at = -1
    else:
        at = int(m.group(1))
        a, b = np.load(reference), np.load(f"{work}/resumed.npz")
        differ = [n for n in a.files if not np.array_equal(a[n], b[n])]
        if differ:
            failures.append(f"the resumed run's {', '.join(differ)} differ from the reference")
        if not 1 <= at < steps:
            failures.append(f"resumed at step {at}, not between 1 and {steps - 1}")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"kill a rank: checkpoint whole, resumed, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
