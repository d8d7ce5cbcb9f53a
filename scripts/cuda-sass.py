#!/usr/bin/env python3
"""SASS of a CUDA artifact's kernels (mtgr-compile --target=cuda).

Reads the artifact's section table (abi/Artifact.h), writes each cubin
section ("cuda.sm_90a", "cuda.sm_80") to a file and disassembles it with the
CUDA disassembler: nvdisasm or cuobjdump from $CUDA_HOME/bin, $PATH or the
PyPI wheels nvidia-cuda-nvdisasm / nvidia-cuda-cuobjdump (installed by
scripts/setup.sh). No GPU is needed.

  cuda-sass.py ARTIFACT --out=DIR          write DIR/<arch>.cubin, .sass and .families
                                           (per op family: kernels, instructions, FFMA, LDS, LDG, HMMA)
  cuda-sass.py ARTIFACT --out=DIR --check  also hold every kernel to the SASS budget
  cuda-sass.py --sass=FILE                 hold one nvdisasm listing to the budget
  cuda-sass.py --find-disassembler         print the disassembler's path (exit 1: none)

The budget (docs/gpu-backend.md, "SASS checks"), per kernel and architecture:
no local memory (no LDL/STL: nothing spilled or put on the stack), no
subroutine calls (CALL: everything inlined, no libdevice slow path left);
the tiled GEMM kernels (linear, fused_linear, linear_backward) load their
tiles from shared memory (LDS) between barriers (BAR.SYNC) and multiply
with FFMA, or, built with --gemm=tensor-core, load fragments with LDSM
(ldmatrix) and multiply with HMMA, or, built with --gemm=wgmma (sm_90a),
fill shared memory with TMA (UTMALDG) behind mbarriers (SYNCS) and multiply
with HGMMA.
"""
import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys


def find_disassembler():
    """nvdisasm (preferred) or cuobjdump: (kind, path) or None.
    $MTGR_CUDA_DISASSEMBLER names one (the wheels may sit in another
    Python's site-packages than the one running this)."""
    named = os.environ.get("MTGR_CUDA_DISASSEMBLER")
    if named:
        kind = "cuobjdump" if os.path.basename(named).startswith("cuobjdump") else "nvdisasm"
        return (kind, named) if os.access(named, os.X_OK) else None
    cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    for tool in ("nvdisasm", "cuobjdump"):
        candidates = [os.path.join(cuda_home, "bin", tool), shutil.which(tool)]
        for site in sys.path:
            candidates += glob.glob(os.path.join(site, "nvidia", "*", "bin", tool))
        for c in candidates:
            if c and os.access(c, os.X_OK):
                return tool, c
    return None


def read_sections(path):
    data = open(path, "rb").read()
    if data[:8] != b"MTGRART\n":
        raise SystemExit(f"cuda-sass: {path}: not an mtgr artifact (bad magic)")
    _version, count = struct.unpack_from("<II", data, 8)
    sections = {}
    for i in range(count):
        name, offset, size, _hash = struct.unpack_from("<16sQQQ", data, 16 + 40 * i)
        name = name.rstrip(b"\0").decode()
        if offset + size > len(data):
            raise SystemExit(f"cuda-sass: {path}: section '{name}' runs past the end")
        sections[name] = data[offset:offset + size]
    return sections


def disassemble(kind, tool, cubin):
    args = [tool, "-c", cubin] if kind == "nvdisasm" else [tool, "-sass", cubin]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def split_kernels(sass):
    """kernel name -> its SASS text (nvdisasm '.text.<name>:' sections or
    cuobjdump 'Function : <name>' blocks)."""
    kernels, name, lines = {}, None, []
    for line in sass.splitlines():
        m = re.match(r"\s*(?:\.section\s+)?\.text\.([\w$.]+)", line) or \
            re.match(r"\s*Function : ([\w$.]+)", line)
        if m and (name is None or m.group(1) != name):
            if name is not None:
                kernels[name] = "\n".join(lines)
            name, lines = m.group(1), []
            continue
        if name is not None:
            lines.append(line)
    if name is not None:
        kernels[name] = "\n".join(lines)
    return kernels


