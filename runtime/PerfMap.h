//===- PerfMap.h - name the generated code for perf ---------------*- C++ -*-===//
//
// The host code is loaded from memory (memfd), where perf finds no symbols.
// With MTGR_PERF_MAP=1 in the environment, a session loads it from a file of
// its own instead (/tmp/mtgr-host-code-<pid>-<n>.so, kept for perf report)
// and writes /tmp/perf-<pid>.map ("start size name" per line, hex, the JIT
// map format profilers read) with every function of the loaded code: entry
// points, attention kernels (mtgr_attention_*), each parallel region
// (mtgr_gemm_<op>_<n>, mtgr_attention_<op>_<n>, and OpenMP's
// <function>..omp_par bodies of them). Then `perf record mtgr-run ...;
// perf report` names them.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_PERFMAP_H
#define MTGR_RUNTIME_PERFMAP_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mtgr {
struct CodeSymbol {
  uint64_t offset, size; // from the object's load address
  std::string name;
};
/// The defined functions of an ELF64 shared object (its .symtab, else its
/// .dynsym); an error names what is malformed.
llvm::Expected<std::vector<CodeSymbol>> elfFunctions(llvm::StringRef elf);
/// Appends `symbols` at `base` to /tmp/perf-<pid>.map; returns its path.
llvm::Expected<std::string> appendPerfMap(const std::vector<CodeSymbol> &symbols, uint64_t base);
} // namespace mtgr

#endif
