#!/usr/bin/env bash
# Every test: lit + FileCheck over the dialect, passes, frontend and tools, and
# the GoogleTest binary (run by lit). Builds first.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" || exit 1
cd "$root"
log="$(mktemp)"
/usr/lib/llvm-22/bin/lit -sv build/test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# lit's summary lines look like "  Passed: 66 (100.00%)", or "  Passed : 66"
# when a longer label (Skipped) aligns the colons.
count() { local n; n=$(sed -n "s/^  $1 *: *\([0-9][0-9]*\).*/\1/p" "$log" | head -n 1); echo "${n:-0}"; }
passed=$(( $(count Passed) + $(count 'Expectedly Failed') ))
failed=$(( $(count Failed) + $(count Unresolved) + $(count 'Unexpectedly Passed') + $(count 'Timed Out') ))
skipped=$(( $(count Skipped) + $(count Unsupported) + $(count Excluded) ))
rm -f "$log"
echo "lit: $passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
