//===- Target.cpp - target descriptions ----------------------------------===//
#include "codegen/cpu/Target.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir::mtgr;

TargetDescription TargetDescription::fromFeatures(llvm::StringRef features) {
  llvm::SmallVector<llvm::StringRef> list;
  features.split(list, ',');
  auto has = [&](llvm::StringRef f) { return llvm::is_contained(list, ("+" + f.str())); };
  TargetDescription t;
  if (has("avx512f")) {
    t.name = "x86-64 avx512";
    t.vectorFloats = 16;
    t.vectorRegisters = 32;
  } else if (has("avx2")) {
    t.name = "x86-64 avx2";
    t.vectorFloats = 8;
    t.vectorRegisters = 16;
  } else {
    t.name = "x86-64 sse";
    t.vectorFloats = 4;
    t.vectorRegisters = 16;
  }
  return t;
}
