#!/usr/bin/env bash
# On a lent GPU machine (CUDA, no LLVM): mtgr's GPU path as far as it goes
# (docs/gpu-backend.md). Prints, and writes $OUT/gpu.txt as it goes:
#   1. nvidia-smi; the runner's libraries (no libLLVM); mtgr's device listing
#      through its own dlopen of libcuda;
#   2. the ceilings through mtgr's own paths (mtgr-run devices --ceilings:
#      a device-to-device copy, cuBLASLt 8192^3 bf16 and fp32 GEMMs);
#   3. the golden kernels (test/golden/README.md): tensor-core
#      micro-kernels on the GPU, their outputs recorded in $OUT/golden and
#      the emulator compared with them bit for bit;
#      verify --device=cuda, device buffers poisoned with NaN
#      (MTGR_CUDA_POISON), on ~25 configurations: each carried model x its
#      GEMM paths (--gemm=generated, cublaslt; MTGR-small also on tensor
#      cores: mma.sync (tc), with the fused attention (ta), and sm_90a's
#      wgmma fed by TMA with it (wg), and that with activations stored in
#      bf16 (bf; tiny too)) x batch shapes (one user with one
#      token and one candidate; mid-size; long sequences); the emulator as
#      the control on the small ones;
#   4. compute-sanitizer memcheck and racecheck on two tiny runs (where the
#      machine's runtime lets it: gVisor refuses, Firecracker works);
#   5. training steps (also of the random-delay builds, --gpu-sync-delays),
#      scoring passes for 5 s, and per-family kernel times
#      (--profile: CUDA events around each kernel) of MTGR-small on each
#      GEMM path, with projections as a fraction of the fp32 GEMM ceiling
#      (tensor cores: of the bf16 one);
#   6. the static side compiled here: registers/spills per kernel (ptxas)
#      and the SASS summaries per op family (scripts/cuda-sass.py).
# Each step has a timeout: a hang costs its limit, not the lease.
#
# Usage, with build/gpu-carry/ (bench/gpu/build.sh) as the working
# directory: bash run.sh. A dry run here on the stand-in driver and
# cuBLASLt (launches run nothing, so verify --device=cuda fails there, as it
# must; test/tools/gpu-dry-run.test runs it in CI):
#   F=build/test/fake-cuda MTGR_LIBCUDA=$F/libcuda.so.1 \
#     MTGR_LIBCUBLASLT=$F/libcublasLt.so.13 MTGR_CEILING_SIZE=64 bash build/gpu-carry/run.sh
# MTGR_RUN names another runner, MTGR_ARTIFACTS another folder of
# <model>.cuda.mtgr / <model>.lt.mtgr artifacts, MTGR_GOLDEN another folder
# of golden kernels.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run="${MTGR_RUN:-$here/mtgr-run}"
artifacts="${MTGR_ARTIFACTS:-$here}"
golden="${MTGR_GOLDEN:-$here/golden}"
# build.sh packs the artifacts and the golden kernels (artifacts.tar.xz).
if [ -z "${MTGR_ARTIFACTS:-}" ] && [ -f "$here/artifacts.tar.xz" ]; then
  artifacts="$(mktemp -d)"
  tar -C "$artifacts" -xJf "$here/artifacts.tar.xz"
  golden="${MTGR_GOLDEN:-$artifacts/golden}"
fi
out="${OUT:-$here}/gpu.txt"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log() { echo "$@" | tee -a "$out"; }
step() { # step TITLE SECONDS COMMAND...: runs it, logs its output and exit status
  local title="$1" limit="$2"
  shift 2
  log "== $title"
  local start=$(date +%s%N)
  timeout "$limit" "$@" 2>&1 | tee -a "$out"
  log "exit: ${PIPESTATUS[0]} ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
}
: > "$out"
log "== date: $(date -u +%FT%TZ)"
step "nvidia-smi" 30 nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
step "ldd mtgr-run (must start without LLVM)" 10 ldd "$run"
# cuBLASLt: the toolkit's, else a Python wheel's (the image's PyTorch).
if [ -z "${MTGR_LIBCUBLASLT:-}" ]; then
  for candidate in /usr/local/cuda/lib64/libcublasLt.so.13 \
      $(ls -d /opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib/libcublasLt.so.13 \
              /opt/*/.venv/lib/python3*/site-packages/nvidia/cublas/lib/libcublasLt.so.13 \
              /usr/local/lib/python3*/dist-packages/nvidia/cu13/lib/libcublasLt.so.13 2>/dev/null); do
    [ -f "$candidate" ] && { export MTGR_LIBCUBLASLT="$candidate"; break; }
  done
