//===- npz_fuzzer.cpp - parameters as .npz archives ---------------------------===//
//
// Any bytes as an archive, loaded into the fuzz model's parameters (the
// limits mtgr-run --params uses): refused with a message and the parameters
// untouched, or every parameter replaced with its shape and finite values.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzModels.h"
#include "runtime/Npz.h"

#include <cmath>

using namespace mtgr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  static const ParamStore shapes =
      ParamStore::initialize(collectParameters(fuzz::fuzzModel(fuzz::kMiniModel)), 1);
  ParamStore params = shapes;
  if (auto e = loadParams(bytes, "fuzz.npz", params)) {
    if (llvm::toString(std::move(e)).empty())
      __builtin_trap();
    for (const std::string &name : shapes.names())
      if (params.get(name).data != shapes.get(name).data)
        __builtin_trap(); // a refused archive changed the parameters
  }
  for (const std::string &name : shapes.names()) {
    const Tensor &t = params.get(name);
    if (t.shape != shapes.get(name).shape || static_cast<int64_t>(t.data.size()) != t.numel())
      __builtin_trap();
    for (float x : t.data)
      if (!std::isfinite(x))
        __builtin_trap();
  }
  return 0;
}
