#!/usr/bin/env python3
"""Summarises the FMA loops of a disassembly (llvm-objdump -d on stdin).

A hot loop is an innermost loop (the code between a backward branch and its
target, holding no other backward branch) with at least 8 vector FMAs. Prints, per register kind, how many such loops there
are and how many vector stack accesses (an xmm/ymm/zmm register to or from
(%rsp): spills and reloads) they hold in all, so a test can require register tiles that fit the registers. With
--tile=N only GEMM micro-kernels of an N-accumulator register tile count:
loops of N or 2 N FMAs (one step, or two unrolled) with at most two other
instructions per FMA (the broadcasts and B loads); with --function=PREFIX only
loops in functions whose name starts with PREFIX count; -v lists every hot loop.
"""
import re
import sys

insts = []
functions = []  # (first address, name)
for line in sys.stdin:
    f = re.match(r"([0-9a-f]+) <(.*)>:", line)
    if f:
        functions.append((int(f.group(1), 16), f.group(2)))
        continue
    m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
    if m:
        insts.append((int(m.group(1), 16), m.group(2), m.group(3)))
prefix = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--function=")), "")


def function_of(addr):
    names = [name for start, name in functions if start <= addr]
    return names[-1] if names else ""
tile = next((int(a.split("=")[1]) for a in sys.argv if a.startswith("--tile=")), 0)
index = {addr: i for i, (addr, _, _) in enumerate(insts)}


def backward_target(i):
    addr, op, args = insts[i]
    target = re.match(r"(?:0x)?([0-9a-f]+)", args) if op.startswith("j") else None
    if not target or int(target.group(1), 16) >= addr or int(target.group(1), 16) not in index:
        return None
    return index[int(target.group(1), 16)]


loops = {}
for i in range(len(insts)):
    start = backward_target(i)
    if start is None or any(backward_target(j) is not None for j in range(start, i)):
        continue
    body = insts[start:i + 1]
    fmas = [b for b in body if b[1].startswith("vfmadd")]
    if len(fmas) < 8:
        continue
    if tile and (len(fmas) not in (tile, 2 * tile) or len(body) > 3 * len(fmas)):
        continue
    if prefix and not function_of(body[0][0]).startswith(prefix):
        continue
    kind = "zmm" if any("zmm" in b[2] for b in fmas) else "ymm" if any("ymm" in b[2] for b in fmas) else "xmm"
    stack = sum("(%rsp)" in b[2] and "mm" in b[2] for b in body)
    if "-v" in sys.argv:
        print(hex(body[0][0]), kind, len(fmas), "fmas", stack, "stack", len(body), "insts")
    n, s = loops.get(kind, (0, 0))
    loops[kind] = (n + 1, s + stack)
for kind in sorted(loops):
    n, s = loops[kind]
    print(f"{kind} fma loops {n} vector stack accesses {s}")
