//===- RuntimeTest.cpp - batch checks, artifacts, parameters --------------===//
#include "TestModels.h"
#include "compiler/Compiler.h"
#include "codegen/cpu/CpuBackend.h"
#include "abi/Container.h"
#include "data/Synthetic.h"
#include "runtime/HostMemory.h"
#include "runtime/Abi.h"
#include "abi/Artifact.h"
#include "runtime/Npz.h"
#include "runtime/Session.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <array>
#include <cstring>

using namespace mlir::mtgr;

namespace {
Batch goodBatch(const ModelDesc &m) {
  SyntheticOptions o;
  o.users = 3, o.minRealtime = 2, o.minSequence = 2, o.minCandidates = 2;
  return generateSynthetic(m, o);
}

std::string problem(const ModelDesc &m, const Batch &b) {
  llvm::Error e = validateBatch(m, b);
  return e ? llvm::toString(std::move(e)) : "";
}

TEST(Batch, ValidSyntheticBatch) {
  ModelDesc m = test::loadExample("tiny.yaml");
  EXPECT_EQ(problem(m, goodBatch(m)), "");
}

TEST(Batch, NonMonotoneOffsets) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  std::swap(b.sequenceOffsets[1], b.sequenceOffsets[2]);
  EXPECT_NE(problem(m, b).find("sequence offsets: not monotone at sample"), std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.candidateOffsets[0] = 1;
  EXPECT_NE(problem(m, b).find("candidate offsets: must start at 0"), std::string::npos);
}

TEST(Batch, IdOutOfRangeForFixedTable) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  int64_t row = b.sequenceOffsets[1]; // first event of sample 1
  b.sequence[0].ids[row] = 100;        // table item has 100 rows
  EXPECT_NE(problem(m, b).find("sequence.item_id, sample 1, row " + std::to_string(row) +
                               ": id 100 is out of range for fixed table 'item' [0, 100)"),
            std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.candidate[0].ids[0] = -1;
  EXPECT_NE(problem(m, b).find("candidate.item_id, sample 0, row 0: id -1 is out of range"),
            std::string::npos);
  // Hashed tables take any id.
  b = goodBatch(m);
  b.user[0].ids[0] = -123456789;
  EXPECT_EQ(problem(m, b), "");
}

TEST(Batch, NonFiniteDenseValues) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  b.candidate[1].values[5] = NAN; // clicks_7d, width 2: row 2, value 1
  EXPECT_NE(problem(m, b).find("candidate.clicks_7d, sample"), std::string::npos) << problem(m, b);
  EXPECT_NE(problem(m, b).find("row 2: value 1 is not finite (nan)"), std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.user[1].values[2] = INFINITY;
  EXPECT_NE(problem(m, b).find("user.age, sample 2: value 0 is not finite (INF)"),
            std::string::npos)
      << problem(m, b);
}

TEST(Batch, LengthsThatDoNotMatch) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  b.realtimeTimes.pop_back();
  EXPECT_NE(problem(m, b).find("realtime.time: expected"), std::string::npos);
  b = goodBatch(m);
  b.candidate[2].ids.push_back(1);
  EXPECT_NE(problem(m, b).find("candidate.affinity: expected"), std::string::npos);
  b = goodBatch(m);
  b.user[1].values.push_back(0.5f);
  EXPECT_NE(problem(m, b).find("user.age: expected 3 values (3 rows x 1), got 4"),
            std::string::npos)
      << problem(m, b);
  b = goodBatch(m);
  b.sequenceOffsets.push_back(b.sequenceOffsets.back());
  EXPECT_NE(problem(m, b).find("sequence offsets: expected 4 entries (samples + 1), got 5"),
            std::string::npos);
}

TEST(Batch, SequenceEventAfterACandidate) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  int64_t last = b.sequenceOffsets[2] - 1; // sample 1's last S event
  b.sequenceTimes[last] = b.candidateTimes[b.candidateOffsets[1]] + 1;
  EXPECT_NE(problem(m, b).find("sample 1: sequence event at time"), std::string::npos)
      << problem(m, b);
  EXPECT_NE(problem(m, b).find("S must precede every candidate"), std::string::npos);
}

TEST(Batch, UnsortedEvents) {
  ModelDesc m = test::loadExample("tiny.yaml");
  Batch b = goodBatch(m);
  int64_t r = b.realtimeOffsets[0];
  b.realtimeTimes[r] = b.realtimeTimes[r + 1] + 5;
  EXPECT_NE(problem(m, b).find("realtime.time: sample 0, row " + std::to_string(r + 1) +
                               ": events must be sorted by time"),
            std::string::npos)
      << problem(m, b);
}

