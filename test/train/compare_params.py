"""Parameters of several runs agree to rounding.

    compare_params.py TOLERANCE A.npz B.npz [C.npz ...]

Every array of A is in each other file with its shape, and max |x - a| /
max(1, max |a|) <= TOLERANCE per array. Prints the largest such error over
all arrays and files, then PASS or the arrays that differ; exit status 0
when all agree. (Debian's NumPy.)
"""
import sys

import numpy as np


def main():
    tolerance = float(sys.argv[1])
    first, *others = sys.argv[2:]
    a = np.load(first)
    worst, bad = 0.0, []
    for path in others:
        b = np.load(path)
        if sorted(a.files) != sorted(b.files):
            bad.append(f"{path}: arrays {sorted(set(a.files) ^ set(b.files))} not in both")
            continue
        for name in a.files:
            x, y = a[name].astype(np.float64), b[name].astype(np.float64)
            if x.shape != y.shape:
                bad.append(f"{path}: {name} is {y.shape}, not {x.shape}")
                continue
            scale = max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
            err = float(np.max(np.abs(x - y))) / scale if x.size else 0.0
            worst = max(worst, err)
            if not err <= tolerance:
                bad.append(f"{path}: {name}: {err:.3e} > {tolerance:.1e}")
    print(f"largest relative difference {worst:.3e} over {len(a.files)} arrays x {len(others)} runs")
    for line in bad:
        print("DIFFER:", line)
    print("PASS" if not bad else "FAIL")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
