#!/usr/bin/env bash
# Installs what mtgr needs from Debian 12 (a quick no-op when it is there),
# configures build/ with clang-22, Ninja and ccache, and builds everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# libclang-rt-22-dev: the sanitizer and libFuzzer runtimes (scripts/sanitize.sh).
# python3-pybind11, python3-numpy, python3-dev: the Python module (python/).
# libboost-dev (Boost.Beast), zlib1g-dev: mtgr-serve's HTTP and gzip bodies.
# python3-venv: the test clients' virtual environment (below).
# libopenmpi-dev, openmpi-bin: multi-rank training (docs/scale-out.md).
packages=(llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
          libclang-rt-22-dev libsodium-dev ninja-build ccache libgtest-dev cmake
          libzip-dev libomp-22-dev python3 python3-dev python3-pybind11 python3-numpy
          python3-venv libboost-dev zlib1g-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The CUDA disassembler from PyPI (nvdisasm, cuobjdump: SASS checks of the
# generated kernels, scripts/cuda-sass.py); without it those tests are
# UNSUPPORTED, so a machine without the index still builds and tests.
if ! python3 scripts/cuda-sass.py --find-disassembler >/dev/null 2>&1; then
  echo "setup: installing the CUDA disassembler wheels (nvidia-cuda-nvdisasm, nvidia-cuda-cuobjdump)"
  # Bounded: a machine without the index gives up in about a minute.
  timeout 180 python3 -m pip install -q --disable-pip-version-check --retries 1 --timeout 30 \
    nvidia-cuda-nvdisasm nvidia-cuda-cuobjdump \
    || echo "setup: the CUDA disassembler wheels are not installed (no index?): SASS checks will be skipped"
fi

# The KServe v2 test client from PyPI (tritonclient's HTTP client) in a
# virtual environment over Debian's Python and NumPy: build/test-venv. Without
# the index the serving tests that need it are UNSUPPORTED.
venv="$root/build/test-venv"
if ! "$venv/bin/python" -c 'import tritonclient.http' >/dev/null 2>&1; then
  echo "setup: installing the test client (tritonclient[http]) into build/test-venv"
  mkdir -p "$root/build"
  { /usr/bin/python3 -m venv --system-site-packages "$venv" &&
    timeout 180 "$venv/bin/pip" install -q --disable-pip-version-check --retries 1 --timeout 30 \
      'tritonclient[http]'; } \
    || echo "setup: tritonclient is not installed (no index?): the KServe client tests will be skipped"
fi

# --packages: only the packages (scripts/sanitize.sh builds elsewhere).
[ "${1:-}" = "--packages" ] && exit 0

# ccache hits across clones of the repository (CI builds in a fresh clone).
export CCACHE_BASEDIR="$root"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
# Two jobs fit a 2-core, 24 GB machine (MLIR translation units take 1-2 GB).
ninja -C build -j "${MTGR_JOBS:-2}"
