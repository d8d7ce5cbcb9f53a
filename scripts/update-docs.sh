#!/usr/bin/env bash
# Copies the documentation generated from ODS (dialect ops, types, attributes;
# passes) into docs/. test/docs.test fails when the committed copies are stale.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ninja -C "$root/build" MTGRDialectIncGen MTGRPassesIncGen MTGRCodegenPassesIncGen MTGRCpuPassesIncGen MTGRCudaPassesIncGen >/dev/null
cp "$root/build/dialect/MTGRDialect.md" "$root/docs/dialect.md"
cat "$root/build/passes/Passes.md" "$root/build/codegen/common/Passes.md" "$root/build/codegen/cpu/Passes.md" "$root/build/codegen/cuda/Passes.md" > "$root/docs/passes.md"
echo "updated docs/dialect.md and docs/passes.md"
