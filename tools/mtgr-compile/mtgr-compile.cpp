//===- mtgr-compile.cpp - model description -> artifact -------------------===//
//
// Compiles a model description into an artifact (.mtgr) for the CPU, or stops
// at any stage (--emit): mtgr IR as imported, kernel-level IR, loops, LLVM
// IR, an object file. `--summary` prints what a recommender engineer checks
// first: sizes, parameters, FLOPs per sample.
//
//===----------------------------------------------------------------------===//
#include "compiler/Backends.h"
#include "compiler/Compiler.h"
#include "compiler/Pipeline.h"
#include "compiler/TileTuning.h"
#include "dialect/MTGRDialect.h"
#include "frontend/MLIRGen.h"
#include "model/ModelDesc.h"
#include "model/ModelStats.h"
#include "passes/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
using mlir::mtgr::Stage;

cl::OptionCategory category("mtgr-compile options");
cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.yaml>"), cl::Required,
                               cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: MODEL.mtgr for an artifact, "
                                              "stdout for IR)"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<std::string>
    cpu("cpu",
        cl::desc("CPU to generate code for: native (this machine: its "
                 "features, and its caches from sysfs), x86-64-v3 (AVX2 + FMA), "
                 "x86-64-v4 (AVX-512), or a named CPU (haswell, skylake-avx512, "
                 "icelake-server, sapphirerapids, znver3, znver4, ...: LLVM's "
                 "features and a table's FMA units and caches; another 64-bit x86 "
                 "CPU LLVM knows, e.g. sierraforest, gets default figures). The register "
                 "and cache tiles follow it (--summary prints them). Default: "
                 "native for --target=cpu, x86-64-v3 for the host code of "
                 "--target=cuda"),
        cl::cat(category));
cl::opt<std::string>
    tiles("tiles",
          cl::desc("--target=cpu: set the register tiles instead of deriving them from the CPU: "
                   "gemm=ROWSxCOLUMNS (COLUMNS 1, 2 or 4 vectors), attention=ROWS (2 .. 8), comma "
                   "separated; recorded in the artifact and printed by --summary as [--tiles] "
                   "(--tune chooses them by timing a few on this machine)"),
          cl::value_desc("gemm=RxC,attention=R"), cl::cat(category));
cl::opt<bool>
    tune("tune",
         cl::desc("--target=cpu: choose the register tiles by timing the model here (a few GEMM "
                  "tiles, then attention row blocks, each compiled and run on a synthetic batch of "
                  "--tune-users users with S <= --seq-len, R <= --rt-len, K <= --candidates; about "
                  "two minutes for MTGR-small), keep the choice in --tune-cache, and compile with it "
                  "(recorded, printed by --summary as [tuned])"),
         cl::cat(category));
cl::opt<std::string> tuneCache(
    "tune-cache",
    cl::desc("Where --tune keeps its choices per machine, model and shape (default "
             "$XDG_CACHE_HOME/mtgr/tiles.txt or ~/.cache/mtgr/tiles.txt; none: no cache)"),
    cl::value_desc("file"), cl::cat(category));
cl::opt<int64_t> tuneUsers("tune-users", cl::desc("--tune: users in the timed batch"), cl::init(8),
                           cl::cat(category));
cl::opt<double> tuneSeconds("tune-seconds",
                            cl::desc("--tune: seconds per candidate, thread count and round"),
                            cl::init(0.5), cl::cat(category));
cl::opt<std::string> target("target",
                            cl::desc("Back end to compile for: cpu (x86-64; --cpu picks the "
                                     "processor) or cuda (every op a GPU kernel: PTX and cubins "
                                     "per --cuda-arch, and the kernels compiled for the host, "
                                     "which mtgr-run --device=cuda-emu runs)"),
                            cl::init(mlir::mtgr::kDefaultTarget), cl::cat(category));
