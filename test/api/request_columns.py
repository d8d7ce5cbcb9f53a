"""Requests (docs/requests.md, parsed JSON) as NumPy columns: what the C API's
batch builder, the Python module's set_* methods and mtgr-serve's column
inputs take. Shared by test/api/python_api_test.py and
test/serve/kserve_client_test.py. Events are taken in file order (sorted by
time, as mtgr-run gen writes them)."""
import numpy as np


def request_columns(requests):
    """{name: array}: user_ids, <group>.offsets and <group>.time for sequence,
    realtime and candidate, and <group>.<feature>: INT64 ids, or FP32 values
    [rows, width] where any value is a list or a float (a dense feature whose
    values happen to be integers comes back as ids)."""
    offsets = {g: [0] for g in ("sequence", "realtime", "candidate")}
    times = {g: [] for g in offsets}
    feats = {}
    for r in requests:
        for name, value in r["profile"].items():
            feats.setdefault("user." + name, []).append(value)
        for group, key in (("sequence", "sequence"), ("realtime", "realtime"),
                           ("candidate", "candidates")):
            rows = r.get(key, [])
            offsets[group].append(offsets[group][-1] + len(rows))
            for row in rows:
                times[group].append(row["time"])
                for name, value in row.items():
                    if name not in ("time", "id", "labels"):
                        feats.setdefault(f"{group}.{name}", []).append(value)
    arrays = {"user_ids": np.array([r["user"] for r in requests], dtype=np.int64)}
    for g in offsets:
        arrays[g + ".offsets"] = np.array(offsets[g], dtype=np.int64)
        arrays[g + ".time"] = np.array(times[g], dtype=np.int64)
    for name, values in feats.items():
        if any(isinstance(v, (list, float)) for v in values):
            arrays[name] = np.array(values, dtype=np.float32).reshape(len(values), -1)
        else:
            arrays[name] = np.array(values, dtype=np.int64)
    return arrays
