//===- Target.cpp - target descriptions ----------------------------------===//
#include "codegen/cpu/Target.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <tuple>

using namespace mlir::mtgr;

namespace {
/// What a named CPU's cores have (vendors' optimisation manuals, per core;
/// FMA units count vectors of the CPU's widest width). The caches are a
/// typical part's: the machine's own (sysfs) win when compiling for it.
struct NamedCpu {
  const char *name;
  int64_t fmaUnits, fmaLatency, l1KiB, l2KiB;
};
constexpr NamedCpu kNamedCpus[] = {
    // Generic levels: the family's common case.
    {"x86-64-v3", 2, 5, 32, 512},
    {"x86-64-v4", 2, 4, 32, 1024},
    // Intel: Haswell/Broadwell two 256-bit FMA units, latency 5; Skylake on,
    // latency 4; the server parts with AVX-512 two 512-bit units (ports 0+1
    // fused and port 5), the client ones (Ice/Tiger/Rocket Lake) one.
    {"haswell", 2, 5, 32, 256},
    {"broadwell", 2, 5, 32, 256},
    {"skylake", 2, 4, 32, 256},
    {"skylake-avx512", 2, 4, 32, 1024},
    {"cascadelake", 2, 4, 32, 1024},
    {"cooperlake", 2, 4, 32, 1024},
    {"icelake-client", 1, 4, 48, 512},
    {"tigerlake", 1, 4, 48, 1280},
    {"rocketlake", 1, 4, 48, 512},
    {"icelake-server", 2, 4, 48, 1280},
    {"sapphirerapids", 2, 4, 48, 2048},
    {"emeraldrapids", 2, 4, 48, 2048},
    {"graniterapids", 2, 4, 48, 2048},
    {"alderlake", 2, 4, 48, 1280},
    {"raptorlake", 2, 4, 48, 2048},
    {"meteorlake", 2, 4, 48, 2048},
    {"arrowlake", 2, 4, 48, 3072},
    // AMD: Zen 1 splits a 256-bit FMA over its two 128-bit units; Zen 2/3
    // two 256-bit units; Zen 4 runs a 512-bit FMA on both 256-bit units
    // (one per cycle); Zen 5 two 512-bit units.
    {"znver1", 1, 5, 32, 512},
    {"znver2", 2, 5, 32, 512},
    {"znver3", 2, 4, 32, 512},
    {"znver4", 1, 4, 32, 1024},
    {"znver5", 2, 4, 48, 1024},
};

const NamedCpu *findNamed(llvm::StringRef cpu) {
  for (const NamedCpu &n : kNamedCpus)
    if (cpu == n.name)
      return &n;
  return nullptr;
}

std::string bytes(int64_t n) {
  if (n <= 0)
    return "?";
  if (n % (1 << 20) == 0)
    return llvm::formatv("{0} MiB", n >> 20).str();
  return llvm::formatv("{0} KiB", n >> 10).str();
}

/// sysfs's "32K", "1024K", "32M" (and plain bytes) in bytes; 0 if unreadable.
int64_t parseSize(llvm::StringRef text) {
  text = text.trim();
  int64_t scale = 1;
  if (text.consume_back("K"))
    scale = 1 << 10;
  else if (text.consume_back("M"))
    scale = 1 << 20;
  int64_t n = 0;
  if (text.getAsInteger(10, n) || n < 0)
    return 0;
  return n * scale;
}

/// A small file's text, trimmed (sysfs files report a size they do not
/// have: read as a stream).
std::optional<std::string> readText(const std::string &path) {
  auto file = llvm::MemoryBuffer::getFileAsStream(path);
  if (!file)
    return std::nullopt;
  return (*file)->getBuffer().trim().str();
}
} // namespace

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

TargetDescription TargetDescription::forCpu(llvm::StringRef cpu, llvm::StringRef features,
                                            std::optional<CacheSizes> caches) {
  TargetDescription t = fromFeatures(features);
  t.cpu = cpu.str();
  if (const NamedCpu *n = findNamed(cpu)) {
    t.fmaUnits = n->fmaUnits;
    t.fmaLatency = n->fmaLatency;
    t.l1Bytes = n->l1KiB << 10;
    t.l2Bytes = n->l2KiB << 10;
    t.fmaSource = t.cacheSource = "table";
  }
  if (caches) {
    // A level sysfs does not list keeps the table's (or the default) size.
    if (caches->l1Bytes > 0)
      t.l1Bytes = caches->l1Bytes;
    if (caches->l2Bytes > 0)
      t.l2Bytes = caches->l2Bytes;
    t.l3Bytes = caches->l3Bytes;
    t.cacheSource = "sysfs";
  }
  return t;
}

