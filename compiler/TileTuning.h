//===- TileTuning.h - register tiles chosen by timing them here -*- C++ -*-===//
//
// `mtgr-compile --tune` (issue 28): the CPU back end derives its GEMM
// register tile and attention row block from the target description
// (codegen/cpu/Target.h); this search checks the rule on the machine that
// compiles, on the model itself. Step 1 compiles the model (inference only)
// with each GEMM tile of TargetDescription::gemmTileCandidates, step 2 with
// each attention row block (with step 1's GEMM tile), and times every one on
// the same synthetic batch on 1 and 2 threads, in rounds that start one
// candidate later each time, best pass per candidate. A control (the derived
// tiles, compiled apart) is timed too: a winner must beat the derived tiles
// by more than 2% and by more than the control's spread, else the derived
// tiles stay. The choice is cached per machine, model and batch shape, so a
// second compile gives the same artifact without timing anything.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_COMPILER_TILETUNING_H
#define MTGR_COMPILER_TILETUNING_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace mlir::mtgr {

struct TileTuningOptions {
  std::string cpu = "native"; // mtgr-compile --cpu: its code must run here
  /// The batch timed: `users` synthetic users with S in [seqLen / 4,
  /// seqLen], R up to rtLen, K up to candidates (a fixed seed).
  int64_t users = 8, seqLen = 512, rtLen = 64, candidates = 32;
  double secondsPerRun = 0.5; // per candidate, thread count and round
  int64_t rounds = 2;
  /// Where choices are kept: lines "key<TAB>tiles<TAB>note"; "" = none.
  std::string cachePath;
};

struct TileTuningResult {
  std::string tiles; // mtgr-compile --tiles text, the derived ones included
  bool fromCache = false;
};

/// The tiles for `modelText` on this machine: from the cache when it holds
/// this machine, model and shape, else by the search (its table goes to
/// `report`), then kept in the cache. Errors: the model does not compile,
/// its code cannot run here, the cache cannot be written.
llvm::Expected<TileTuningResult> tuneTiles(llvm::StringRef modelText, llvm::StringRef modelPath,
                                           const TileTuningOptions &options,
                                           llvm::raw_ostream &report);

/// The cache's default place: $XDG_CACHE_HOME/mtgr/tiles.txt, else
/// $HOME/.cache/mtgr/tiles.txt ("" when neither is set).
std::string defaultTileCachePath();

} // namespace mlir::mtgr

#endif