def opcodes(text):
    """The SASS opcodes of a kernel (predicates and modifiers dropped)."""
    ops = []
    for m in re.finditer(r"/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)(\.[\w.]+)?", text):
        ops.append(m.group(1) + (m.group(2) or ""))
    return ops


GEMM_FAMILIES = ("linear", "fused_linear", "linear_backward")
# Optimiser arithmetic is f64 by design (codegen/common/LowerOptimizer.cpp,
# as the float64 reference): its division and square root are the toolkit's
# f64 subroutines.
OPTIMIZER_FAMILIES = ("adam_update", "sparse_update")
# Subroutines a kernel may call: the rare paths of IEEE f32 division and
# reciprocal (denormal or huge operands) and of 64-bit unsigned division
# (LLVM's NVPTX back end divides in 32 bits when both operands fit: index
# arithmetic).
RARE_PATH_CALLS = ("cuda_sm3x_div_rn_noftz_f32_slowpath", "cuda_sm20_rcp_rn_f32_slowpath",
                   "cuda_sm20_div_u64", "cuda_sm20_rem_u64")
F64_CALLS = ("cuda_sm20_div_rn_f64_full", "cuda_sm20_dsqrt_rn_f64_mediumpath_v1")


def family(kernel):
    """The op family of a kernel: '<entry>__<op>[_<n>]' (codegen/cuda,
    nameKernel) -> '<op>'."""
    m = re.match(r".*?__([a-z_]+?)(?:_\d+)?$", kernel)
    return m.group(1) if m else kernel


def local_label(label):
    """True for a call to one of the kernel's own labels (.L_x_N): ptxas's
    intra-kernel control flow (a predicated exit or loop latch under
    CALL.REL.NOINC, seen on sm_80 since the kernels' constants are known),
    not a subroutine; the toolkit's routines have names ($__internal_...)."""
    return label.startswith(".L_x_")


def check(arch, kernels, metadata):
    """Budget failures of one architecture's kernels."""
    failures = []
    for name, text in sorted(kernels.items()):
        ops = opcodes(text)
        base = {o.split(".")[0] for o in ops}
        if not ops:
            failures.append(f"{arch} {name}: no instructions found")
            continue
        for bad in ("LDL", "STL"):
            if bad in base:
                failures.append(f"{arch} {name}: {bad} in the SASS (local memory: a spill or a stack array)")
        allowed = RARE_PATH_CALLS + (F64_CALLS if family(name) in OPTIMIZER_FAMILIES else ())
        for callee in re.findall(r"CALL\.\w+(?:\.\w+)?\s+`\(([^)]*)\)", text):
            if local_label(callee):
                continue
            routine = re.sub(r"^\$?__internal_\d+_\$_*", "", callee)
            if not any(routine.endswith(a) for a in allowed):
                failures.append(f"{arch} {name}: calls {routine}")
        shared = metadata.get(name, {}).get("archs", {}).get(arch, {}).get("shared_bytes", 0)
        if family(name) in GEMM_FAMILIES and shared > 0:
            # The SIMT GEMM multiplies with FFMA from LDS; the tensor-core
            # GEMM (--gemm=tensor-core) with HMMA from LDSM (ldmatrix);
            # sm_90a's (--gemm=wgmma) with HGMMA straight from the shared
            # memory its TMA copies (UTMALDG) filled, waiting on mbarriers
            # (SYNCS).
            if "HGMMA" in base:
                kind, needs = "wgmma", ("UTMALDG", "SYNCS", "BAR", "HGMMA")
            elif "HMMA" in base:
                kind, needs = "tensor-core", ("LDSM", "BAR", "HMMA")
            else:
                kind, needs = "tiled", ("LDS", "BAR", "FFMA")
            for need in needs:
                if need not in base:
                    failures.append(f"{arch} {name}: a {kind} GEMM kernel without {need}")
        if family(name) in ("hstu_attention", "hstu_attention_backward") and shared > 0:
            # The fused passes (--attention=tensor-core): the products and
            # W times the second operand by HMMA from ldmatrix, the second
            # operand's fragments transposed (LDSM .MT88). The sm_90a
            # forward (--attention=wgmma): HGMMA from the shared memory its
            # TMA copies (UTMALDG) filled behind mbarriers (SYNCS).
            if "HGMMA" in base:
                for need in ("UTMALDG", "SYNCS", "BAR", "HGMMA"):
                    if need not in base:
                        failures.append(f"{arch} {name}: a wgmma attention kernel without {need}")
                continue
            for need in ("LDSM", "BAR", "HMMA"):
                if need not in base:
                    failures.append(f"{arch} {name}: a tensor-core attention kernel without {need}")
            if not any(o.startswith("LDSM.16.MT88") for o in ops):
                failures.append(f"{arch} {name}: a tensor-core attention kernel without LDSM.16.MT88 (the second operand's fragments)")
    return failures


