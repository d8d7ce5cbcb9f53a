#!/usr/bin/env bash
# libFuzzer campaigns over mtgr's readers (fuzz/*.cpp), in build-san/ (made by
# scripts/sanitize.sh: ASan + UBSan + fuzzer coverage).
#
#   bash scripts/fuzz.sh [SECONDS] [HARNESS...]
#       a random campaign of SECONDS (default 60) per harness, two at a time
#       (MTGR_FUZZ_JOBS); new inputs go to build-san/fuzz/corpus/HARNESS
#       (kept between campaigns), crashes to build-san/fuzz/crashes/.
#       Prints executions, coverage and crashes per harness.
#   bash scripts/fuzz.sh --replay [HARNESS...]
#       CI's deterministic check: every committed seed and regression input
#       runs once, then MTGR_FUZZ_RUNS (default 2000) mutations with -seed=1.
#
# Harnesses: model-desc mlir requests npz artifact checkpoint movielens kserve.
# A crash is kept as a regression input under fuzz/regressions/HARNESS/ once
# it is fixed (fuzz/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
all=(model-desc mlir requests npz artifact checkpoint movielens kserve)

replay=0
seconds=60
if [ "${1:-}" = "--replay" ]; then
  replay=1
  shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz.sh: unknown harness '$h' (one of: ${all[*]})" >&2; exit 2; }
done

bash scripts/sanitize.sh --build >/dev/null
source scripts/sanitizer-env.sh
work=build-san/fuzz
mkdir -p "$work/crashes"
common=(-rss_limit_mb=3072 -timeout=20 -print_final_stats=1)
dict() { [ -f "fuzz/$1.dict" ] && echo "-dict=fuzz/$1.dict" || true; }
# Executions libFuzzer reports at its end (the last such line of a log).
executions() { sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1; }

if [ $replay -eq 1 ]; then
  runs="${MTGR_FUZZ_RUNS:-2000}"
  failed=0
  for h in "${harnesses[@]}"; do
    bin="build-san/bin/$h-fuzzer"
    scratch="$(mktemp -d)"
    inputs=(fuzz/corpus/"$h"/*)
    [ -d "fuzz/regressions/$h" ] && inputs+=(fuzz/regressions/"$h"/*)
    start=$SECONDS
    # 1. Each committed input once (libFuzzer runs files given by name).
    if ! "$bin" "${common[@]}" "${inputs[@]}" >"$work/$h.replay.log" 2>&1; then
      echo "fuzz replay: $h: a committed input fails:"; tail -40 "$work/$h.replay.log"; failed=1
    # 2. Seeded mutations from the seeds; new inputs land in a scratch folder.
    elif ! "$bin" "${common[@]}" $(dict "$h") -seed=1 -runs="$runs" "$scratch" "fuzz/corpus/$h" \
        -artifact_prefix="$work/crashes/$h-" >>"$work/$h.replay.log" 2>&1; then
      echo "fuzz replay: $h: a crash in $runs seeded runs:"; tail -40 "$work/$h.replay.log"; failed=1
    else
      echo "fuzz replay: $h: ${#inputs[@]} inputs, $(executions "$work/$h.replay.log") seeded runs, no crash ($((SECONDS - start)) s)"
    fi
    rm -rf "$scratch"
  done
  exit $failed
fi

jobs="${MTGR_FUZZ_JOBS:-2}"
campaign() {
  set +e
  local h=$1
  mkdir -p "$work/corpus/$h"
  local log="$work/$h.log"
  local rc=0
  build-san/bin/$h-fuzzer "${common[@]}" $(dict "$h") -max_total_time="$seconds" \
    -artifact_prefix="$work/crashes/$h-" "$work/corpus/$h" "fuzz/corpus/$h" >"$log" 2>&1 || rc=$?
  local execs cov
  execs=$(executions "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz: $h: ${execs:-?} executions in $seconds s, $cov, no crash"
  else
    echo "fuzz: $h: CRASH after ${execs:-?} executions (exit $rc), input in $work/crashes/, log $log"
    grep -m3 -E "ERROR: |runtime error:|==ERROR" "$log" | sed 's/^/    /'
  fi
  return $rc
}
# The campaign fails (exit 1) when any harness crashed.
crashed=0
running=0
for h in "${harnesses[@]}"; do
  campaign "$h" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then
    wait -n || crashed=1
    running=$((running - 1))
  fi
done
while [ $running -gt 0 ]; do
  wait -n || crashed=1
  running=$((running - 1))
done
exit $crashed
