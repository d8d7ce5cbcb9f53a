# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: how programs of
# build-san/ run.
# Leaks are not errors (MLIR and LLVM keep process-lifetime state).
# allow_user_poisoning=0: LLVM's headers poison BumpPtrAllocator memory that
# the uninstrumented libMLIR.so hands out unpoisoned, a false use-after-poison.
export ASAN_OPTIONS="detect_leaks=0:allow_user_poisoning=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
