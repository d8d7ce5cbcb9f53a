//===- CpuTargetTest.cpp - the CPU target description and its tiles ------===//
//
// codegen/cpu/Target.h: caches read from a sysfs-shaped directory, the table
// of named CPUs, the register-tile rules, the JSON the artifact records.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/CpuBackend.h"
#include "codegen/cpu/HostCodegen.h"
#include "codegen/cpu/Target.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <set>

using namespace mlir::mtgr;

namespace {
const char *kAvx512 = "+avx,+avx2,+fma,+avx512f,+avx512bw";
const char *kAvx2 = "+avx,+avx2,+fma";

/// A directory shaped like /sys/devices/system/cpu/cpu0 with the caches
/// given as (level, type, size text).
struct FakeCpuDir {
  llvm::SmallString<128> root;
  explicit FakeCpuDir(std::initializer_list<std::tuple<int, const char *, const char *>> caches) {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("mtgr-cpu", root));
    int index = 0;
    for (auto [level, type, size] : caches) {
      std::string dir = (root + "/cache/index" + llvm::Twine(index++)).str();
      EXPECT_FALSE(llvm::sys::fs::create_directories(dir));
      write(dir + "/level", std::to_string(level) + "\n");
      write(dir + "/type", std::string(type) + "\n");
      write(dir + "/size", std::string(size) + "\n");
    }
  }
  ~FakeCpuDir() { llvm::sys::fs::remove_directories(root); }
  static void write(const std::string &path, const std::string &text) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    EXPECT_FALSE(ec) << path;
    os << text;
  }
};
} // namespace

TEST(CpuTarget, CachesComeFromSysfs) {
  FakeCpuDir dir({{1, "Data", "48K"},
                  {1, "Instruction", "32K"},
                  {2, "Unified", "2048K"},
                  {3, "Unified", "105M"}});
  std::optional<CacheSizes> caches = TargetDescription::readCaches(dir.root);
  ASSERT_TRUE(caches);
  EXPECT_EQ(caches->l1Bytes, 48 << 10); // the instruction cache does not count
  EXPECT_EQ(caches->l2Bytes, 2 << 20);
  EXPECT_EQ(caches->l3Bytes, int64_t(105) << 20);

  // The machine's caches win over the table's; the FMA units stay the table's.
  TargetDescription t = TargetDescription::forCpu("sapphirerapids", kAvx512, caches);
  EXPECT_EQ(t.l1Bytes, 48 << 10);
  EXPECT_EQ(t.l2Bytes, 2 << 20);
  EXPECT_EQ(t.cacheSource, "sysfs");
  EXPECT_EQ(t.fmaUnits, 2);
  EXPECT_EQ(t.fmaSource, "table");
  EXPECT_EQ(t.gemmTiles().l2Bytes, 2 << 20); // the GEMM's cache blocking follows
}

TEST(CpuTarget, MissingOrOddSysfsKeepsTheTable) {
  llvm::SmallString<128> nowhere;
  llvm::sys::path::system_temp_directory(true, nowhere);
  llvm::sys::path::append(nowhere, "mtgr-no-such-cpu-dir");
  EXPECT_FALSE(TargetDescription::readCaches(nowhere));
  // Unreadable sizes and unknown levels are skipped; a level it lacks keeps
  // the table's size.
  FakeCpuDir odd({{1, "Data", "lots"}, {2, "Unified", "1024K"}, {4, "Unified", "64M"}});
  std::optional<CacheSizes> caches = TargetDescription::readCaches(odd.root);
  ASSERT_TRUE(caches);
  TargetDescription t = TargetDescription::forCpu("znver3", kAvx2, caches);
  EXPECT_EQ(t.l1Bytes, 32 << 10); // znver3's from the table
  EXPECT_EQ(t.l2Bytes, 1 << 20);
  EXPECT_EQ(t.l3Bytes, 0);
}

TEST(CpuTarget, NamedCpusCarryTheirFmaUnits) {
  TargetDescription zen4 = TargetDescription::forCpu("znver4", kAvx512);
  EXPECT_EQ(zen4.fmaUnits, 1); // 512-bit FMAs on two 256-bit units
  EXPECT_EQ(zen4.l2Bytes, 1 << 20);
  TargetDescription skx = TargetDescription::forCpu("skylake-avx512", kAvx512);
  EXPECT_EQ(skx.fmaUnits, 2);
  EXPECT_EQ(skx.fmaLatency, 4);
  TargetDescription hsw = TargetDescription::forCpu("haswell", kAvx2);
  EXPECT_EQ(hsw.fmaLatency, 5);
  EXPECT_EQ(hsw.l2Bytes, 256 << 10);
  // A CPU the table does not know keeps the defaults, and says so.
  TargetDescription other = TargetDescription::forCpu("some-future-cpu", kAvx2);
  EXPECT_EQ(other.fmaSource, "default");
  EXPECT_EQ(other.cacheSource, "default");
  EXPECT_TRUE(TargetDescription::isNamedCpu("icelake-server"));
  EXPECT_FALSE(TargetDescription::isNamedCpu("some-future-cpu"));
}

