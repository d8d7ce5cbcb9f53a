//===- Target.h - what the tiled level needs to know of a machine -*- C++ -*-===//
//
// The numbers register and cache blocking are derived from (issue 28): the
// vector width and registers (from the CPU's features), the FMA units and
// their latency (a table of named CPUs, by LLVM's CPU name), and the caches
// (sysfs for the machine the compiler runs on, the table for a named CPU).
// The GEMM's and the attention's tiles follow from them by the rules below;
// the artifact records the description (section kCpuTargetSection, abi/Artifact.h) and
// `mtgr-compile --summary` prints it. A GPU target (codegen/cuda) fills its
// own tiles.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_TARGET_H
#define MTGR_CODEGEN_TARGET_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

/// A broadcast-FMA loop's register tile: `rows` x `vectors` accumulators;
/// each step loads `vectors` vectors and broadcasts one scalar per row.
struct RegisterTile {
  int64_t rows = 1, vectors = 1;
};

/// Whether `rows` x `vectors` accumulators, one step's `vectors` loaded
/// vectors and a broadcast fit `registers`: the budget of every register
/// tile (derived by bestRegisterTile, set by --tiles, tried by --tune).
inline bool registerTileFits(int64_t registers, int64_t rows, int64_t vectors) {
  return rows * vectors + vectors + 1 <= registers;
}

/// The rule every micro-kernel's register tile follows (the GEMM's, the
/// attention's PV and dK/dV products): of the shapes `allowed` accepts
/// (rows <= maxRows, vectors <= maxVectors) whose accumulators, one step's
/// vectors and a broadcast fit `registers`, the one that keeps
/// `minAccumulators` independent chains (FMA units x latency) if any does,
/// then with the most FMAs per load (rows x vectors / (rows + vectors)),
/// then the most accumulators.
RegisterTile bestRegisterTile(int64_t registers, int64_t maxRows, int64_t maxVectors,
                              llvm::function_ref<bool(int64_t rows, int64_t vectors)> allowed,
                              int64_t minAccumulators = 0);

/// A CPU's data caches, per core (L3: the whole shared cache; 0 = none or
/// unknown).
struct CacheSizes {
  int64_t l1Bytes = 0, l2Bytes = 0, l3Bytes = 0;
};

struct TargetDescription {
  std::string name;            // for people: "x86-64 avx512", "x86-64 avx2"
  std::string cpu;             // LLVM's CPU name: "znver4", "x86-64-v3"
  int64_t vectorFloats = 8;    // f32 lanes of the widest vector register
  int64_t vectorRegisters = 16;
  /// Vector FMAs of the widest width a core starts per cycle, and cycles
  /// until a result feeds the next: a register tile needs at least
  /// units x latency independent accumulators to keep the units busy.
  int64_t fmaUnits = 2, fmaLatency = 4;
  int64_t l1Bytes = 32 << 10, l2Bytes = 512 << 10, l3Bytes = 0;
  /// Where the numbers came from, for people: "table" (a named CPU),
  /// "sysfs" (this machine's caches), "default" (neither knew).
  std::string fmaSource = "default", cacheSource = "default";
  /// Tiles set by hand (`mtgr-compile --tiles`, what bench/tune-tiles.sh
  /// tries) instead of derived by the rules below; recorded and printed
  /// as set.
  std::optional<RegisterTile> gemmTileSet;
  std::optional<int64_t> attentionRowsSet;
  /// The set tiles came from `mtgr-compile --tune` (a timed search on this
  /// machine), not from a person: printed [tuned], recorded "tuned".
  bool tilesTuned = false;