TEST(Batch, Intervals) {
  ModelDesc m = test::loadExample("tiny.yaml");
  m.mask = ModelDesc::Mask::Intervals;
  Batch b = goodBatch(m);
  b.intervals = dynamicMaskIntervals(m, b);
  EXPECT_EQ(problem(m, b), "");
  b.intervals[7] = 10000;
  EXPECT_NE(problem(m, b).find("mask.intervals: sample 0, token 1, interval 0"),
            std::string::npos)
      << problem(m, b);
  b.intervals.pop_back();
  EXPECT_NE(problem(m, b).find("mask.intervals: expected"), std::string::npos);
}

// A row's intervals are sorted and disjoint (DESIGN 1.5); at 9a78b6d an
// overlap was accepted and its columns counted twice (error 0.54 with n_norm
// total).
TEST(Batch, OverlappingOrUnsortedIntervals) {
  ModelDesc m = test::loadExample("tiny.yaml");
  m.mask = ModelDesc::Mask::Intervals;
  Batch b = goodBatch(m);
  auto set = [&](int64_t token, std::array<int32_t, 6> v) {
    std::copy(v.begin(), v.end(), b.intervals.begin() + token * 6);
  };
  b.intervals.assign(b.totalTokens(m) * 6, 0);
  set(2, {0, 2, 0, 0, 2, 3}); // empty intervals anywhere are fine
  EXPECT_EQ(problem(m, b), "");
  set(2, {0, 2, 1, 3, 0, 0}); // overlap
  EXPECT_NE(problem(m, b).find("mask.intervals: sample 0, token 2, interval 1: [1, 3) overlaps"),
            std::string::npos)
      << problem(m, b);
  set(2, {2, 3, 0, 1, 0, 0}); // unsorted
  EXPECT_NE(problem(m, b).find("token 2, interval 1: [0, 1) overlaps or precedes"),
            std::string::npos)
      << problem(m, b);
}

TEST(Batch, SessionRejectsBadBatches) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  auto artifact = compileArtifact((*buffer)->getBuffer(), "tiny.yaml", /*trainStep=*/false);
  ASSERT_TRUE(static_cast<bool>(artifact)) << llvm::toString(artifact.takeError());
  auto session = Session::create(std::move(*artifact), 1);
  ASSERT_TRUE(static_cast<bool>(session));
  Batch b = goodBatch((*session)->model());
  b.candidate[0].ids[1] = 5000;
  auto result = (*session)->forward(b);
  ASSERT_FALSE(static_cast<bool>(result));
  EXPECT_NE(llvm::toString(result.takeError()).find("out of range for fixed table 'item'"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Artifacts
//===----------------------------------------------------------------------===//

class ArtifactFile : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
    auto a = compileArtifact((*buffer)->getBuffer(), "tiny.yaml", /*trainStep=*/false);
    ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
    bytes = new std::string(a->serialize());
  }
  static void TearDownTestSuite() { delete bytes; }
  static std::string *bytes;

  std::string error(const std::string &b) {
    auto a = Artifact::parse(b, "x.mtgr");
    return a ? "" : llvm::toString(a.takeError());
  }
};
std::string *ArtifactFile::bytes = nullptr;

TEST_F(ArtifactFile, RoundTrip) {
  auto a = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
  EXPECT_EQ(a->model.name, "tiny");
  ASSERT_TRUE(a->entry("forward"));
  EXPECT_EQ(a->entry("forward")->symbol, "mtgr_forward_packed");
  EXPECT_EQ(a->compilerVersion, compilerVersion());
  EXPECT_EQ(a->serialize(), *bytes);
}

TEST_F(ArtifactFile, EveryTruncationIsReported) {
  for (size_t n : {size_t(0), size_t(5), size_t(12), size_t(40), size_t(100), bytes->size() / 2,
                   bytes->size() - 1}) {
    std::string e = error(bytes->substr(0, n));
    EXPECT_NE(e.find("truncated"), std::string::npos) << n << ": " << e;
  }
}