cl::opt<std::string> cudaArch("cuda-arch",
                              cl::desc("--target=cuda: the GPU architectures to generate PTX and "
                                       "cubins for (ptxas from the CUDA toolkit at $CUDA_HOME or "
                                       "/usr/local/cuda), comma separated: sm_90a, sm_80 (default: "
                                       "both); none: only the host code and the emulator's "
                                       "kernels"),
                              cl::cat(category));
cl::opt<std::string> gemmKind("gemm",
                              cl::desc("--target=cuda: the products (linear, fused_linear and "
                                       "their gradients) by mtgr's generated tiled fp32 GEMM "
                                       "kernels (generated, the default), by its tensor-core "
                                       "kernels (tensor-core: mma.sync on bf16 operands, f32 "
                                       "sums, about 1e-2 relative error; sm_80 and later), by "
                                       "sm_90a's warpgroup MMA (wgmma: the same numerics; with "
                                       "--cuda-arch=sm_90a or none) or by "
                                       "cuBLASLt, which the runtime loads with dlopen (cublaslt; "
                                       "the emulator runs it as a host GEMM)"),
                              cl::cat(category));
cl::opt<std::string> attentionKind(
    "attention",
    cl::desc("--target=cuda: the attention and its gradient by mtgr's fp32 SIMT kernels "
             "(generated, the default) or fused on tensor cores (tensor-core: the products by "
             "mma.sync on bf16 operands, f32 sums, 64 x 64 tiles; sm_80 and later; wgmma: the "
             "forward on sm_90a's warpgroup MMA fed by TMA where heads are multiples of 16, "
             "with --cuda-arch=sm_90a or none)"),
    cl::cat(category));
cl::opt<std::string>
    dtype("dtype",
          cl::desc("--target=cuda: the storage of activations and their gradients: fp32 (the "
                   "default), bf16 or f16 (half the bytes; loads widen to f32, stores round to "
                   "nearest even; parameters, their gradients and the optimiser's state stay fp32, "
                   "as do the buffers the runtime passes)"),
          cl::cat(category));
cl::opt<int64_t> syncDelays(
    "gpu-sync-delays", cl::value_desc("ns"), cl::init(0),
    cl::desc("--target=cuda, a test build: every kernel sleeps a pseudo-random time below this "
             "many nanoseconds before and after each synchronisation point (barriers, cp.async "
             "waits, mbarriers, TMA, wgmma waits), so that code right only by timing fails "
             "verify (0, the default: none)"),
    cl::cat(category));
enum class Emit { Mtgr, Kernel, Bound, Loops, LLVM, Object, Shared, Artifact, None };
cl::opt<Emit> emit(
    "emit", cl::desc("Stage to write"), cl::init(Emit::Artifact),
    cl::values(clEnumValN(Emit::Mtgr, "mtgr", "model-level mtgr IR, as imported"),
               clEnumValN(Emit::Kernel, "kernel", "kernel-level mtgr IR (after mtgr-decompose-layers)"),
               clEnumValN(Emit::Bound, "bound", "entry points on buffers, mtgr ops inside (after mtgr-bind-entry-points)"),
               clEnumValN(Emit::Loops, "loops", "the back end's loops (cpu: scf, memref, arith, math, vector on buffers, freed at last use; cuda: gpu.launch kernels and their host code)"),
               clEnumValN(Emit::LLVM, "llvm", "optimised LLVM IR"),
               clEnumValN(Emit::Object, "object", "an object file (cpu: x86-64)"),
               clEnumValN(Emit::Shared, "shared", "the linked host code (.so, section host.so; cuda: cuda.host.so) of the artifact"),
               clEnumValN(Emit::Artifact, "artifact", "the artifact (.mtgr), the default"),
               clEnumValN(Emit::None, "none", "nothing (with --summary)")),
    cl::cat(category));
cl::opt<bool> inferenceOnly("inference-only",
                            cl::desc("Leave out the train_step entry point (compiles faster)"),
                            cl::cat(category));
cl::opt<std::string> signKey("sign-key",
                            cl::desc("Sign the artifact with this ed25519 secret key "
                                     "(mtgr-keygen makes one)"),
                            cl::value_desc("file.key"), cl::cat(category));
