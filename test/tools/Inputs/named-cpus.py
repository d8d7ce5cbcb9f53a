#!/usr/bin/env python3
"""Every CPU mtgr-compile --cpu names: compile a model for it and, where this
machine can run that code, compare it with the float64 reference
(mtgr-run verify). A CPU whose code this machine cannot run (an ISA
extension it lacks) is skipped with the reason; any other failure fails.

usage: named-cpus.py MODEL WORKDIR [--also=CPU,CPU...] [verify options...]
(--also: CPUs outside the table, which get default FMA and cache figures)
"""
import re
import subprocess
import sys


def run(args):
    return subprocess.run(args, capture_output=True, text=True)


def main():
    model, work, verify = sys.argv[1], sys.argv[2], sys.argv[3:]
    also = [a for a in verify if a.startswith("--also=")]
    verify = [a for a in verify if not a.startswith("--also=")]
    # The tool's own list: an unknown name is refused with the supported ones.
    refusal = run(["mtgr-compile", model, "--cpu=not-a-cpu", "--emit=none"])
    listed = re.search(r"with tables: ([^)]*)\)", refusal.stderr)
    if refusal.returncode == 0 or not listed:
        print("FAILED: no list of CPUs in: " + refusal.stderr.strip())
        return 1
    cpus = [c.strip() for c in listed.group(1).split(",")]
    for a in also:
        cpus += a[len("--also="):].split(",")
    verified = skipped = failed = 0
    for cpu in cpus:
        artifact = f"{work}/{cpu}.mtgr"
        built = run(["mtgr-compile", model, "--inference-only", f"--cpu={cpu}", "-o", artifact])
        if built.returncode != 0:
            print(f"{cpu}: FAILED to compile: {built.stderr.strip()}")
            failed += 1
            continue
        checked = run(["mtgr-run", "verify", artifact] + verify)
        lacks = re.search(r"using '([^']*)', which this CPU lacks", checked.stderr)
        if checked.returncode == 0 and "PASS:" in checked.stdout:
            print(f"{cpu}: verified")
            verified += 1
        elif lacks:
            print(f"{cpu}: skipped (this CPU lacks {lacks.group(1)})")
            skipped += 1
        else:
            print(f"{cpu}: FAILED: {(checked.stdout + checked.stderr).strip()}")
            failed += 1
    print(f"named CPUs: {verified} verified, {skipped} skipped, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