TEST_F(ArtifactFile, CorruptionIsReportedBySection) {
  std::string b = *bytes;
  size_t elf = b.find("\x7f"
                      "ELF"); // the shared object of section host.so
  ASSERT_NE(elf, std::string::npos);
  b[elf + 100] ^= 0x40;
  EXPECT_NE(error(b).find("section 'host.so': checksum mismatch (corrupted)"), std::string::npos)
      << error(b);
  b = *bytes;
  b[b.size() - 10] ^= 0x40; // inside the last section: the CPU target description
  EXPECT_NE(error(b).find("section 'cpu.target': checksum mismatch (corrupted)"), std::string::npos)
      << error(b);
  b = *bytes;
  b[20] ^= 1; // the section table
  EXPECT_NE(error(b).find("corrupted: header checksum mismatch"), std::string::npos) << error(b);
}

TEST_F(ArtifactFile, WrongVersion) {
  std::string b = *bytes;
  b[8] = 9;
  EXPECT_NE(error(b).find("format version 9, this runtime reads version " +
                          std::to_string(kArtifactVersion) +
                          ": recompile the model with this mtgr-compile"),
            std::string::npos)
      << error(b);
}

// An artifact is code: the manifest (re-sealed after an edit) must agree with
// the code's own ABI record, and every entry resolves against the model.
// At 9a78b6d a renamed argument segfaulted and a model section changed to
// d_model 8 (hash updated) corrupted the heap.
TEST_F(ArtifactFile, EditedManifestOrModelIsRefused) {
  auto renamed = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(renamed));
  for (AbiArg &arg : renamed->entryPoints[0].args)
    if (arg.name == "user.age")
      arg.name = "user.agx";
  auto reparsed = Artifact::parse(renamed->serialize(), "x.mtgr"); // re-sealed: parses
  ASSERT_TRUE(static_cast<bool>(reparsed));
  auto s = Session::create(std::move(*reparsed), 1);
  ASSERT_FALSE(static_cast<bool>(s));
  EXPECT_NE(llvm::toString(s.takeError()).find("x.mtgr: the manifest's entry points or model "
                                               "hash differ from the host code's ABI record"),
            std::string::npos);
  // The typed entries resolve against the model, independently of the record.
  auto e = bindEntryPoint(renamed->model, renamed->entryPoints[0], "x.mtgr");
  ASSERT_FALSE(static_cast<bool>(e));
  std::string why = llvm::toString(e.takeError());
  EXPECT_NE(why.find("x.mtgr: manifest: entry point 'forward' argument 0 ('user.agx'): unknown "
                     "input 'user.agx'"),
            std::string::npos)
      << why;

  // The model section changed (and its hash with it).
  auto edited = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(edited));
  size_t at = edited->modelText.find("d_model: 16");
  ASSERT_NE(at, std::string::npos);
  edited->modelText.replace(at, 11, "d_model: 8");
  edited->modelHash = hashModelText(edited->modelText);
  auto resealed = Artifact::parse(edited->serialize(), "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(resealed)) << llvm::toString(resealed.takeError());
  auto bound = bindEntryPoint(resealed->model, resealed->entryPoints[0], "x.mtgr");
  ASSERT_FALSE(static_cast<bool>(bound));
  EXPECT_NE(llvm::toString(bound.takeError()).find("the model gives"), std::string::npos);
  auto s2 = Session::create(std::move(*resealed), 1);
  ASSERT_FALSE(static_cast<bool>(s2));
  EXPECT_NE(llvm::toString(s2.takeError()).find("ABI record"), std::string::npos);
}

// A signature covers the manifest, the model and the code: any change after
// signing (and a re-seal with fresh checksums) is refused by a session with
// trusted keys before the code is mapped.
TEST_F(ArtifactFile, SignatureCoversEverySection) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mtgr-keys", dir));
  ASSERT_FALSE(static_cast<bool>(generateKeyPair((dir + "/k").str())));
  auto key = loadSecretKey((dir + "/k.key").str());
  auto trusted = loadTrustedKeys((dir + "/k.pub").str());
  ASSERT_TRUE(key && trusted);
  TrustPolicy policy{*trusted, false};
  auto a = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(a));
  a->sign(*key);
  auto signedBack = Artifact::parse(a->serialize(), "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(signedBack));
  EXPECT_FALSE(static_cast<bool>(signedBack->checkTrust(policy)));
  for (int part = 0; part < 3; ++part) {
    Artifact changed = *signedBack;
    if (part == 0)
      changed.code[0].bytes[changed.code[0].bytes.size() / 2] ^= 1;
    else if (part == 1)
      changed.modelText += "\n# a comment";
    else
      changed.trainStepMissing = "edited";
    changed.modelHash = hashModelText(changed.modelText);
    auto resealed = Artifact::parse(changed.serialize(), "x.mtgr");
    ASSERT_TRUE(static_cast<bool>(resealed)) << part;
    llvm::Error e = resealed->checkTrust(policy);
    ASSERT_TRUE(static_cast<bool>(e)) << part;
    EXPECT_NE(llvm::toString(std::move(e)).find("the signature does not match"),
              std::string::npos);
    SessionOptions o;
    o.trust = policy;
    auto s = Session::create(std::move(*resealed), o);
    ASSERT_FALSE(static_cast<bool>(s));
    EXPECT_NE(llvm::toString(s.takeError()).find("signature"), std::string::npos);
  }
  llvm::sys::fs::remove_directories(dir);
}

