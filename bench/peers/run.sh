#!/usr/bin/env bash
# mtgr against the same model in PyTorch (bench/peers/mtgr_torch.py, written
# from DESIGN 1): the same description, parameters (.npz) and request file.
# inference: scores are checked equal (max |p_mtgr - p_torch| <= 1e-4 per
# candidate and task) before anything is timed; training (the whole file is
# one step: loss, gradients, Adam + row-wise Adagrad): the first step's loss
# and every gradient are checked (relative 1e-3 of each tensor's largest
# entry). Then the contenders run in turns (rounds of mtgr, eager per user,
# torch.compile per user, eager padded, torch.compile padded), each timing
# whole passes (steps) over the file, on 1 and 2 threads. Prints and writes
# bench/results/<cpu>/peers-<mode>-<shape>.txt (<cpu>: LLVM's name for this CPU;
# -<model> before .txt for a MODEL other than MTGR-small).
#
# Usage: bash bench/peers/run.sh inference|training [shape...]   shapes: batch, paper, one
#   batch  16 users, S <= 512, R <= 64, K <= 32   (part 2's inference batch)
#   paper  16 users, S <= 1000, R <= 100, K <= 64 (the paper-like shape)
#   one    one request (user), as long as the generator makes it for S <= 1000
# Environment: ROUNDS (default 2), SECONDS_PER_RUN (default 4), MODEL.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
# Benchmark dependencies only (PyPI): a current torch, PyYAML, numpy.
python3 -c "import torch, yaml, numpy" 2>/dev/null || pip install -q torch pyyaml numpy
mode="${1:-}"; shift || true
case "$mode" in inference|training) ;; *) echo "usage: $0 inference|training [shape...]" >&2; exit 2 ;; esac
model="${MODEL:-$root/examples/models/mtgr-small.yaml}"
rounds="${ROUNDS:-2}"
per_run="${SECONDS_PER_RUN:-4}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="$root/build/bin"
peer="$root/bench/peers/mtgr_torch.py"
cpu="$("$bin/mtgr-run" devices | sed -n 's/^cpu: \([^ ]*\).*/\1/p')"
results="$root/bench/results/${cpu:-unknown}"
mkdir -p "$results"
compile_flags=(); [ "$mode" = inference ] && compile_flags=(--inference-only)
"$bin/mtgr-compile" "$model" "${compile_flags[@]}" -o "$work/model.mtgr" >/dev/null

shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(batch paper)
for shape in "${shapes[@]}"; do
  case "$shape" in
    batch) gen=(--users=16 --seq-len=512 --rt-len=64 --candidates=32) ;;
    paper) gen=(--users=16 --seq-len=1000 --rt-len=100 --candidates=64) ;;
    one) gen=(--users=1 --seq-len=1000 --rt-len=100 --candidates=64 --data-seed=3) ;;
    *) echo "unknown shape '$shape' (batch, paper, one)" >&2; exit 2 ;;
  esac
  req="$work/$shape.jsonl" params="$work/params.npz"
  "$bin/mtgr-run" gen "$work/model.mtgr" "${gen[@]}" --output="$req" >/dev/null 2>&1
  # Random biases, gammas and embeddings too (the default initialisation
  # leaves them 0 or 1): the check then covers every parameter.
  "$bin/mtgr-run" infer "$work/model.mtgr" --requests="$req" --randomize-params \
    --save-params="$params" --output="$work/mtgr.txt" 2>"$work/mtgr.log"
  tokens=$(sed -n 's/.*users (\([0-9]*\) tokens).*/\1/p' "$work/mtgr.log")
  # Another model than MTGR-small gets its name in the file's: the headline
  # files stay MTGR-small's.
  suffix=""; [ "$model" -ef "$root/examples/models/mtgr-small.yaml" ] ||
    suffix="-$(basename "$model" .yaml)"
  out="$results/peers-$mode-$shape$suffix.txt"
  {
    echo "# mtgr vs PyTorch peers, $mode (${suffix:+MODEL=$model }bench/peers/run.sh $mode $shape)"
    echo "model: $(basename "$model"); requests: ${gen[*]} ($tokens tokens)"
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
    echo "machine: $("$bin/mtgr-compile" "$model" --summary --emit=none | sed -n 's/^  target: cpu, //p')"
    python3 -c "import torch; print('torch', torch.__version__, '| per contender: torch.set_num_threads(threads), interop threads 1')"
  } > "$out"
  contenders=("eager per_user" "compile per_user" "eager padded" "compile padded")
  train_flags=()
  if [ "$mode" = training ]; then
    # mtgr's first step: its loss and gradients, which every peer must match.
    "$bin/mtgr-bench-train-step" "$work/model.mtgr" --requests="$req" --params="$params" \
      --gradients="$work/grads.npz" > "$work/first.json"
    echo "mtgr first step: $(cat "$work/first.json")" >> "$out"
    train_flags=(--train)
  fi
  for c in "${contenders[@]}"; do
    set -- $c
    flags=(--layout="$2" "${train_flags[@]}"); [ "$1" = compile ] && flags+=(--compile)
    if [ "$mode" = training ]; then
      python3 "$peer" "$model" --params="$params" --requests="$req" "${flags[@]}" \
        --check-gradients="$work/grads.npz" | python3 -c "import json, sys