bool TargetDescription::isNamedCpu(llvm::StringRef cpu) { return findNamed(cpu) != nullptr; }

std::string TargetDescription::namedCpus() {
  std::string names;
  for (const NamedCpu &n : kNamedCpus)
    names += (names.empty() ? "" : ", ") + std::string(n.name);
  return names;
}

std::optional<CacheSizes> TargetDescription::readCaches(llvm::StringRef cpuDir) {
  CacheSizes sizes;
  bool any = false;
  for (int index = 0; index < 16; ++index) {
    std::string dir = (cpuDir + "/cache/index" + llvm::Twine(index)).str();
    auto level = readText(dir + "/level"), type = readText(dir + "/type"),
         size = readText(dir + "/size");
    if (!level || !type || !size)
      continue; // absent (or unreadable): the levels that are there count
    if (*type == "Instruction")
      continue;
    int64_t n = parseSize(*size);
    if (n <= 0)
      continue;
    if (*level == "1")
      sizes.l1Bytes = n;
    else if (*level == "2")
      sizes.l2Bytes = n;
    else if (*level == "3")
      sizes.l3Bytes = n;
    else
      continue;
    any = true;
  }
  if (!any)
    return std::nullopt;
  return sizes;
}

int64_t TargetDescription::attentionRowBlock() const {
  if (attentionRowsSet)
    return *attentionRowsSet;
  // The scores: rows x 2 vectors (a column tile), at most 8 rows.
  return bestRegisterTile(vectorRegisters, 8, 2, [](int64_t, int64_t v) { return v == 2; }).rows;
}

RegisterTile mlir::mtgr::bestRegisterTile(int64_t registers, int64_t maxRows, int64_t maxVectors,
                                          llvm::function_ref<bool(int64_t, int64_t)> allowed,
                                          int64_t minAccumulators) {
  RegisterTile best;
  // (hides the latency, FMAs per load, accumulators) of the best so far.
  std::tuple<bool, double, int64_t> bestScore{false, -1.0, 0};
  for (int64_t rows = 1; rows <= maxRows; ++rows)
    for (int64_t vectors = 1; vectors <= maxVectors; ++vectors) {
      int64_t accumulators = rows * vectors;
      if (!registerTileFits(registers, rows, vectors) || !allowed(rows, vectors))
        continue;
      std::tuple<bool, double, int64_t> score{accumulators >= minAccumulators,
                                              double(accumulators) / double(rows + vectors),
                                              accumulators};
      if (score > bestScore) {
        bestScore = score;
        best = {rows, vectors};
      }
    }
  return best;
}

GemmTiles TargetDescription::gemmTiles() const {
  GemmTiles g;
  g.lanes = vectorFloats;
  g.l2Bytes = l2Bytes;
  if (gemmTileSet) {
    g.rows = gemmTileSet->rows;
    g.vectors = gemmTileSet->vectors;
    return g;
  }
  // Vectors a power of two up to 4: panels of 16-64 columns.
  RegisterTile tile = bestRegisterTile(
      vectorRegisters, vectorRegisters, 4,
      [](int64_t, int64_t vectors) { return (vectors & (vectors - 1)) == 0; },
      fmaUnits * fmaLatency);
  g.rows = tile.rows;
  g.vectors = tile.vectors;
  return g;
}

llvm::Error TargetDescription::setTiles(llvm::StringRef text) {
  auto bad = [&](const llvm::Twine &why) {
    return llvm::createStringError("--tiles: " + why.str());
  };
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/false);
  if (items.empty())
    return bad("'" + text + "': expected gemm=ROWSxCOLUMNS and/or attention=ROWS");
  for (llvm::StringRef item : items) {
    auto [key, value] = item.trim().split('=');
    if (key == "gemm") {
      auto [rowsText, columnsText] = value.split('x');
      int64_t rows = 0, columns = 0;
      if (rowsText.getAsInteger(10, rows) || columnsText.getAsInteger(10, columns) || rows < 1 ||
          columns < 1)
        return bad("gemm=" + value + " is not ROWSxCOLUMNS (e.g. gemm=6x" +
                   llvm::Twine(4 * vectorFloats) + ")");
      int64_t vectors = columns / vectorFloats;
      if (columns % vectorFloats != 0 || (vectors != 1 && vectors != 2 && vectors != 4))
        return bad("gemm=" + value + ": the columns must be 1, 2 or 4 vectors of " +
                   llvm::Twine(vectorFloats) + " lanes (" + name + ")");
      if (!registerTileFits(vectorRegisters, rows, vectors))
        return bad("gemm=" + value + ": " + llvm::Twine(rows * vectors) +
                   " accumulators, a step's " + llvm::Twine(vectors) +
                   " vectors and a broadcast pass the " + llvm::Twine(vectorRegisters) +
                   " vector registers");
      gemmTileSet = RegisterTile{rows, vectors};
    } else if (key == "attention") {
      int64_t rows = 0;
      if (value.getAsInteger(10, rows) || rows < 2 || rows > 8)
        return bad("attention=" + value + " is not a row count of 2 .. 8");
      if (!registerTileFits(vectorRegisters, rows, 2)) // scores: rows x 2 vectors
        return bad("attention=" + value + ": " + llvm::Twine(2 * rows) +
                   " score accumulators, two key vectors and a broadcast pass the " +
                   llvm::Twine(vectorRegisters) + " vector registers");
      attentionRowsSet = rows;
    } else {
      return bad("'" + item + "' is neither gemm=ROWSxCOLUMNS nor attention=ROWS");
    }
  }
  return llvm::Error::success();
}

