#!/usr/bin/env bash
# Prepares what bench/gpu/run.sh carries to a GPU machine (CUDA, no LLVM or
# MLIR there, at most 64 MiB): mtgr-run linked against static LLVM Support
# (its other libraries copied into lib/; `mtgr-run devices` lists the GPUs), and CUDA
# artifacts of the bundled models compiled here (cubins for sm_90a and
# sm_80, PTX, the host code; each model with mtgr's GEMM kernels and with
# --gemm=cublaslt), their static summaries (ptxas, SASS per op family; the
# full SASS stays here in build/gpu-sass/). Writes build/gpu-carry/. Run here, after
# scripts/setup.sh. The runner also runs here: `build/gpu-carry/mtgr-run
# verify build/gpu-carry/tiny.cuda.mtgr --device=cuda-emu`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/build/gpu-carry"
rm -rf "$out" && mkdir -p "$out/lib"
llvm=/usr/lib/llvm-22
static_llvm=("$llvm/lib/libLLVMTargetParser.a" "$llvm/lib/libLLVMSupport.a" "$llvm/lib/libLLVMDemangle.a")
flags=(-std=c++17 -O2 -I"$root" -isystem "$llvm/include" -Wno-deprecated-declarations)
rpath='-Wl,-rpath,$ORIGIN/lib'
# mtgr-run: the run side has no MLIR; its LLVM is Support (errors, JSON, files).
sources=("$root"/model/*.cpp "$root"/abi/*.cpp "$root"/runtime/*.cpp "$root"/runtime/cpu/*.cpp
         "$root"/runtime/cuda/*.cpp "$root"/runtime/emu/*.cpp "$root"/runtime/reference/*.cpp
         "$root"/runtime/dist/NoMpi.cpp "$root"/runtime/dist/NcclCollective.cpp "$root"/data/*.cpp
         "$root"/app/*.cpp
         "$root"/tools/mtgr-run/mtgr-run.cpp)
objects=()
mkdir -p "$out/obj"
for src in "${sources[@]}"; do
  obj="$out/obj/$(realpath --relative-to="$root" "$src" | tr / _).o"
  objects+=("$obj")
  while [ "$(jobs -rp | wc -l)" -ge "${MTGR_JOBS:-2}" ]; do wait -n; done
  clang++-22 "${flags[@]}" -c "$src" -o "$obj" &
done
wait
clang++-22 "${objects[@]}" "${static_llvm[@]}" -lzip -lsodium "$llvm/lib/libomp.so" -ldl \
  -lpthread "$rpath" -o "$out/mtgr-run"
rm -rf "$out/obj"
# The shared libraries it needs beyond glibc, next to it.
for lib in $(ldd "$out/mtgr-run" | awk '/libzip|libsodium|libomp|libz\.|libbz2|liblzma|libzstd|libgnutls|libnettle|libcrypto|libssl/ {print $3}'); do
  cp -L "$lib" "$out/lib/"
done
# Each model on both GEMM paths: <model>.cuda.mtgr (mtgr's tiled GEMM
# kernels), <model>.lt.mtgr (--gemm=cublaslt), and MTGR-small on tensor
# cores too (mtgr-small.tc.mtgr: the products; mtgr-small.ta.mtgr: the
# products and the fused attention forward; tiny.ta.mtgr with its
# training step: the attention backward on tensor cores too, for verify,
# racecheck and training; mtgr-small.wg.mtgr: sm_90a's wgmma products fed
# by TMA, with the fused attention; <model>.bf.mtgr: the same with
# activations stored in bf16, --dtype=bf16, sm_90a only, tiny's with its
# training step; tiny.rd.mtgr and tiny.rb.mtgr: ta and bf again as the
# random-delay build, --gpu-sync-delays, for verify and training;
# <model>.aw.mtgr: bf with the attention forward on wgmma fed by TMA
# (--attention=wgmma); attention-4x256 and attention-4x128 (bf and aw): one
# HSTU layer of 4 heads x 256 and 4 x 128, for the attention's speed at 1k
# and 4k tokens); per artifact a static summary
# (the compiler's ptxas resources line, the SASS counts per op family) that
# run.sh appends to its results.
mkdir -p "$out/static"
for model in tiny tiny-dlrm mtgr-small attention-4x256 attention-4x128; do
  gemms="cuda lt"
  yaml="$root/examples/models/$model.yaml"
  [ -f "$yaml" ] || yaml="$root/bench/models/$model.yaml"
  # MTGR-small also on tensor cores: the products (tc), and the products
  # and the attention forward (ta); tiny's attention on tensor cores (ta).
  [ "$model" = mtgr-small ] && gemms="cuda lt tc ta wg bf aw"
  [ "$model" = tiny ] && gemms="cuda lt ta bf rd rb"
  case "$model" in attention-*) gemms="bf aw" ;; esac
  for gemm in $gemms; do
    artifact="$out/$model.$gemm.mtgr"
    summary="$out/static/$model.$gemm.txt"
    case "$gemm" in
      lt) kind=(--gemm=cublaslt) ;;
      tc) kind=(--gemm=tensor-core) ;;
      ta) kind=(--gemm=tensor-core --attention=tensor-core) ;;
      wg) kind=(--cuda-arch=sm_90a --gemm=wgmma --attention=tensor-core) ;;
      bf) kind=(--cuda-arch=sm_90a --dtype=bf16 --gemm=wgmma --attention=tensor-core) ;;
      aw) kind=(--cuda-arch=sm_90a --dtype=bf16 --gemm=wgmma --attention=wgmma) ;;
      rd) kind=(--gemm=tensor-core --attention=tensor-core --gpu-sync-delays=1000) ;;
      rb) kind=(--cuda-arch=sm_90a --dtype=bf16 --gemm=wgmma --attention=tensor-core
                --gpu-sync-delays=1000) ;;
      *) kind=() ;;
    esac
    "$root/build/bin/mtgr-compile" "$yaml" --target=cuda "${kind[@]}" \
      $([ "$model" = mtgr-small ] && echo --inference-only) \
      -o "$artifact" > "$summary.log"
    head -1 "$summary.log"
    tail -1 "$summary.log" > "$summary"
    python3 "$root/scripts/cuda-sass.py" "$artifact" --out="$out/sass/$model.$gemm" --check >> "$summary"
    cat "$out/sass/$model.$gemm"/*.families >> "$summary" 2>/dev/null || true
    rm -f "$summary.log" "$out/sass/$model.$gemm"/*.cubin
  done
done
# The golden kernels (test/golden/README.md): tensor-core micro-kernels
# on exact values as kernel artifacts and their inputs, for `mtgr-run call`.
MTGR_GOLDEN_DIR="$out/golden" "$root/build/test/unit/MTGRUnitTests" \
  --gtest_filter=GoldenKernels.WrittenForTheDeviceScript > /dev/null
ls "$out/golden"
cp "$root/bench/gpu/run.sh" "$out/"
# The full SASS stays here (megabytes); the summaries travel.
rm -rf "$root/build/gpu-sass" && mv "$out/sass" "$root/build/gpu-sass"
# The artifacts travel compressed (the lease carries 64 MiB; 80 MB of
# artifacts, largely the same host code and runtime pieces again and again,
# are 2.7 MB as xz); run.sh unpacks them into a temporary folder first.
(cd "$out" && tar -cf - ./*.mtgr golden | xz -T2 -6 > artifacts.tar.xz && rm -rf ./*.mtgr golden)
du -sh "$out"
ls -la "$out" "$out/lib"