// Every CPU of the table, as --cpu names it: its description has the
// vector width of its ISA. LLVM lists a CPU's own features, not what they
// imply (Alder Lake: "fma,avxvnni", no "avx2"): Alder, Raptor, Meteor and
// Arrow Lake were described as 4 SSE lanes before HostTarget::named
// followed the implications.
TEST(CpuTarget, NamedCpusHaveTheirIsasVectors) {
  const std::set<std::string> avx512 = {
      "x86-64-v4",     "skylake-avx512", "cascadelake",    "cooperlake",     "icelake-client",
      "tigerlake",     "rocketlake",     "icelake-server", "sapphirerapids", "emeraldrapids",
      "graniterapids", "znver4",         "znver5"};
  llvm::SmallVector<llvm::StringRef> names;
  std::string all = TargetDescription::namedCpus();
  llvm::StringRef(all).split(names, ", ");
  ASSERT_GE(names.size(), 20u);
  for (llvm::StringRef name : names) {
    SCOPED_TRACE(name.str());
    std::optional<HostTarget> host = HostTarget::named(name);
    ASSERT_TRUE(host.has_value());
    TargetDescription t = describeHost(*host);
    bool wide = avx512.count(name.str()) > 0;
    EXPECT_EQ(t.vectorFloats, wide ? 16 : 8) << host->features; // every other one has AVX2
    EXPECT_EQ(t.vectorRegisters, wide ? 32 : 16);
    EXPECT_NE(host->features.find(wide ? "+avx512f" : "+avx2"), std::string::npos);
    // A table CPU's list is sorted: one spelling for the tiles cache's key
    // and the artifact's record (the two levels are fixed strings).
    llvm::SmallVector<llvm::StringRef> features;
    llvm::StringRef(host->features).split(features, ',');
    if (!name.starts_with("x86-64-"))
      EXPECT_TRUE(llvm::is_sorted(features));
  }
}

TEST(CpuTarget, RegisterTilesFitTheRegisters) {
  for (const char *features : {kAvx512, kAvx2, "+sse4.2"}) {
    for (const char *cpu : {"haswell", "skylake-avx512", "znver4", "znver1", "x86-64-v3"}) {
      TargetDescription t = TargetDescription::forCpu(cpu, features);
      GemmTiles g = t.gemmTiles();
      SCOPED_TRACE(std::string(cpu) + " " + features);
      // Accumulators, one step's B vectors and a broadcast within the registers.
      EXPECT_LE(g.rows * g.vectors + g.vectors + 1, t.vectorRegisters);
      EXPECT_GE(g.rows * g.vectors, t.fmaUnits * t.fmaLatency); // the latency hidden
      EXPECT_EQ(g.lanes, t.vectorFloats);
      // The attention's scores: rows x 2 vectors, two key vectors, a broadcast.
      EXPECT_LE(t.attentionRowBlock() * 2 + 3, t.vectorRegisters);
      EXPECT_EQ(t.attentionColTile(), 2 * t.vectorFloats);
    }
  }
  TargetDescription avx512 = TargetDescription::forCpu("skylake-avx512", kAvx512);
  EXPECT_EQ(avx512.gemmTiles().rows, 6);
  EXPECT_EQ(avx512.gemmTiles().columns(), 64);
  EXPECT_EQ(avx512.attentionRowBlock(), 8);
  TargetDescription avx2 = TargetDescription::forCpu("haswell", kAvx2);
  EXPECT_EQ(avx2.gemmTiles().rows, 6);
  EXPECT_EQ(avx2.gemmTiles().columns(), 16);
  EXPECT_EQ(avx2.attentionRowBlock(), 6); // 8 rows would need 19 ymm registers
}