  /// Attention tiles (DESIGN 2's tiled level): a block of query rows times a
  /// tile of key columns. A column tile is two vectors of scores per query
  /// row (each broadcast of a query element feeds two FMAs); a tile whose
  /// second half holds no visible pair is listed half wide. The scores are
  /// rows x 2 accumulators, plus the two key vectors and a broadcast, within
  /// the vector registers; at most 8 rows: measured on MTGR-small's batch
  /// (docs/cpu-backend.md) 8 rows x 16 columns computed 1.082x the visible
  /// pairs, 16 x 16 1.103x at the same speed. AVX-512: 8 x 32 (16 + 3 of 32
  /// zmm); AVX2: 6 x 16 (12 + 3 of 16 ymm; 8 rows spilled).
  int64_t attentionColTile() const { return 2 * vectorFloats; }
  int64_t attentionRowBlock() const;
  /// The bytes of one sample's key columns (K, V panels, dK, dV rows) the
  /// backward attention may sweep for each row block in one pass: half the
  /// L3 (8 MiB when unknown). A longer sample takes two passes, by rows,
  /// then by columns (codegen/cpu/AttentionBackward.cpp). On znver4 (L3 32
  /// MiB; MTGR-small, one sample, one thread, the train step) one pass was
  /// 7% faster at 9.7 MB, even at 14.4 MB, 15% slower at 21.5 MB and 17-25%
  /// slower at 33.5 MB.
  int64_t attentionSweepBytes() const { return l3Bytes > 0 ? l3Bytes / 2 : 8 << 20; }

  /// GEMM register tiles: rows x vectors accumulators, plus the B vectors
  /// of one step and a broadcast A element, within the vector registers;
  /// vectors a power of two (panels divide d_model's multiples of 64); of
  /// those the shape with the most FMAs per load (rows x vectors / (rows +
  /// vectors)), given units x latency accumulators. AVX2 and SSE: 6 x 2
  /// (12 + 2 + 1 of 16, BLIS's Haswell shape); AVX-512: 6 x 4 (24 + 4 + 1 of
  /// 32; 64 columns divide d_model = 512 and 2048). Cache blocking from the
  /// L2 (Gemm.h).
  GemmTiles gemmTiles() const;

  /// From an LLVM feature string ("+avx2,+fma,..."): AVX-512F gives 16 lanes
  /// and 32 registers, AVX2 8 lanes and 16 registers, otherwise SSE's 4 / 16.
  /// FMA units and caches keep their defaults.
  static TargetDescription fromFeatures(llvm::StringRef features);
  /// For `cpu` (LLVM's name) with `features`: the vectors from the features,
  /// FMA units, latency and typical caches from the table of named CPUs
  /// where it lists `cpu`; `caches` (a machine's own, readCaches) win over
  /// the table's.
  static TargetDescription forCpu(llvm::StringRef cpu, llvm::StringRef features,
                                  std::optional<CacheSizes> caches = std::nullopt);
  /// Whether the table of named CPUs lists `cpu`.
  static bool isNamedCpu(llvm::StringRef cpu);
  /// The names the table lists, comma separated (for messages).
  static std::string namedCpus();

  /// The data caches of a CPU from its sysfs directory
  /// ("/sys/devices/system/cpu/cpu0": cache/index*/{level,type,size});
  /// std::nullopt where it has none to read.
  static std::optional<CacheSizes> readCaches(llvm::StringRef cpuDir);

  /// Sets tiles from `--tiles` text: comma-separated `gemm=ROWSxCOLUMNS`
  /// (COLUMNS 1, 2 or 4 vectors of the lanes) and `attention=ROWS` (the
  /// query rows of a block, 2 .. 8); each must fit the vector registers
  /// as the derived ones do. An error names what is wrong.
  llvm::Error setTiles(llvm::StringRef text);
  /// The tiles a search tries besides the derived ones, as setTiles text:
  /// GEMM rows x 2 or 4 vectors within the registers with at least 8
  /// accumulators (the largest such row count per width, and rows 4, 5,
  /// 6, 8), then attention row blocks 4, 6, 8 where they fit.
  std::vector<std::string> gemmTileCandidates() const;
  std::vector<std::string> attentionTileCandidates() const;
  /// The derived tiles as setTiles text ("gemm=6x64,attention=8").
  std::string derivedTilesText() const;
  /// This description without tiles set by hand or by --tune.
  TargetDescription derivedOnly() const;

  /// One line for people (--summary, --print-pipeline, bench headers).
  std::string describe() const;
  /// As JSON (the artifact's kCpuTargetSection), with the tiles derived.
  std::string toJson() const;
};

} // namespace mlir::mtgr

#endif
