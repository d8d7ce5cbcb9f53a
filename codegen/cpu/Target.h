//===- Target.h - what the tiled level needs to know of a machine -*- C++ -*-===//
//
// The few numbers tile sizes are derived from. The host's come from its CPU
// features (codegen/cpu/HostCodegen.cpp); a GPU target (a later cuda/ sibling) fills the
// same fields for a block: its vector width is a warp's lanes.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_TARGET_H
#define MTGR_CODEGEN_TARGET_H

#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>

namespace mlir::mtgr {

/// The register and cache tiles of the GEMM (codegen/cpu/Gemm.h): a micro-kernel
/// keeps `rows` x (`vectors` x `lanes`) floats of C in vector registers.
struct GemmTiles {
  int64_t rows = 6;    // MR: rows of C per micro-kernel
  int64_t vectors = 2; // NR / lanes: vectors of C per row
  int64_t lanes = 8;   // f32 lanes of a vector
  int64_t kBlock = 256;          // K block of a dynamic K (weight gradients)
  int64_t l2Bytes = 512 << 10;   // B panels a row block visits fit half of it
  int64_t columns() const { return vectors * lanes; }
};

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

  /// GEMM register tiles: rows x vectors accumulators, plus the B vectors
  /// of one step and a broadcast A element, within the vector registers
  /// (the 4 x 4 scalar tile before this spilled on AVX2). AVX2: 6 x 2 (12 +
  /// 2 + 1 of 16 ymm, BLIS's Haswell shape); AVX-512: 6 x 4 (24 + 4 + 1 of
  /// 32 zmm; 64 columns divide d_model = 512 and 2048).
  GemmTiles gemmTiles() const {
    GemmTiles t;
    t.lanes = vectorFloats;
    t.rows = 6;
    t.vectors = vectorRegisters >= 32 ? 4 : 2;
    t.l2Bytes = l2Bytes;
    return t;
  }

  /// From an LLVM feature string ("+avx2,+fma,..."): AVX-512F gives 16 lanes
  /// and 32 registers, AVX2 8 lanes and 16 registers, otherwise SSE's 4 / 16.
  static TargetDescription fromFeatures(llvm::StringRef features);
};

} // namespace mlir::mtgr

#endif
