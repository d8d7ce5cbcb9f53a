//===- Symbols.h - entry points of a library opened with dlopen --*- C++ -*-===//
//
// The CUDA driver and cuBLASLt are opened at run time (never linked): their
// entry points are resolved by name into typed function pointers, and the
// first one missing is remembered for the error that names it.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CUDA_SYMBOLS_H
#define MTGR_RUNTIME_CUDA_SYMBOLS_H

#include <dlfcn.h>
#include <type_traits>

namespace mtgr {

class SymbolResolver {
public:
  explicit SymbolResolver(void *library) : library(library) {}
  /// fn = the library's `symbol`, or null (and nothing more is looked up)
  /// once one is missing.
  template <typename Fn> void operator()(Fn &fn, const char *symbol) {
    void *address = missing ? nullptr : dlsym(library, symbol);
    if (!address && !missing)
      missing = symbol;
    fn = reinterpret_cast<std::remove_reference_t<Fn>>(address);
  }
  /// The first symbol not found, or null.
  const char *firstMissing() const { return missing; }

private:
  void *library;
  const char *missing = nullptr;
};

} // namespace mtgr

#endif
