#!/usr/bin/env bash
# A short search over register tiles on this machine (issue 28): the GEMM's
# and the attention's tiles are derived from the CPU's description (vector
# registers, FMA units x latency: codegen/cpu/Target.h); this script checks
# the rule against a few other shapes on the real model and batch.
#
# Step 1 times GEMM tiles (the attention's derived), step 2 attention row
# blocks (with step 1's best GEMM tile). Every candidate is compiled with
# `mtgr-compile --tiles=...` (recorded in its artifact, printed by --summary)
# and timed by `mtgr-run infer --time` on the same request file, on 1 and 2
# threads, in rounds that take every candidate in turn (drift hits all
# alike); a candidate's time is its best pass. A set tile is kept only when
# it beats the derived one by more than 2% on the sum of the two thread
# counts' best times and by more than the control does (the derived tiles
# set by hand, timed as a candidate of their own): less is noise.
#
# Prints and writes bench/results/<cpu>/tiles-<model>.txt (<cpu>: LLVM's name
# for this CPU), whose last line is the flag to compile with (or "derived").
#
# Usage: bash bench/tune-tiles.sh [model.yaml] [mtgr-run gen options...]
#   default: examples/models/mtgr-small.yaml, 16 users, S <= 512, R <= 64, K <= 32
# Environment: ROUNDS (default 2), SECONDS_PER_RUN (default 2), CPU (mtgr-compile
# --cpu, default native; e.g. x86-64-v3 for AVX2 code on an AVX-512 machine,
# written to tiles-<model>-<CPU>.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/bin"
model="${1:-$root/examples/models/mtgr-small.yaml}"
shift || true
gen=("$@")
[ ${#gen[@]} -gt 0 ] || gen=(--users=16 --seq-len=512 --rt-len=64 --candidates=32)
rounds="${ROUNDS:-2}"
per_run="${SECONDS_PER_RUN:-2}"
cpu="${CPU:-native}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

describe="$("$bin/mtgr-compile" "$model" --cpu="$cpu" --summary --emit=none | sed -n 's/^  target: cpu, //p')"
lanes=$(sed -n 's/.*(\([0-9]*\) f32 lanes.*/\1/p' <<<"$describe")
registers=$(sed -n 's/.* \([0-9]*\) vector registers.*/\1/p' <<<"$describe")
derived_gemm=$(sed -n 's/.*GEMM register tile \([0-9]*\) rows x \([0-9]*\) columns.*/\1x\2/p' <<<"$describe")
derived_attention=$(sed -n 's/.*attention tiles \([0-9]*\) rows x.*/\1/p' <<<"$describe")
if [ -z "$lanes" ] || [ -z "$registers" ] || [ -z "$derived_gemm" ]; then
  echo "tune-tiles: cannot read the target from mtgr-compile --summary: $describe" >&2
  exit 1
fi

# Candidates: rows x vectors tiles (vectors 2 or 4) whose accumulators,
# a step's vectors and a broadcast fit the registers and that keeps at least
# 8 accumulators (two FMA units x latency 4), largest first per width; the
# attention's row blocks 4 .. 8 that fit (2 x rows + 3 registers).
gemm_candidates=("$derived_gemm")
for vectors in 4 2; do
  for rows in $(seq $(((registers - vectors - 1) / vectors)) -1 1); do
    acc=$((rows * vectors))
    [ $acc -ge 8 ] || continue
    tile="${rows}x$((vectors * lanes))"
    [ "$tile" = "$derived_gemm" ] && continue
    # A few per width: the largest, and the derived rule's neighbours.
    case $rows in $(((registers - vectors - 1) / vectors))|4|5|6|8) gemm_candidates+=("$tile") ;; esac
  done
done
attention_candidates=("$derived_attention")
for rows in 8 6 4; do
  [ $((2 * rows + 3)) -le "$registers" ] && [ "$rows" != "$derived_attention" ] &&
    attention_candidates+=("$rows")
done

compile() { # name, --tiles value
  "$bin/mtgr-compile" "$model" --cpu="$cpu" --inference-only ${2:+--tiles=$2} \
    -o "$work/$1.mtgr" >/dev/null
}
compile derived ""
req="$work/requests.jsonl" params="$work/params.npz"
"$bin/mtgr-run" gen "$work/derived.mtgr" "${gen[@]}" --output="$req" >/dev/null
"$bin/mtgr-run" infer "$work/derived.mtgr" --requests="$req" --randomize-params \
  --save-params="$params" --output="$work/derived.txt" 2>/dev/null

# Times every candidate (names of compiled artifacts) in rounds; prints
# "name best_1_thread_s best_2_threads_s" per candidate.
time_all() {
  : > "$work/times"
  local names=("$@") n=$#
  for r in $(seq "$rounds"); do
    # Each round starts one candidate later: no tile always runs first.
    for i in $(seq 0 $((n - 1))); do
      name="${names[$(((i + r - 1) % n))]}"
      for threads in 1 2; do
        t=$("$bin/mtgr-run" infer "$work/$name.mtgr" --requests="$req" --params="$params" \
          --num-threads=$threads --time="$per_run" --output=/dev/null 2>&1 |
          sed -n 's/.*"best_s": \([0-9.e-]*\).*/\1/p')
        echo "$name $threads $t" >> "$work/times"
      done
    done
  done
  for name in "$@"; do
    awk -v n="$name" '$1 == n && $2 == 1 { if (!a || $3 < a) a = $3 }
                      $1 == n && $2 == 2 { if (!b || $3 < b) b = $3 }
                      END { printf "%s %.6f %.6f\n", n, a, b }' "$work/times"
  done
}

out_dir="$root/bench/results/$("$bin/mtgr-run" devices | sed -n 's/^cpu: \([^ ]*\).*/\1/p')"
mkdir -p "$out_dir"
out="$out_dir/tiles-$(basename "$model" .yaml)$([ "$cpu" = native ] || echo "-$cpu").txt"
{
  echo "# register tiles on this machine ($([ "$cpu" = native ] || echo "CPU=$cpu ")bash bench/tune-tiles.sh $(basename "$model") ${gen[*]})"
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; $(date -u +%Y-%m-%d)"
  echo "machine: $describe"
  echo "rounds: $rounds, $per_run s per run; a candidate's time is its best pass (mtgr-run infer --time)"
} | tee "$out"

report() { # title, derived name, then time_all's lines on stdin
  echo "$1"
  printf "%-28s %10s %10s %8s\n" "tiles" "1 thread" "2 threads" "vs derived"
  awk -v d="$2" '{ name[NR] = $1; a[NR] = $2; b[NR] = $3; if ($1 == d) base = $2 + $3 }
    END { for (i = 1; i <= NR; ++i)
            printf "%-28s %8.1f ms %8.1f ms %8.3f\n", name[i], a[i] * 1e3, b[i] * 1e3, base / (a[i] + b[i]) }'
}

# Step 1: GEMM tiles. "control" is the derived tiles set by hand: the same
# code, compiled and timed apart, so its ratio shows this run's noise.
compile control "gemm=$derived_gemm,attention=$derived_attention"
names=(derived control)
for tile in "${gemm_candidates[@]:1}"; do
  compile "gemm=$tile" "gemm=$tile"
  names+=("gemm=$tile")
done
time_all "${names[@]}" > "$work/step1"
report "step 1: GEMM register tiles (derived: gemm=$derived_gemm, attention=$derived_attention)" derived \
  < "$work/step1" | tee -a "$out"
# The best by the sum of both thread counts, kept only past 2% of the derived.
# The noise floor: 2%, or the control's distance from the derived if larger.
floor=$(awk '$1 == "derived" { base = $2 + $3 } $1 == "control" { control = $2 + $3 }
  END { f = 0.98; c = control < base ? control / base : base / control; print (c < f ? c : f) }' \
  "$work/step1")
# The fastest of $1's lines whose name is not "control", if it beats the one
# named $2 past the floor; else $2.
pick() {
  awk -v d="$2" -v floor="$floor" '$1 == d { base = $2 + $3 } $1 != "control" { t[$1] = $2 + $3 }
    END { best = d; for (n in t) if (t[n] < t[best]) best = n
          print (t[best] < floor * base ? best : d) }' "$1"
}
best_gemm=$(pick "$work/step1" derived)

# Step 2: attention row blocks with step 1's GEMM tile.
gemm_flag=""; [ "$best_gemm" = derived ] || gemm_flag="$best_gemm"
names=("$best_gemm")
for rows in "${attention_candidates[@]:1}"; do
  name="${gemm_flag:+$gemm_flag,}attention=$rows"
  compile "$name" "$name"
  names+=("$name")
done
time_all "${names[@]}" > "$work/step2"
report "step 2: attention row blocks (with $best_gemm)" derived < <(
  # The derived line of step 2 is step 1's winner: call it so for the ratio.
  sed "s/^$best_gemm /derived /" "$work/step2") | sed "s/^derived /$best_gemm /" | tee -a "$out"
best=$(pick "$work/step2" "$best_gemm")
echo "noise floor: $(awk -v f="$floor" 'BEGIN { printf "%.1f%%", (1 - f) * 100 }') (2%, or the control's distance from the derived)" | tee -a "$out"
if [ "$best" = derived ]; then
  echo "choice: derived (no candidate beat the derived tiles past the noise floor)" | tee -a "$out"
else
  echo "choice: --tiles=$best" | tee -a "$out"
fi