cl::opt<bool> printPipelineFlag("print-pipeline",
                                cl::desc("Print the compiler's pass pipeline, stage by stage, "
                                         "as mtgr-opt would run it, and the host's conversions"),
                                cl::cat(category));
cl::opt<bool> profileFlag("profile",
                          cl::desc("Time each op family at run time (mtgr-run infer prints it)"),
                          cl::cat(category));
cl::opt<bool> summary("summary", cl::desc("Print a summary of the model to stdout"),
                      cl::cat(category));
cl::opt<int64_t>
    seqLen("seq-len",
           cl::desc("S events per sample for the FLOP count (--tune: the most per user)"),
           cl::init(1000), cl::cat(category));
cl::opt<int64_t>
    rtLen("rt-len", cl::desc("R events per sample for the FLOP count (--tune: the most per user)"),
          cl::init(100), cl::cat(category));
cl::opt<int64_t>
    candidates("candidates",
               cl::desc("Candidates per sample for the FLOP count (--tune: the most per user)"),
               cl::init(32), cl::cat(category));

std::string withCommas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(i, ",");
  return s;
}

std::string featureList(const std::vector<mlir::mtgr::FeatureDesc> &features) {
  std::string s;
  for (const auto &f : features)
    s += (s.empty() ? "" : ", ") + f.name +
         (f.isCategorical() ? "[" + f.table + "]" : "(" + std::to_string(f.denseDim) + ")");
  return s;
}

size_t countOps(ModuleOp module, bool modelLevel) {
  size_t n = 0;
  module.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "mtgr" &&
        op->hasTrait<mlir::mtgr::ModelLevel>() == modelLevel &&
        !isa<mlir::mtgr::ParamOp, mlir::mtgr::ParameterOp, mlir::mtgr::TableOp>(op))
      ++n;
  });
  return n;
}

void printSummary(const mlir::mtgr::ModelDesc &m, size_t modelOps, size_t kernelOps) {
  llvm::outs() << "model " << m.name << " (" << m.path << ")\n";
  if (m.layers > 0)
    llvm::outs() << "  HSTU: layers " << m.layers << ", d_model " << m.dModel << ", heads "
                 << m.heads << " (dqk " << m.dqk << ", dv " << m.dv << "), mask "
                 << toString(m.mask) << ", n_norm "
                 << (m.nNorm == ::mtgr::ModelDesc::NNorm::Constant ? std::to_string(m.nNormConstant)
                                                                   : toString(m.nNorm).str())
                 << ", " << toString(m.normOrder)
                 << (m.normGroups == ::mtgr::ModelDesc::NormGroups::Shared ? ", shared norm" : "")
                 << (m.rab ? ", rab" : ", no rab") << "\n";
  else
    llvm::outs() << "  DLRM-style: no HSTU layers, candidate MLP to d_model " << m.dModel
                 << (m.candidateContext ? " over item, cross and user/history context"
                                        : "")
                 << "\n";
  llvm::outs() << "  token groups: U " << m.user.size() << " tokens {" << featureList(m.user)
               << "} | S events {" << featureList(m.sequence) << "} | R events {"
               << featureList(m.realtime) << "} | C {" << featureList(m.candidateItem)
               << (m.candidateCross.empty() ? "" : " + cross " + featureList(m.candidateCross))
               << "}\n";
  mlir::mtgr::ParamCount pc = mlir::mtgr::countParameters(m);
  llvm::outs() << "  parameters: " << withCommas(pc.total()) << " (dense "
               << withCommas(pc.dense) << ", embedding " << withCommas(pc.embedding) << " in "
               << m.tables.size() << " tables)\n";
  mlir::mtgr::SampleShape shape{seqLen, rtLen, candidates, {}, {}, std::nullopt};
  std::optional<mlir::mtgr::FlopCount> f = mlir::mtgr::countForwardFlops(m, shape);
  llvm::outs() << "  forward FLOPs per user sample (nS=" << seqLen << ", nR=" << rtLen
               << ", K=" << candidates << "): ";
  if (f) {
    // The unit that shows the total with at least one digit before the point.
    double total = f->total();
    auto [scale, unit] = total >= 1e9   ? std::pair{1e9, "GFLOP"}
                         : total >= 1e6 ? std::pair{1e6, "MFLOP"}
                         : total >= 1e3 ? std::pair{1e3, "kFLOP"}
                                        : std::pair{1.0, "FLOP"};
    llvm::outs() << llvm::format("%.3f ", total / scale) << unit << " (tokenizers "
                 << llvm::format("%.3f", f->tokenizer / scale) << ", projections "
                 << llvm::format("%.3f", f->projections / scale) << ", attention "
                 << llvm::format("%.3f", f->attention / scale) << ", heads "
                 << llvm::format("%.3f", f->heads / scale) << ")\n";
  }
  else
    llvm::outs() << "depends on the batch's attention intervals (mask: intervals)\n";
  llvm::outs() << "  IR: verified; " << modelOps << " model-level ops -> " << kernelOps
               << " kernel-level ops after mtgr-decompose-layers\n";
}
} // namespace

