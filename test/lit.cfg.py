# lit configuration for mtgr: FileCheck tests over .mlir and .yaml inputs, and
# the GoogleTest binary under unit/.
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "MTGR"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".yaml", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mtgr_obj_root, "test")
# Inputs/ holds files that tests read, not tests.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%mtgr_src", config.mtgr_src_root))
config.substitutions.append(("%mtgr_obj", config.mtgr_obj_root))
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.mtgr_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["mtgr-opt", "mtgr-compile"], [config.mtgr_tools_dir])

# CPU features of this machine: tests that run AVX2 or AVX-512 code need them
# (lit reports such a test UNSUPPORTED elsewhere; the code is still compiled
# and FileChecked on every machine).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((l.split(":", 1)[1].split() for l in cpuinfo if l.startswith("flags")), [])
except OSError:
    flags = []
for feature in ("avx2", "avx512f"):
    if feature in flags:
        config.available_features.add(feature)

# Multi-rank training (docs/scale-out.md): mtgr-run built with MPI and an
# mpirun to start it; %mpirun oversubscribes this machine's cores (and may
# run as root, as CI does).
import shutil
_mtgr_run = os.path.join(config.mtgr_tools_dir, "mtgr-run")
if shutil.which("mpirun") and os.path.exists(_mtgr_run):
    with open(_mtgr_run, "rb") as f:
        if b"libmpi.so" in f.read():
            config.available_features.add("mpi")
config.substitutions.append(
    ("%mpirun", "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                "OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --oversubscribe"))

# The Python module (python/, built where pybind11 is and the build is not
# instrumented): test/tools/python-api.test runs it with Debian's Python.
import glob
import subprocess
if glob.glob(os.path.join(config.mtgr_obj_root, "python", "mtgr.*.so")):
    config.available_features.add("python-module")

# The KServe v2 test client (tritonclient, from PyPI into build/test-venv by
# scripts/setup.sh): test/tools/serve.test drives mtgr-serve with it.
_venv_python = os.path.join(config.mtgr_src_root, "build", "test-venv", "bin", "python")
if os.access(_venv_python, os.X_OK) and subprocess.run(
        [_venv_python, "-c", "import tritonclient.http"], capture_output=True).returncode == 0:
    config.available_features.add("tritonclient")
    config.substitutions.append(("%test_python", _venv_python))

# The CUDA toolkit's libdevice (math functions of GPU kernels): PTX tests of
# kernels that call exp need it; without it they are UNSUPPORTED (the GPU
# lowering itself is tested everywhere).
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if os.path.isdir(os.path.join(cuda_home, "nvvm", "libdevice")):
    config.available_features.add("cuda-toolkit")
config.substitutions.append(("%cuda_home", cuda_home))
# ptxas assembles generated PTX for a real architecture (no GPU needed).
ptxas = os.path.join(cuda_home, "bin", "ptxas")
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
# The CUDA disassembler (nvdisasm or cuobjdump: the toolkit's, or the PyPI
# wheels scripts/setup.sh installs, possibly for another Python than lit's):
# SASS checks of the generated kernels; UNSUPPORTED without one.
import shutil
import subprocess
_sass_script = os.path.join(config.mtgr_src_root, "scripts", "cuda-sass.py")
for _python in dict.fromkeys(filter(None, [shutil.which("python3"), sys.executable])):
    _found = subprocess.run([_python, _sass_script, "--find-disassembler"],
                            capture_output=True, text=True)
    if _found.returncode == 0:
        config.available_features.add("cuda-disassembler")
        config.environment["MTGR_CUDA_DISASSEMBLER"] = _found.stdout.strip()
        break