// Random edits of typed entries (kind, group, index, shape, name): binding
// either accepts an entry that names what the model has, or says which
// argument is wrong; it never crashes. 2,000 mutations of every entry point.
TEST_F(ArtifactFile, MutatedEntriesAreBoundOrRefused) {
  auto buffer = llvm::MemoryBuffer::getFile(test::examplePath("tiny.yaml"));
  auto compiled = compileArtifact((*buffer)->getBuffer(), "tiny.yaml");
  ASSERT_TRUE(static_cast<bool>(compiled));
  std::mt19937 rng(17);
  // Every kind and group (unknown spellings are refused when the manifest is
  // read: ArtifactFile.UnknownKindIsRefused).
  const ArgKind kinds[] = {ArgKind::Input, ArgKind::Offsets, ArgKind::Embedding, ArgKind::Time,
                           ArgKind::Intervals, ArgKind::Labels, ArgKind::Param, ArgKind::Output,
                           ArgKind::Hidden, ArgKind::Rng, ArgKind::Loss, ArgKind::ParamGrad,
                           ArgKind::EmbeddingGrad, ArgKind::State, ArgKind::UniqueRows,
                           ArgKind::RowIndex, ArgKind::GradInput, ArgKind::EmbeddingGradInput,
                           ArgKind::AttentionWork};
  const Group groups[] = {Group::None,     Group::User,      Group::Sequence,
                          Group::Realtime, Group::Candidate, Group::Tokens};
  int refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    EntryPoint e = compiled->entryPoints[trial % compiled->entryPoints.size()];
    AbiArg &a = e.args[rng() % e.args.size()];
    switch (rng() % 5) {
    case 0: a.kind = kinds[rng() % std::size(kinds)]; break;
    case 1: a.group = groups[rng() % std::size(groups)]; break;
    case 2: a.index = static_cast<int64_t>(rng() % 12) - 2; break;
    case 3: a.shape.assign(rng() % 4, static_cast<int64_t>(rng() % 20) - 1); break;
    default: a.name = e.args[rng() % e.args.size()].name; break;
    }
    auto bound = bindEntryPoint(compiled->model, e, "x.mtgr");
    if (!bound) {
      std::string why = llvm::toString(bound.takeError());
      EXPECT_NE(why.find("x.mtgr: manifest: entry point '" + e.name + "'"), std::string::npos)
          << why;
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000);
}

TEST_F(ArtifactFile, OtherCompilerVersionIsRefused) {
  auto a = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(a));
  a->compilerVersion = "mtgr 0.0 (LLVM 21.1.0)";
  EXPECT_NE(error(a->serialize()).find("compiled by 'mtgr 0.0 (LLVM 21.1.0)', this runtime is"),
            std::string::npos)
      << error(a->serialize());
}