fi
log "== cuBLASLt: ${MTGR_LIBCUBLASLT:-libcublasLt.so.13, found by the dynamic loader}"
step "mtgr-run devices --ceilings" 120 "$run" devices --ceilings \
  --ceiling-size="${MTGR_CEILING_SIZE:-8192}" --ceiling-repeats=5

# The golden kernels (test/golden/README.md): each tensor-core micro-kernel
# on the GPU, its buffers after the call recorded in $OUT/golden (commit
# them to test/golden/), then the emulator compared with them bit for bit.
if [ -d "$golden" ]; then
  recorded="${OUT:-$here}/golden"
  mkdir -p "$recorded"
  for artifact in "$golden"/*.mtgr; do
    name="$(basename "$artifact" .mtgr)"
    step "golden $name: mtgr-run call --device=cuda" 60 "$run" call "$artifact" \
      --inputs="$golden/$name.in.npz" --device=cuda --output="$recorded/$name.out.npz"
    [ -f "$recorded/$name.out.npz" ] &&
      step "golden $name: the emulator against the GPU's outputs" 120 "$run" call "$artifact" \
        --inputs="$golden/$name.in.npz" --device=cuda-emu --expect="$recorded/$name.out.npz"
  done
fi

export MTGR_CUDA_POISON=1
shapes=("--users=4"
        "--users=1 --seq-len=1 --rt-len=0 --candidates=1"
        "--users=8 --seq-len=300 --rt-len=30 --candidates=20")
for model in tiny-dlrm tiny mtgr-small; do
  for gemm in cuda lt tc ta wg bf aw rd rb; do
    artifact="$artifacts/$model.$gemm.mtgr"
    [ -f "$artifact" ] || continue
    # verify takes its tolerance from the artifact's numerics (bf16 on
    # tensor cores or in storage: 0.35; fp32: 1e-4).
    for shape in "${shapes[@]}"; do
      # MTGR-small: the mid-size shape and a long one only.
      if [ "$model" = mtgr-small ]; then
        [ "$shape" = "${shapes[1]}" ] && continue
        [ "$shape" = "${shapes[0]}" ] && shape="--users=4 --seq-len=200 --rt-len=20 --candidates=16"
      fi
      # shellcheck disable=SC2086
      step "verify $model.$gemm --device=cuda $shape" 120 "$run" verify "$artifact" \
        --device=cuda --batches=2 --randomize-params $shape
    done
  done
  # The emulator as the control (MTGR-small's takes minutes there: left out).
  [ "$model" = mtgr-small ] || [ ! -f "$artifacts/$model.cuda.mtgr" ] ||
    step "verify $model.cuda --device=cuda-emu (control)" 60 "$run" verify \
      "$artifacts/$model.cuda.mtgr" --device=cuda-emu --batches=1 --randomize-params
done
unset MTGR_CUDA_POISON

sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
if [ -n "$sanitizer" ]; then
  step "compute-sanitizer memcheck: verify tiny-dlrm --device=cuda" 180 "$sanitizer" \
    --tool memcheck --error-exitcode 9 "$run" verify "$artifacts/tiny-dlrm.cuda.mtgr" \
    --device=cuda --batches=1 --randomize-params
  step "compute-sanitizer racecheck: verify tiny --device=cuda" 180 "$sanitizer" \
    --tool racecheck --error-exitcode 9 "$run" verify "$artifacts/tiny.cuda.mtgr" \
    --device=cuda --batches=1 --randomize-params --users=2
  # The tensor-core kernels' shared memory: the fused attention's Q/K/V
  # tiles and the GEMM's operand tiles between barriers.
  [ -f "$artifacts/tiny.ta.mtgr" ] &&
    step "compute-sanitizer racecheck: verify tiny.ta --device=cuda" 180 "$sanitizer" \
      --tool racecheck --error-exitcode 9 "$run" verify "$artifacts/tiny.ta.mtgr" \
      --device=cuda --batches=1 --randomize-params --users=2
else
  log "== compute-sanitizer: not on this machine (skipped)"
fi

step "train tiny.cuda --device=cuda, 3 steps" 120 "$run" train "$artifacts/tiny.cuda.mtgr" \
  --device=cuda --steps=3 --users=200
step "train tiny.lt --device=cuda, 3 steps" 120 "$run" train "$artifacts/tiny.lt.mtgr" \
  --device=cuda --steps=3 --users=200
# Tensor cores in training: the products, the attention forward and its
# backward (dQ, dK, dV).
[ -f "$artifacts/tiny.ta.mtgr" ] &&
  step "train tiny.ta --device=cuda, 3 steps" 120 "$run" train "$artifacts/tiny.ta.mtgr" \
    --device=cuda --steps=3 --users=200
# bf16 activations in training, products by wgmma fed by TMA (sm_90a);
# then both tensor-core builds with random delays around every
# synchronisation point (--gpu-sync-delays).
for gemm in bf rd rb; do
  [ -f "$artifacts/tiny.$gemm.mtgr" ] &&
    step "train tiny.$gemm --device=cuda, 3 steps" 120 "$run" train "$artifacts/tiny.$gemm.mtgr" \
      --device=cuda --steps=3 --users=200
done
# Recorded calls (CUDA graphs, MTGR_CUDA_GRAPHS=1; off by default until
# this step has passed on a GPU): one user's request scored again and again
# (the second pass captures the call as a graph, later passes launch it with
# their own uploads), timed without and with graphs; the scores of the two
# runs must be the same bytes.
for a in tiny.cuda mtgr-small.ta; do
  [ -f "$artifacts/$a.mtgr" ] || continue
  for graphs in 0 1; do
    step "infer $a --device=cuda, 1 user of 1000+100 tokens, 512 candidates, graphs $graphs, 3 s" \
      60 env MTGR_CUDA_GRAPHS=$graphs MTGR_CUDA_POOL_STATS=1 MTGR_CUDA_POISON=1 "$run" infer \
      "$artifacts/$a.mtgr" --device=cuda --users=1 --min-seq-len=1000 --seq-len=1000 \
      --rt-len=100 --candidates=512 --time=3 --output="${OUT:-$here}/graphs-$a-$graphs.txt"
  done
  step "scores of $a with graphs == without" 10 cmp "${OUT:-$here}/graphs-$a-0.txt" \
    "${OUT:-$here}/graphs-$a-1.txt"
done
ceiling=$(awk '/ceilings/ { for (i = 1; i < NF; ++i) if ($i == "fp32") print $(i + 1) }' "$out" | head -1)
# Tensor-core products are compared with the bf16 GEMM's ceiling.
ceiling16=$(awk '/ceilings/ { for (i = 1; i < NF; ++i) if ($i == "bf16") print $(i + 1) }' "$out" | head -1)
for gemm in cuda lt tc ta wg bf aw; do
  artifact="$artifacts/mtgr-small.$gemm.mtgr"
  [ -f "$artifact" ] || continue
  step "infer mtgr-small.$gemm --device=cuda --profile, 5 s of passes" 120 "$run" infer \
    "$artifact" --device=cuda --users=32 --seq-len=500 --rt-len=50 --candidates=32 \
    --profile --time=5 --output=/dev/null
  rate=$(awk '/== infer mtgr-small.'"$gemm"'/ { on = 1 } on && /projections .* GFLOP\/s/ { print $(NF - 1); exit }' "$out")
  peak="$ceiling" kind=fp32
  [ "$gemm" = tc ] || [ "$gemm" = ta ] || [ "$gemm" = wg ] || [ "$gemm" = bf ] ||
    [ "$gemm" = aw ] &&
    peak="$ceiling16" kind=bf16
  if [ -n "$peak" ] && [ -n "$rate" ]; then
    log "== mtgr-small.$gemm: projections at $rate GFLOP/s = $(awk -v r="$rate" -v c="$peak" 'BEGIN { if (c > 0) printf "%.3f", r / (c * 1000); else print "n/a" }') of the cuBLASLt $kind ceiling ($peak TFLOP/s)"
  fi
done
# The fused attention at long sequences (about 4k tokens per user: the
# issue's n = 4096 point, 2 heads x 256), useful FLOPs per second against
# the same run's cuBLASLt bf16 GEMM.
attention_ratio() { # attention_ratio TITLE: the step's attention GFLOP/s / the bf16 ceiling
  local rate
  rate=$(awk -v t="== $1" '$0 == t { on = 1; next } on && /^== / { exit } on && /^ *attention .* GFLOP\/s/ { print $(NF - 1); exit }' "$out")
  [ -n "$rate" ] && [ -n "$ceiling16" ] &&
    log "== $1: attention at $rate GFLOP/s = $(awk -v r="$rate" -v c="$ceiling16" 'BEGIN { if (c > 0) printf "%.3f", r / (c * 1000); else print "n/a" }') of the cuBLASLt bf16 ceiling ($ceiling16 TFLOP/s)"
}
attention_ratio "infer mtgr-small.ta --device=cuda --profile, 5 s of passes"
# (ta: fp32 activations; bf: bf16 activations, wgmma products.)
for gemm in ta bf aw; do
  [ -f "$artifacts/mtgr-small.$gemm.mtgr" ] || continue
  title="infer mtgr-small.$gemm --device=cuda --profile, 4 users of 4000+96 tokens"
  step "$title" 120 "$run" infer "$artifacts/mtgr-small.$gemm.mtgr" --device=cuda --users=4 \
    --seq-len=4000 --rt-len=96 --candidates=32 --profile --time=5 --output=/dev/null
  attention_ratio "$title"
done
# The issue's attention points: one HSTU layer of 4 heads x 256 and of 4 x
# 128, bf16 storage, jagged samples of 750..1000 and 3000..4000 history
# tokens (--min-seq-len, --seq-len) plus R and candidates; each
# checked against the reference first (a small batch).
for model in attention-4x256 attention-4x128; do
  # bf: the attention on mma.sync; aw: its forward on wgmma fed by TMA.
  for kind in bf aw; do
    artifact="$artifacts/$model.$kind.mtgr"
    [ -f "$artifact" ] || continue
    step "verify $model.$kind --device=cuda --users=2 --seq-len=600" 120 "$run" verify \
      "$artifact" --device=cuda --batches=1 --randomize-params --users=2 --seq-len=600 \
      --rt-len=20 --candidates=8
    for shape in "16 750 1000 24" "4 3000 4000 96"; do
      set -- $shape
      title="infer $model.$kind --device=cuda --profile, $1 users of $2..$3+$4 tokens"
      step "$title" 120 "$run" infer "$artifact" --device=cuda --users="$1" --min-seq-len="$2" \
        --seq-len="$3" --rt-len="$4" --candidates=32 --profile --time=3 --output=/dev/null
      attention_ratio "$title"
    done
    # Training at 4k tokens: the attention family's rate counts the
    # forward and the backward (dV, dP, dQ, dK: 3x the forward's FLOPs).
    title="train $model.$kind --device=cuda --profile, 4 steps of 3000..4000+96-token users"
    step "$title" 150 "$run" train "$artifact" --device=cuda --users=64 --min-seq-len=3000 \
      --seq-len=4000 --rt-len=96 --candidates=32 --steps=4 --profile
    attention_ratio "$title"
  done
done
for summary in "$here"/static/*.txt; do
  [ -f "$summary" ] || continue
  log "== $(basename "$summary" .txt) (compiled here: ptxas resources, SASS per op family)"
  tee -a "$out" < "$summary"
done
log "== done"