r = json.load(sys.stdin)
print(f\"check: torch {r['contender'][6:]}: loss {r['loss_torch']:.6f} (mtgr {r['loss_mtgr']:.6f}), \"
      f\"largest gradient difference {r['gradient_error']:.2e} of its tensor's largest entry\")" >> "$out"
      continue
    fi
    python3 "$peer" "$model" --params="$params" --requests="$req" --scores="$work/torch.txt" \
      "${flags[@]}" >/dev/null
    python3 - "$work/mtgr.txt" "$work/torch.txt" "$c" >> "$out" <<'EOF2'
import sys
rows = [[l.split() for l in open(p) if not l.startswith("#")] for p in sys.argv[1:3]]
assert len(rows[0]) == len(rows[1]), "different candidate counts"
assert all(a[:2] == b[:2] for a, b in zip(*rows)), "different user/candidate order"
worst = max(abs(float(x) - float(y)) for a, b in zip(*rows) for x, y in zip(a[2:], b[2:]))
print(f"check: torch {sys.argv[3]}: {len(rows[0])} candidates, max |p_mtgr - p_torch| = {worst:.2e}")
if worst > 1e-4:
    sys.exit(f"scores differ: {worst}")
EOF2
  done
  # Timing: rounds of every contender in turn, on 1 and 2 threads.
  : > "$work/times.jsonl"
  for r in $(seq "$rounds"); do
    for threads in 1 2; do
      if [ "$mode" = training ]; then
        "$bin/mtgr-bench-train-step" "$work/model.mtgr" --requests="$req" --params="$params" \
          --num-threads="$threads" --time="$per_run" >> "$work/times.jsonl"
      else
        "$bin/mtgr-run" infer "$work/model.mtgr" --requests="$req" --params="$params" \
          --num-threads="$threads" --time="$per_run" --output=/dev/null 2>&1 |
          sed -n 's/^time: //p' >> "$work/times.jsonl"
      fi
      for c in "${contenders[@]}"; do
        set -- $c
        flags=(--layout="$2" "${train_flags[@]}"); [ "$1" = compile ] && flags+=(--compile)
        python3 "$peer" "$model" --params="$params" --requests="$req" --threads="$threads" \
          --time="$per_run" "${flags[@]}" >> "$work/times.jsonl"
      done
    done
  done
  python3 - "$work/times.jsonl" "$tokens" >> "$out" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tokens = int(sys.argv[2])
print("threads  contender                  best ms  median ms  tokens/s  mtgr speed-up (best)")
print("(ms per pass over the file: scoring every request, or one training step on all of them)")
for threads in (1, 2):
    mine = [r for r in runs if r["threads"] == threads]
    names = list(dict.fromkeys(r["contender"] for r in mine))
    best = {n: min(r["best_s"] for r in mine if r["contender"] == n) for n in names}
    median = {n: statistics.median(r["median_s"] for r in mine if r["contender"] == n) for n in names}
    for n in names:
        print(f"{threads:7d}  {n:24s} {best[n]*1e3:9.1f} {median[n]*1e3:10.1f} {tokens/best[n]:9.0f}"
              f"  {best[n]/best['mtgr']:6.2f}x")
print("speed-up = contender's best time / mtgr's best time, same threads; each contender ran",
      len(runs) // max(1, len({(r['contender'], r['threads']) for r in runs})),
      "times in turn (rounds), each run timing whole passes over the request file")
EOF
  cat "$out"
done