TEST_F(ArtifactFile, WrongTarget) {
  EXPECT_EQ(checkHostTarget(HostTarget::native().str()), "");
  EXPECT_NE(checkHostTarget("aarch64-unknown-linux-gnu;neoverse-v2;+neon").find("built for "
                                                                                "aarch64"),
            std::string::npos);
  EXPECT_NE(checkHostTarget("x86_64-pc-linux-gnu;future;+avx512f,+amx-tile,+notafeature")
                .find("which this CPU lacks"),
            std::string::npos);
  // A named CPU's features (LLVM's list holds x87, which host detection
  // never reports): only what this CPU really lacks is named.
  std::optional<HostTarget> haswell = HostTarget::named("haswell");
  ASSERT_TRUE(haswell.has_value());
  EXPECT_EQ(checkHostTarget(haswell->str()).find("'x87'"), std::string::npos)
      << checkHostTarget(haswell->str());
  // System features no compiled loop uses, which hypervisors and firmware
  // often hide, do not refuse code (--cpu=icelake-server code was refused
  // for 'pconfig' on this project's AVX-512 machine); an ISA extension does.
  std::string triple = HostTarget::native().triple;
  EXPECT_EQ(checkHostTarget(triple + ";icelake-server;+sse2,+pconfig,+sgx,+amx-tile,+waitpkg"), "");
  EXPECT_NE(checkHostTarget(triple + ";future;+sse2,+pconfig,+avx10.9-512").find("'avx10.9-512'"),
            std::string::npos);
  // A whole artifact for another target: rewrite the manifest and re-seal.
  auto a = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(a));
  a->code[0].target = "aarch64-unknown-linux-gnu;neoverse-v2;+neon";
  auto read = Artifact::parse(a->serialize(), "x.mtgr"); // a file, which the CPU cannot run
  ASSERT_TRUE(static_cast<bool>(read)) << llvm::toString(read.takeError());
  auto session = Session::create(std::move(*read));
  ASSERT_FALSE(static_cast<bool>(session));
  std::string why = llvm::toString(session.takeError());
  EXPECT_NE(why.find("x.mtgr: wrong target: built for aarch64"), std::string::npos) << why;
  // Code of another back end only: no host code to load.
  auto other = Artifact::parse(*bytes, "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(other));
  other->backend = "elsewhere";
  other->code[0].name = "kernels.bin";
  auto readOther = Artifact::parse(other->serialize(), "x.mtgr");
  ASSERT_TRUE(static_cast<bool>(readOther)) << llvm::toString(readOther.takeError());
  auto refused = Session::create(std::move(*readOther));
  ASSERT_FALSE(static_cast<bool>(refused));
  EXPECT_NE(llvm::toString(refused.takeError())
                .find("x.mtgr: no 'host.so' section: compiled by the 'elsewhere' back end"),
            std::string::npos);
}

// The manifest's kinds and groups are parsed into the ABI's enums when the
// artifact is read: a spelling no runtime knows is refused there, by name.
TEST_F(ArtifactFile, UnknownKindIsRefused) {
  for (auto [from, to, message] :
       {std::tuple{"\"kind\": \"offsets\"", "\"kind\": \"offzets\"", "unknown kind 'offzets'"},
        std::tuple{"\"group\": \"sequence\"", "\"group\": \"sequenze\"",
                   "unknown group 'sequenze'"}}) {
    std::string edited = *bytes;
    size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, std::strlen(from), to);
    ASSERT_TRUE(resealChecksums(edited));
    std::string why = error(edited);
    EXPECT_NE(why.find("section 'manifest': entry point 'forward' argument"), std::string::npos)
        << why;
    EXPECT_NE(why.find(message), std::string::npos) << why;
  }
}

// The manifest records the code's numerics (verify's default tolerance
// follows them): a value no runtime knows is refused by name.
TEST_F(ArtifactFile, UnknownNumericsAreRefused) {
  std::string edited = *bytes;
  const char *from = "\"numerics\": \"fp32\"";
  size_t at = edited.find(from);
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, std::strlen(from), "\"numerics\": \"fp16\"");
  ASSERT_TRUE(resealChecksums(edited));
  std::string why = error(edited);
  EXPECT_NE(why.find("section 'manifest': numerics 'fp16' is not fp32 or bf16"), std::string::npos)
      << why;
}

TEST(Params, InitialisationIsSeededAndPerParameter) {
  ModelDesc m = test::loadExample("tiny.yaml");
  std::vector<ParamSpec> specs = collectParameters(m);
  ParamStore a = ParamStore::initialize(specs, 1), b = ParamStore::initialize(specs, 1),
             c = ParamStore::initialize(specs, 2);
  EXPECT_EQ(a.get("layers.0.uvqk.weight").data, b.get("layers.0.uvqk.weight").data);
  EXPECT_NE(a.get("layers.0.uvqk.weight").data, c.get("layers.0.uvqk.weight").data);
  // Xavier-uniform bound sqrt(6 / (in + out)) for [64, 16].
  double bound = std::sqrt(6.0 / 80), maxAbs = 0;
  for (float x : a.get("layers.0.uvqk.weight").data)
    maxAbs = std::max(maxAbs, std::fabs(static_cast<double>(x)));
  EXPECT_LE(maxAbs, bound);
  EXPECT_GT(maxAbs, 0.8 * bound);
  for (float x : a.get("layers.0.gln1.gamma").data)
    EXPECT_EQ(x, 1.0f);
  for (float x : a.get("layers.0.uvqk.bias").data)
    EXPECT_EQ(x, 0.0f);
  double sum2 = 0;
  const auto &table = a.get("tables.item.weight").data;
  for (float x : table)
    sum2 += x * x;
  EXPECT_NEAR(std::sqrt(sum2 / table.size()), 0.01, 0.002); // N(0, 0.01^2)
}
} // namespace