/// What a CUDA artifact holds: its sections, and per architecture the most
/// registers, shared memory and spills any kernel takes (ptxas -v).
static void printCudaSummary(const ::mtgr::Artifact &a, llvm::StringRef metadata) {
  for (const ::mtgr::CodeSection &s : a.code)
    llvm::outs() << "  " << s.name << ": " << s.bytes.size() << " bytes\n";
  auto json = llvm::json::parse(metadata);
  if (!json) {
    llvm::consumeError(json.takeError());
    return;
  }
  const llvm::json::Array *kernels = json->getAsObject()->getArray("kernels");
  const llvm::json::Array *archs = json->getAsObject()->getArray("archs");
  llvm::outs() << "  " << (kernels ? kernels->size() : 0) << " kernels";
  for (const llvm::json::Value &arch : archs ? *archs : llvm::json::Array()) {
    llvm::StringRef name = *arch.getAsString();
    int64_t registers = 0, shared = 0, spills = 0;
    for (const llvm::json::Value &k : *kernels)
      if (const llvm::json::Object *r = k.getAsObject()->getObject("archs")->getObject(name)) {
        registers = std::max(registers, *r->getInteger("registers"));
        shared = std::max(shared, *r->getInteger("shared_bytes"));
        spills += *r->getInteger("spill_stores") + *r->getInteger("spill_loads");
      }
    llvm::outs() << "; " << name << ": at most " << registers << " registers and " << shared
                 << " bytes of shared memory per kernel, " << spills << " bytes of spills";
  }
  llvm::outs() << "\n";
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category); // LLVM's own flags stay out of --help
  cl::ParseCommandLineOptions(
      argc, argv,
      "mtgr-compile: compile an MTGR model description\n\n"
      "Examples:\n"
      "  mtgr-compile examples/models/tiny.yaml --target=cpu -o tiny.mtgr\n"
      "  mtgr-compile examples/models/tiny.yaml --target=cuda -o tiny.cuda.mtgr\n"
      "  mtgr-compile examples/models/tiny.yaml --target=cuda --gemm=cublaslt -o tiny.lt.mtgr\n"
      "  mtgr-compile examples/models/tiny.yaml --target=cuda --gemm=tensor-core \\\n"
      "      --attention=tensor-core -o tiny.tc.mtgr\n"
      "  mtgr-compile examples/models/tiny.yaml --target=cuda --dtype=bf16 --gemm=tensor-core \\\n"
      "      -o tiny.bf16.mtgr\n"
      "  mtgr-compile examples/models/tiny.yaml --cpu=x86-64-v3 --emit=loops -o avx2.mlir\n"
      "  mtgr-compile examples/models/tiny.yaml --summary --emit=none\n"
      "  mtgr-compile examples/models/tiny.yaml --sign-key=release.key -o tiny.mtgr\n"
      "  mtgr-compile examples/models/mtgr-small.yaml --emit=loops -o small.loops.mlir\n"
      "  mtgr-compile examples/models/tiny.yaml --print-pipeline --emit=none\n"
      "  mtgr-compile examples/models/mtgr-small.yaml --summary --seq-len=500 --rt-len=50\n"
      "  mtgr-compile examples/models/mtgr-small.yaml --tiles=gemm=4x64,attention=6 --summary\n"
      "  mtgr-compile examples/models/mtgr-small.yaml --tune --seq-len=512 --rt-len=64 -o "
      "small.mtgr\n");
  if (seqLen < 0 || rtLen < 0 || candidates < 0) {
    llvm::errs() << "mtgr-compile: error: --seq-len, --rt-len and --candidates must be >= 0\n";
    return 1;
  }
  mlir::mtgr::BackendOptions backendOptions{cpu,   cudaArch,   gemmKind, attentionKind,
                                            dtype, syncDelays, tiles,    /*tilesTuned=*/false};
  if (tune && (target != "cpu" || !tiles.empty())) {
    llvm::errs() << "mtgr-compile: error: --tune chooses the CPU's register tiles: an option of "
                    "--target=cpu, without --tiles\n";
    return 1;
  }
  if (tune && (tuneUsers < 1 || seqLen < 1 || !(tuneSeconds > 0))) {
    llvm::errs() << "mtgr-compile: error: --tune needs --tune-users >= 1, --seq-len >= 1 and "
                    "--tune-seconds > 0\n";
    return 1;
  }
  auto backend = mlir::mtgr::createTargetBackend(target, backendOptions);
  if (!backend) {
    llvm::errs() << "mtgr-compile: error: --target=" << target
                 << (cpu.empty() ? "" : " --cpu=" + cpu) << ": "
                 << llvm::toString(backend.takeError()) << "\n";
    return 1;
  }
  if (!mlir::mtgr::isModelDescPath(inputFile)) {
    llvm::errs() << "mtgr-compile: error: " << inputFile
                 << ": expected a model description (.yaml or .yml)\n";
    return 1;
  }
  auto buffer = llvm::MemoryBuffer::getFile(inputFile, /*IsText=*/true);
  if (!buffer) {
    llvm::errs() << inputFile << ": error: cannot read model description: "
                 << buffer.getError().message() << "\n";
    return 1;
  }
  std::optional<mlir::mtgr::SecretKey> key;
  if (!signKey.empty()) {
    auto loaded = mlir::mtgr::loadSecretKey(signKey);
    if (!loaded) {
      llvm::errs() << "mtgr-compile: error: " << llvm::toString(loaded.takeError()) << "\n";
      return 1;
    }
    key = *loaded;
  }
  llvm::StringRef text = (*buffer)->getBuffer();
  std::optional<mlir::mtgr::ModelDesc> desc =
      mlir::mtgr::parseModelDesc(text, inputFile, llvm::errs());
  if (!desc)
    return 1;
  if (tune) {
    mlir::mtgr::TileTuningOptions t;
    t.cpu = cpu.empty() ? "native" : cpu.getValue();
    t.users = tuneUsers, t.seqLen = seqLen, t.rtLen = rtLen, t.candidates = candidates;
    t.secondsPerRun = tuneSeconds;
    t.cachePath = tuneCache.empty()     ? mlir::mtgr::defaultTileCachePath()
                  : tuneCache == "none" ? ""
                                        : tuneCache.getValue();
    // The report goes where --summary's text would not mix with IR on stdout.
    auto tuned = mlir::mtgr::tuneTiles(text, inputFile, t, llvm::errs());
    if (!tuned) {
      llvm::errs() << "mtgr-compile: error: " << llvm::toString(tuned.takeError()) << "\n";
      return 1;
    }
    backendOptions.tiles = tuned->tiles;
    backendOptions.tilesTuned = true;
    backend = mlir::mtgr::createTargetBackend(target, backendOptions);
    if (!backend) {
      llvm::errs() << "mtgr-compile: error: " << llvm::toString(backend.takeError()) << "\n";
      return 1;
    }
  }

  if (summary) {
    DialectRegistry registry;
    mlir::mtgr::registerFrontendDialects(registry);
    MLIRContext context(registry);
    OwningOpRef<ModuleOp> module = mlir::mtgr::buildModule(context, *desc);
    if (!module)
      return 1;
    size_t modelOps = countOps(*module, true);
    PassManager pm(&context);
    mlir::mtgr::addKernelPasses(pm);
    if (failed(pm.run(*module)))
      return 1;
    printSummary(*desc, modelOps, countOps(*module, false));
    // The machine the code is tiled for and the tiles (the artifact records
    // the same: section cpu.target for the CPU back end).
    llvm::outs() << "  target: " << (*backend)->name() << ", " << (*backend)->describe() << "\n";
  }
  if (printPipelineFlag)
    mlir::mtgr::printPipeline(llvm::outs(), **backend, !inferenceOnly);
  if (emit == Emit::None)
    return 0;

  Stage stage = emit == Emit::Mtgr     ? Stage::Mtgr
                : emit == Emit::Kernel ? Stage::Kernel
                : emit == Emit::Bound  ? Stage::Bound
                : emit == Emit::Loops  ? Stage::Loops
                : emit == Emit::LLVM   ? Stage::LLVMIR
                : emit == Emit::Object ? Stage::Object
                                       : Stage::Artifact; // also for Emit::Shared
  auto out = mlir::mtgr::compileModel(*desc, text, stage, **backend,
                                      llvm::errs(), !inferenceOnly, profileFlag);
  if (!out) {
    llvm::errs() << "mtgr-compile: error: " << llvm::toString(out.takeError()) << "\n";
    return 1;
  }
  std::string path = outputFile;
  if (path.empty() && emit != Emit::Shared)
    path = stage == Stage::Artifact ? llvm::sys::path::stem(inputFile).str() + ".mtgr"
           : stage == Stage::Object ? llvm::sys::path::stem(inputFile).str() + ".o"
                                    : "-";
  if (emit == Emit::Shared) {
    if (path.empty() || path == "-") {
      llvm::errs() << "mtgr-compile: error: --emit=shared needs -o FILE\n";
      return 1;
    }
    std::string error;
    auto output = openOutputFile(path, &error);
    if (!output) {
      llvm::errs() << "mtgr-compile: error: " << error << "\n";
      return 1;
    }
    const mlir::mtgr::CodeSection *host = out->artifact.section(::mtgr::kHostCodeSection);
    if (!host)
      host = out->artifact.section(::mtgr::kCudaHostCodeSection);
    if (!host) {
      llvm::errs() << "mtgr-compile: error: --emit=shared: the " << out->artifact.backend
                   << " back end emits no host code section\n";
      return 1;
    }
    output->os() << host->bytes;
    output->keep();
    return 0;
  }
  if (stage == Stage::Artifact) {
    if (key)
      out->artifact.sign(*key);
    if (auto e = out->artifact.write(path)) {
      llvm::errs() << "mtgr-compile: error: " << llvm::toString(std::move(e)) << "\n";
      return 1;
    }
    llvm::outs() << "wrote " << path << " (" << out->artifact.serialize().size() << " bytes, "
                 << (out->artifact.code.empty()
                         ? out->artifact.backend
                         : llvm::StringRef(out->artifact.code[0].target).split(';').first.str())
                 << (key ? ", signed" : "") << ")\n";
    if (const ::mtgr::CodeSection *meta = out->artifact.section("cuda.kernels"))
      printCudaSummary(out->artifact, meta->bytes);
    return 0;
  }
  std::string error;
  auto output = openOutputFile(path, &error);
  if (!output) {
    llvm::errs() << "mtgr-compile: error: " << error << "\n";
    return 1;
  }
  output->os() << (stage == Stage::Object ? out->bytes : out->text);
  output->keep();
  return 0;
}
