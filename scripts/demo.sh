#!/usr/bin/env bash
# The main job: build mtgr, then compile every bundled example model to
# verified mtgr IR (model level, then kernel level) and print a summary of each.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" >/dev/null
cd "$root"
mkdir -p build/models
for model in examples/models/*.yaml; do
  name="$(basename "$model" .yaml)"
  build/bin/mtgr-compile "$model" --summary --emit=kernel -o "build/models/$name.kernel.mlir"
  echo "  kernel-level IR: build/models/$name.kernel.mlir"
  echo
done