def summary(arch, kernels):
    """Per family: kernels, instructions, FFMA, shared loads, global loads,
    tensor-core MMAs."""
    rows = {}
    for name, text in kernels.items():
        ops = [o.split(".")[0] for o in opcodes(text)]
        r = rows.setdefault(family(name), [0, 0, 0, 0, 0, 0])
        r[0] += 1
        r[1] += len(ops)
        r[2] += ops.count("FFMA")
        r[3] += ops.count("LDS")
        r[4] += ops.count("LDG")
        r[5] += ops.count("HMMA") + ops.count("HGMMA")
    lines = [f"# {arch}: family kernels instructions FFMA LDS LDG HMMA (HMMA and HGMMA; static counts)"]
    for fam, r in sorted(rows.items()):
        lines.append(f"{arch} {fam} " + " ".join(map(str, r)))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact", nargs="?")
    p.add_argument("--out")
    p.add_argument("--check", action="store_true")
    p.add_argument("--find-disassembler", action="store_true")
    p.add_argument("--sass", help="an nvdisasm listing to check (no artifact)")
    a = p.parse_args()
    if a.sass:
        text = open(a.sass).read()
        m = re.search(r"\.target\s+(\w+)", text)
        failures = check(m.group(1) if m else "sass", split_kernels(text), {})
        for f in failures:
            print("cuda-sass: FAIL", f)
        return 1 if failures else 0
    found = find_disassembler()
    if a.find_disassembler:
        if not found:
            print("cuda-sass: no CUDA disassembler (nvdisasm, cuobjdump): "
                  "pip install nvidia-cuda-nvdisasm", file=sys.stderr)
            return 1
        print(found[1])
        return 0
    if not a.artifact or not a.out:
        p.error("an artifact and --out=DIR are needed")
    if not found:
        print("cuda-sass: skipped: no CUDA disassembler (nvdisasm, cuobjdump); "
              "pip install nvidia-cuda-nvdisasm", file=sys.stderr)
        return 0
    kind, tool = found
    os.makedirs(a.out, exist_ok=True)
    sections = read_sections(a.artifact)
    archs = [n[len("cuda."):] for n in sections if re.fullmatch(r"cuda\.sm_\w+", n)]
    if not archs:
        raise SystemExit(f"cuda-sass: {a.artifact}: no cubin sections (compiled with --cuda-arch=none?)")
    metadata = {}
    if "cuda.kernels" in sections:
        metadata = {k["name"]: k for k in json.loads(sections["cuda.kernels"])["kernels"]}
    failures = []
    for arch in archs:
        cubin = os.path.join(a.out, arch + ".cubin")
        open(cubin, "wb").write(sections["cuda." + arch])
        sass = disassemble(kind, tool, cubin)
        open(os.path.join(a.out, arch + ".sass"), "w").write(sass)
        kernels = split_kernels(sass)
        print(f"{arch}: {len(kernels)} kernels disassembled with {kind}")
        missing = sorted(set(metadata) - set(kernels))
        if missing:
            failures.append(f"{arch}: kernels of the launch metadata not in the cubin: {missing[:5]}")
        table = summary(arch, kernels)
        open(os.path.join(a.out, arch + ".families"), "w").write(table + "\n")
        if a.check:
            failures += check(arch, kernels, metadata)
    for f in failures:
        print("cuda-sass: FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