TargetDescription TargetDescription::derivedOnly() const {
  TargetDescription derived = *this;
  derived.gemmTileSet.reset();
  derived.attentionRowsSet.reset();
  derived.tilesTuned = false;
  return derived;
}

std::vector<std::string> TargetDescription::gemmTileCandidates() const {
  GemmTiles d = derivedOnly().gemmTiles();
  std::vector<std::string> out;
  for (int64_t vectors : {4, 2}) {
    int64_t most = 1;
    while (registerTileFits(vectorRegisters, most + 1, vectors))
      ++most;
    for (int64_t rows = most; rows >= 1; --rows) {
      bool listed = rows == most || rows == 4 || rows == 5 || rows == 6 || rows == 8;
      if (!listed || rows * vectors < 8 || (rows == d.rows && vectors == d.vectors))
        continue;
      out.push_back(llvm::formatv("gemm={0}x{1}", rows, vectors * vectorFloats).str());
    }
  }
  return out;
}

std::vector<std::string> TargetDescription::attentionTileCandidates() const {
  TargetDescription derived = derivedOnly();
  std::vector<std::string> out;
  for (int64_t rows : {8, 6, 4})
    if (registerTileFits(vectorRegisters, rows, 2) && rows != derived.attentionRowBlock())
      out.push_back("attention=" + std::to_string(rows));
  return out;
}

std::string TargetDescription::derivedTilesText() const {
  TargetDescription derived = derivedOnly();
  GemmTiles g = derived.gemmTiles();
  return llvm::formatv("gemm={0}x{1},attention={2}", g.rows, g.columns(),
                       derived.attentionRowBlock())
      .str();
}

std::string TargetDescription::describe() const {
  GemmTiles gemm = gemmTiles();
  bool set = gemmTileSet || attentionRowsSet;
  return llvm::formatv("{0} {1} ({2} f32 lanes, {3} vector registers, {4} FMA/cycle of "
                       "latency {5} [{6}]; L1d {7}, L2 {8}, L3 {9} [{10}]; GEMM register tile "
                       "{11} rows x {12} columns; attention tiles {13} rows x {14} columns{15})",
                       name, cpu.empty() ? "?" : cpu, vectorFloats, vectorRegisters, fmaUnits,
                       fmaLatency, fmaSource, bytes(l1Bytes), bytes(l2Bytes), bytes(l3Bytes),
                       cacheSource, gemm.rows, gemm.columns(), attentionRowBlock(),
                       attentionColTile(),
                       !set         ? ""
                       : tilesTuned ? " [tuned]"
                                    : " [--tiles]")
      .str();
}

std::string TargetDescription::toJson() const {
  GemmTiles gemm = gemmTiles();
  llvm::json::Object o{
      {"name", name},
      {"cpu", cpu},
      {"vector_floats", vectorFloats},
      {"vector_registers", vectorRegisters},
      {"fma_units", fmaUnits},
      {"fma_latency", fmaLatency},
      {"fma_source", fmaSource},
      {"l1_bytes", l1Bytes},
      {"l2_bytes", l2Bytes},
      {"l3_bytes", l3Bytes},
      {"cache_source", cacheSource},
      {"gemm_tile", llvm::json::Array{gemm.rows, gemm.columns()}},
      {"gemm_k_block", gemm.kBlock},
      {"attention_tile", llvm::json::Array{attentionRowBlock(), attentionColTile()}},
      {"tiles_source", !(gemmTileSet || attentionRowsSet) ? "derived"
                       : tilesTuned                       ? "tuned"
                                                          : "set"},
      {"describe", describe()},
  };
  return llvm::formatv("{0}", llvm::json::Value(std::move(o))).str();
}
