//===- Target.h - what the tiled level needs to know of a machine -*- C++ -*-===//
//
// The few numbers tile sizes are derived from. The host's come from its CPU
// features (codegen/host); a GPU target (a later cuda/ sibling) fills the
// same fields for a block: its vector width is a warp's lanes.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_TARGET_H
#define MTGR_CODEGEN_TARGET_H

#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>

namespace mlir::mtgr {

struct TargetDescription {
  std::string name;            // for people: "x86-64 avx512", "x86-64 avx2"
  int64_t vectorFloats = 8;    // f32 lanes of the widest vector register
  int64_t vectorRegisters = 16;
  int64_t l1Bytes = 32 << 10, l2Bytes = 512 << 10;

  /// Attention tiles (DESIGN 2's tiled level): a block of query rows times a
  /// tile of key columns. A column tile is two vectors of scores per query
  /// row (each broadcast of a query element feeds two FMAs); a tile whose
  /// second half holds no visible pair is listed half wide. Measured on
  /// MTGR-small's batch (docs/cpu-backend.md): 8 rows x 16 columns computed
  /// 1.082x the visible pairs at ~0.55 of sgemm; 16 x 16 1.103x at the same
  /// speed; 8 x 32 with half tiles 1.086x at 0.66-0.72 of sgemm.
  int64_t attentionColTile() const { return 2 * vectorFloats; }
  int64_t attentionRowBlock() const { return 8; }

  /// From an LLVM feature string ("+avx2,+fma,..."): AVX-512F gives 16 lanes
  /// and 32 registers, AVX2 8 lanes and 16 registers, otherwise SSE's 4 / 16.
  static TargetDescription fromFeatures(llvm::StringRef features);
};

} // namespace mlir::mtgr

#endif