// The generated code's buffers: freed blocks are reused, aligned, and can be
// returned to the system.
// The generated code cannot handle a failed allocation: the pool ends the
// process with a message and exit code 3 instead of returning null (which
// segfaulted at 9a78b6d).
/// A .npz of `store` in a fresh temporary file.
std::string npzOf(const ParamStore &store) {
  llvm::SmallString<128> path;
  llvm::sys::fs::createTemporaryFile("mtgr-test", "npz", path);
  EXPECT_FALSE(static_cast<bool>(writeNpz(path, store)));
  return path.str().str();
}

// The same parameters give the same bytes: members carry a fixed time stamp
// (1980-01-01 00:00), not the time of writing. The crash-consistency test
// compares a resumed run's saved parameters with an uninterrupted run's byte
// for byte; under ASan the two writes fell into different 2-second DOS times.
TEST(Npz, SameParametersGiveTheSameBytes) {
  ParamStore store;
  store.set("w", Tensor{{2, 3}, {1, 2, 3, 4, 5, 6}});
  store.set("b", Tensor{{3}, {0, 0, 1}});
  std::string path = npzOf(store);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(static_cast<bool>(buffer));
  llvm::StringRef bytes = (*buffer)->getBuffer();
  int members = 0;
  for (size_t at = bytes.find("PK\x03\x04"); at != llvm::StringRef::npos;
       at = bytes.find("PK\x03\x04", at + 4), ++members) {
    ASSERT_LE(at + 14, bytes.size());
    uint16_t time, date;
    std::memcpy(&time, bytes.data() + at + 10, 2);
    std::memcpy(&date, bytes.data() + at + 12, 2);
    EXPECT_EQ(time, 0);
    EXPECT_EQ(date, (0 << 9) | (1 << 5) | 1); // 1980-01-01
  }
  EXPECT_EQ(members, 2);
  llvm::sys::fs::remove(path);
}

// The member size comes from the zip directory, which anyone can write: a
// small archive claiming 4 GiB drove RSS to 4.25 GB at 9a78b6d. Now it is
// refused before anything is allocated, naming the member and the bound.
TEST(Npz, ClaimedSizeIsBoundedByTheParameter) {
  ParamStore store;
  store.set("w", Tensor{{2, 3}, {1, 2, 3, 4, 5, 6}});
  std::string path = npzOf(store);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  std::string bytes = (*buffer)->getBuffer().str();
  size_t central = bytes.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  uint32_t huge = 0xF0000000u; // the uncompressed size of the directory entry
  std::memcpy(&bytes[central + 24], &huge, 4);
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec);
    out << bytes;
  }
  ParamStore target;
  target.set("w", Tensor{{2, 3}, std::vector<float>(6)});
  llvm::Error e = loadParams(path, target);
  ASSERT_TRUE(static_cast<bool>(e));
  std::string why = llvm::toString(std::move(e));
  EXPECT_NE(why.find("member 'w.npy' claims 4026531840 bytes, more than parameter 'w' can hold"),
            std::string::npos)
      << why;
  llvm::sys::fs::remove(path);
}

TEST(Npz, NonFiniteAndForeignMembersAreRefused) {
  ParamStore store;
  store.set("w", Tensor{{2}, {1, std::nanf("")}});
  std::string path = npzOf(store);
  ParamStore target;
  target.set("w", Tensor{{2}, {0, 0}});
  llvm::Error e = loadParams(path, target);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("parameter 'w' element 1 is NaN"), std::string::npos);
  EXPECT_EQ(target.get("w").data, (std::vector<float>{0, 0})); // nothing replaced
  ParamStore other;
  other.set("v", Tensor{{2}, {0, 0}});
  llvm::Error f = loadParams(path, other); // an error message after the archive is freed
  ASSERT_TRUE(static_cast<bool>(f));
  EXPECT_NE(llvm::toString(std::move(f)).find(": 'w' is not a parameter of this model"),
            std::string::npos);
  llvm::sys::fs::remove(path);
}

