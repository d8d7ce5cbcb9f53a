#!/usr/bin/env bash
# On a lent GPU machine (CUDA, no LLVM): mtgr's GPU path as far as it goes
# (docs/gpu-backend.md). Prints, and writes $OUT/gpu.txt as it goes:
# nvidia-smi; the runner's libraries (no libLLVM); mtgr's device listing
# through its own dlopen of libcuda; then, per carried artifact, `mtgr-run
# verify --device=cuda` (the kernels on the GPU against the float64
# reference) and the same on the emulator as the control; a few training
# steps and 5 s of scoring passes on the GPU. Each step has a timeout: a hang
# costs 2 minutes, not the lease. A dry run here, on the stand-in driver
# (launches run nothing, so verify --device=cuda fails there, as it must):
#   MTGR_LIBCUDA=build/test/fake-cuda/libcuda.so.1 bash build/gpu-carry/run.sh Usage, with build/gpu-carry/ (bench/gpu/build.sh) as the working
# directory:
#   bash run.sh
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
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
step "nvidia-smi" 30 nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv
step "ldd mtgr-run (must start without LLVM)" 10 ldd "$here/mtgr-run"
step "mtgr-run devices" 30 "$here/mtgr-run" devices
for model in tiny-dlrm tiny mtgr-small; do
  artifact="$here/$model.cuda.mtgr"
  [ -f "$artifact" ] || continue
  sizes=()
  [ "$model" = mtgr-small ] && sizes=(--seq-len=200 --rt-len=20 --candidates=16 --users=4)
  step "verify $model --device=cuda" 120 "$here/mtgr-run" verify "$artifact" --device=cuda \
    --batches=3 --randomize-params "${sizes[@]}"
  # The emulator as the control (MTGR-small's takes minutes there: left out).
  [ "$model" = mtgr-small ] ||
    step "verify $model --device=cuda-emu (control)" 60 "$here/mtgr-run" verify "$artifact" \
      --device=cuda-emu --batches=1 --randomize-params
done
step "train tiny --device=cuda, 3 steps" 120 "$here/mtgr-run" train "$here/tiny.cuda.mtgr" \
  --device=cuda --steps=3
step "infer tiny --device=cuda, 5 s of passes" 60 "$here/mtgr-run" infer "$here/tiny.cuda.mtgr" \
  --device=cuda --users=64 --time=5 --output=/dev/null
log "== done"