// What --tune tries (compiler/TileTuning.h): GEMM tiles other than the
// derived one, each accepted by setTiles (within the registers), and
// attention row blocks other than the derived one; the derived tiles as
// setTiles text, unchanged by tiles set on the description.
TEST(CpuTarget, TuningCandidatesAreValidAndNotTheDerivedTiles) {
  TargetDescription avx512 = TargetDescription::forCpu("skylake-avx512", kAvx512);
  EXPECT_EQ(avx512.derivedTilesText(), "gemm=6x64,attention=8");
  std::vector<std::string> wide = avx512.gemmTileCandidates();
  EXPECT_EQ(wide, (std::vector<std::string>{"gemm=5x64", "gemm=4x64", "gemm=14x32", "gemm=8x32",
                                            "gemm=6x32", "gemm=5x32", "gemm=4x32"}));
  EXPECT_EQ(avx512.attentionTileCandidates(),
            (std::vector<std::string>{"attention=6", "attention=4"}));
  TargetDescription avx2 = TargetDescription::forCpu("haswell", kAvx2);
  EXPECT_EQ(avx2.derivedTilesText(), "gemm=6x16,attention=6");
  EXPECT_EQ(avx2.gemmTileCandidates(),
            (std::vector<std::string>{"gemm=2x32", "gemm=5x16", "gemm=4x16"}));
  EXPECT_EQ(avx2.attentionTileCandidates(), (std::vector<std::string>{"attention=4"}));
  for (TargetDescription t : {avx512, avx2}) {
    std::vector<std::string> all = t.gemmTileCandidates();
    for (const std::string &a : t.attentionTileCandidates())
      all.push_back(a);
    for (const std::string &tiles : all) {
      TargetDescription set = t;
      llvm::Error e = set.setTiles(tiles);
      EXPECT_FALSE(bool(e)) << tiles;
      llvm::consumeError(std::move(e));
      EXPECT_EQ(set.derivedTilesText(), t.derivedTilesText()) << tiles;
      EXPECT_NE(set.describe().find("[--tiles]"), std::string::npos);
      set.tilesTuned = true;
      EXPECT_NE(set.describe().find("[tuned]"), std::string::npos);
      EXPECT_NE(set.toJson().find("\"tiles_source\":\"tuned\""), std::string::npos);
    }
  }
}

TEST(CpuTarget, TheArtifactRecordsWhatTheTilesCameFrom) {
  FakeCpuDir dir({{1, "Data", "32K"}, {2, "Unified", "1024K"}, {3, "Unified", "32768K"}});
  TargetDescription t =
      TargetDescription::forCpu("znver4", kAvx512, TargetDescription::readCaches(dir.root));
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(t.toJson());
  ASSERT_TRUE(bool(parsed)) << llvm::toString(parsed.takeError());
  const llvm::json::Object *o = parsed->getAsObject();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->getString("cpu").value_or(""), "znver4");
  EXPECT_EQ(o->getInteger("fma_units").value_or(0), 1);
  EXPECT_EQ(o->getInteger("l2_bytes").value_or(0), 1 << 20);
  EXPECT_EQ(o->getInteger("l3_bytes").value_or(0), 32 << 20);
  EXPECT_EQ(o->getString("cache_source").value_or(""), "sysfs");
  const llvm::json::Array *gemm = o->getArray("gemm_tile");
  ASSERT_TRUE(gemm && gemm->size() == 2);
  EXPECT_EQ((*gemm)[0].getAsInteger().value_or(0), 6);
  EXPECT_EQ((*gemm)[1].getAsInteger().value_or(0), 64);
  EXPECT_NE(t.describe().find("L3 32 MiB [sysfs]"), std::string::npos) << t.describe();
}

TEST(CpuTarget, OneRuleForEveryRegisterTile) {
  auto divisors = [](int64_t rows, int64_t vectors) {
    return [=](int64_t r, int64_t v) { return rows % r == 0 && vectors % v == 0; };
  };
  // The attention's PV update: rows of the block x vectors of a head's dv.
  RegisterTile pv512 = bestRegisterTile(32, 8, 16, divisors(8, 16));
  EXPECT_EQ(pv512.rows, 4);
  EXPECT_EQ(pv512.vectors, 4);
  RegisterTile pv256 = bestRegisterTile(16, 6, 32, divisors(6, 32));
  EXPECT_EQ(pv256.rows, 6); // 2 x 4 before: 8 FMAs per 6 loads, now 12 per 8
  EXPECT_EQ(pv256.vectors, 2);
  // dK/dV: any number of key columns x vectors dividing dv's.
  auto anyColumns = [](int64_t vectors) {
    return [=](int64_t, int64_t v) { return vectors % v == 0; };
  };
  RegisterTile dk512 = bestRegisterTile(32, 32, 16, anyColumns(16));
  EXPECT_EQ(dk512.rows, 6);
  EXPECT_EQ(dk512.vectors, 4);
  RegisterTile dk256 = bestRegisterTile(16, 16, 32, anyColumns(32));
  EXPECT_EQ(dk256.rows, 6);
  EXPECT_EQ(dk256.vectors, 2);
  // Every tile fits: accumulators, a step's loads and a broadcast.
  for (int64_t registers : {8, 16, 32})
    for (int64_t vectors : {1, 2, 3, 16, 32}) {
      RegisterTile t = bestRegisterTile(registers, 32, vectors, anyColumns(vectors));
      EXPECT_LE(t.rows * t.vectors + t.vectors + 1, registers);
      EXPECT_EQ(vectors % t.vectors, 0);
    }
  // The latency rule wins over FMAs per load when it can be met.
  RegisterTile deep = bestRegisterTile(32, 32, 4, anyColumns(4), /*minAccumulators=*/28);
  EXPECT_GE(deep.rows * deep.vectors, 28);
}
