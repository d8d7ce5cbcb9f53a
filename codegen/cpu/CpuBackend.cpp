//===- CpuBackend.cpp - the CPU back end ----------------------------------===//
#include "codegen/cpu/CpuBackend.h"
#include "codegen/cpu/Passes.h"
#include "passes/Passes.h"

#include "mlir/Transforms/Passes.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
class CpuBackend final : public TargetBackend {
public:
  CpuBackend(HostTarget host, TargetDescription description)
      : host(std::move(host)), description(std::move(description)) {}

  StringRef name() const override { return "cpu"; }

  std::string describe() const override { return description.describe(); }

  AttentionTiles attentionTiles() const override {
    return {description.attentionRowBlock(), description.attentionColTile()};
  }

  void buildLoweringPipeline(OpPassManager &pm, bool profile) const override {
    MTGRLowerToLoopsPassOptions loops;
    loops.profile = profile;
    GemmTiles gemm = description.gemmTiles();
    loops.gemmRows = gemm.rows;
    loops.gemmVectors = gemm.vectors;
    loops.lanes = gemm.lanes;
    loops.l2Bytes = gemm.l2Bytes;
    loops.vectorRegisters = description.vectorRegisters;
    loops.attentionSweepBytes = description.attentionSweepBytes();
    loops.l1Bytes = description.l1Bytes;
    loops.gemmKBlock = gemm.kBlock;
    pm.addNestedPass<func::FuncOp>(createMTGRCpuFuseNormBackwardPass());
    pm.addNestedPass<func::FuncOp>(createMTGRCpuFuseSiluBackwardPass());
    pm.addPass(createMTGRLowerToLoopsPass(loops));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    pm.addNestedPass<func::FuncOp>(createMTGRFreeBuffersPass());
  }

  void buildCodegenPipeline(OpPassManager &pm) const override { buildHostPipeline(pm); }

  llvm::Expected<Emitted> emit(ModuleOp module, llvm::StringRef abiRecord,
                               EmitStop stop) const override {
    Emitted out;
    if (stop == EmitStop::Lowered) {
      llvm::raw_string_ostream os(out.text);
      module->print(os);
      return std::move(out);
    }
    PassManager pm(module.getContext());
    buildCodegenPipeline(pm);
    if (failed(pm.run(module)))
      return llvm::createStringError("conversion to the LLVM dialect failed");
    llvm::LLVMContext llvmContext;
    auto llvmModule = translateToHost(module, llvmContext, host);
    if (!llvmModule)
      return llvmModule.takeError();
    if (llvm::Error e =
            finishHostCode(**llvmModule, host, abiRecord, stop, kHostCodeSection, out))
      return std::move(e);
    // What the tiles were derived from, for people and benchmarks.
    out.sections.push_back(CodeSection{kCpuTargetSection, host.str(), description.toJson()});
    return std::move(out);
  }

private:
  HostTarget host;
  TargetDescription description;
};
} // namespace

TargetDescription mlir::mtgr::describeHost(const HostTarget &host) {
  return TargetDescription::forCpu(
      host.cpu, host.features,
      host.thisMachine ? TargetDescription::readCaches("/sys/devices/system/cpu/cpu0")
                       : std::nullopt);
}

std::unique_ptr<TargetBackend> mlir::mtgr::createCpuBackend(const HostTarget &host) {
  return std::make_unique<CpuBackend>(host, describeHost(host));
}

llvm::Expected<std::unique_ptr<TargetBackend>>
mlir::mtgr::createCpuBackend(const BackendOptions &options) {
  std::optional<HostTarget> host = HostTarget::named(options.chip.empty() ? "native" : options.chip);
  if (!host)
    return llvm::createStringError(HostTarget::unknownCpu(options.chip));
  if (!options.gpuArchs.empty() || !options.gemm.empty() || !options.attention.empty() ||
      options.syncDelaysNs != 0)
    return llvm::createStringError(
        "--cuda-arch, --gemm, --attention and --gpu-sync-delays are options of --target=cuda");
  if (!options.dtype.empty() && options.dtype != "fp32")
    return llvm::createStringError("--dtype=" + options.dtype +
                                   ": the CPU stores activations in fp32 only (bf16 and f16 "
                                   "storage are --target=cuda's)");
  TargetDescription description = describeHost(*host);
  if (!options.tiles.empty())
    if (llvm::Error e = description.setTiles(options.tiles))
      return std::move(e);
  description.tilesTuned = options.tilesTuned && !options.tiles.empty();
  return std::make_unique<CpuBackend>(*host, std::move(description));
}
