//===- CudaBackend.cpp - the CUDA back end --------------------------------===//
#include "codegen/cuda/CudaBackend.h"
#include "codegen/cpu/HostCodegen.h"
#include "codegen/cpu/Target.h"
#include "codegen/cuda/DeviceCode.h"
#include "codegen/cuda/EmulatorRetarget.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/Passes.h"
#include "model/Error.h"
#include "passes/Passes.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Linker/Linker.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
class CudaBackend final : public TargetBackend {
public:
  CudaBackend(HostTarget host, std::vector<std::string> archs, std::string gemm,
              std::string attention, std::string dtype, int64_t syncDelaysNs)
      : host(std::move(host)), archs(std::move(archs)), gemm(std::move(gemm)),
        attention(std::move(attention)), dtype(std::move(dtype)), syncDelaysNs(syncDelaysNs) {}

  StringRef name() const override { return "cuda"; }

  std::string describe() const override {
    std::string list;
    for (const std::string &a : archs)
      list += (list.empty() ? "" : ", ") + a;
    return "CUDA: SIMT kernels of " + std::to_string(kBlockSize) + " threads per block" +
           (dtype == "fp32" ? ", fp32 activations"
                            : ", " + dtype + " activations (f32 arithmetic and parameters)") +
           (gemm == "cublaslt"      ? ", products by cuBLASLt"
            : gemm == "tensor-core" ? ", products on tensor cores (bf16 operands, f32 sums)"
            : gemm == "wgmma"
                ? ", products on sm_90a warpgroup MMA (wgmma; bf16 operands, f32 sums)"
                : "") +
           (attention == "tensor-core" ? ", attention fused on tensor cores (64 x 64 tiles)"
            : attention == "wgmma"
                ? ", attention fused on tensor cores (64 x 64 tiles; the forward on sm_90a's "
                  "wgmma fed by TMA where heads are multiples of 16)"
                : "") +
           (syncDelaysNs > 0 ? ", random delays below " + std::to_string(syncDelaysNs) +
                                   " ns around every synchronisation point (a test build)"
                             : "") +
           ", cubins for " + (list.empty() ? "no architecture" : list) +
           "; host code and emulated kernels for " + host.cpu;
  }

  /// The fused tensor-core passes: a warp per 16 rows, 4 warps per block,
  /// tiles of 64 (4 k-steps of W times the second operand). The SIMT
  /// kernels: a thread per row of 8-row blocks, tiles of 16 columns.
  AttentionTiles attentionTiles() const override {
    // Tensor cores: 64 x 64 tiles; score_candidates' R and C rows in blocks
    // of 16 (a warp's), so a request's few candidate rows do not pad to 64.
    return attention != "generated" ? AttentionTiles{64, 64, 16} : AttentionTiles{};
  }

  /// No timers compiled in: the GPU devices time each kernel at run time
  /// (events; the launch metadata names each kernel's op family).
  bool canProfile() const override { return false; }

  std::string numerics() const override {
    return gemm == "tensor-core" || gemm == "wgmma" || attention != "generated" || dtype != "fp32"
               ? "bf16"
               : "fp32";
  }

  void buildLoweringPipeline(OpPassManager &pm, bool /*profile*/) const override {
    MTGRLowerToGpuPassOptions options;
    options.blockSize = kBlockSize;
    options.gemm = gemm;
    options.attention = attention;
    options.dtype = dtype;
    pm.addPass(createMTGRLowerToGpuPass(options));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    pm.addPass(createMTGRPlanOnHostPass());
    pm.addNestedPass<func::FuncOp>(createMTGRFreeBuffersPass());
  }

  /// Kernels outlined, launches lowered, kernels to the NVVM dialect.
  void buildCodegenPipeline(OpPassManager &pm) const override {
    // Constants the kernels use go into them (CSE hoisted them to the
    // function): a tile size stays a constant in the kernel, not a
    // parameter (found by the SASS check: a division by a parameter 16).
    pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
    pm.addPass(createGpuKernelOutliningPass());
    pm.addPass(createMTGRLowerGpuLaunchesPass());
    OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
    if (syncDelaysNs > 0) {
      MTGRGpuSyncDelaysPassOptions delays;
      delays.maxNs = syncDelaysNs;
      kernels.addPass(createMTGRGpuSyncDelaysPass(delays));
    }
    kernels.addPass(createSCFToControlFlowPass());
    kernels.addPass(createConvertGpuOpsToNVVMOps());
    // NVVM ops without an LLVM intrinsic (wgmma.mma_async) as inline PTX.
    kernels.addPass(createConvertNVVMToLLVMPass());
    kernels.addPass(createReconcileUnrealizedCastsPass());
  }

  llvm::Expected<Emitted> emit(ModuleOp module, llvm::StringRef abiRecord,
                               EmitStop stop) const override {
    Emitted out;
    if (stop == EmitStop::Lowered) {
      llvm::raw_string_ostream os(out.text);
      module->print(os);
      return std::move(out);
    }
    DialectRegistry registry;
    registerCudaPipelineDialects(registry);
    module.getContext()->appendDialectRegistry(registry);
    PassManager pm(module.getContext());
    buildCodegenPipeline(pm);
    if (failed(pm.run(module)))
      return fail("the kernels' conversion to NVVM failed");

    // PTX and cubins per architecture, from the same NVVM IR the emulator
    // gets (only for an artifact: --emit=llvm and object are the host's).
    std::vector<DeviceCode> device;
    if (stop == EmitStop::Sections) {
      auto compiled = compileDeviceCode(module, archs);
      if (!compiled)
        return compiled.takeError();
      device = std::move(*compiled);
    }

    llvm::LLVMContext llvmContext;
    auto layout = hostDataLayout(host);
    if (!layout)
      return layout.takeError();
    // Each gpu.module's NVVM IR, retargeted for the emulator.
    std::vector<std::unique_ptr<llvm::Module>> kernelModules;
    std::map<std::string, EmulatedKernel> emulated;
    for (auto gpuModule : llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>())) {
      OwningOpRef<ModuleOp> holder = ModuleOp::create(gpuModule.getLoc());
      OpBuilder b(holder->getBodyRegion());
      for (Operation &op : gpuModule.getBody()->without_terminator())
        b.clone(op);
      std::unique_ptr<llvm::Module> kernels =
          translateModuleToLLVMIR(*holder, llvmContext, gpuModule.getName());
      if (!kernels)
        return fail("translating the kernels of '" + gpuModule.getName() + "' to LLVM IR failed");
      auto retargeted = retargetForEmulator(*kernels, llvm::Triple(host.triple), *layout);
      if (!retargeted)
        return retargeted.takeError();
      for (EmulatedKernel &k : *retargeted)
        emulated[k.name] = std::move(k);
      kernelModules.push_back(std::move(kernels));
      gpuModule.erase();
    }
    std::vector<EmulatedKernel> table;
    if (auto names = module->getAttrOfType<ArrayAttr>("mtgr.gpu_kernels"))
      for (Attribute name : names) {
        auto found = emulated.find(cast<StringAttr>(name).str());
        if (found == emulated.end())
          return fail("kernel '" + cast<StringAttr>(name).str() + "' was not compiled");
        table.push_back(found->second);
      }
    module->removeAttr("mtgr.gpu_kernels");
    DictionaryAttr profiles = module->getAttrOfType<DictionaryAttr>(kGpuKernelProfilesAttr);
    module->removeAttr(kGpuKernelProfilesAttr);
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

    // The host code: the CPU back end's host steps.
    PassManager hostPm(module.getContext());
    buildHostPipeline(hostPm);
    if (failed(hostPm.run(module)))
      return fail("the host code's conversion to the LLVM dialect failed");
    auto llvmModule = translateToHost(module, llvmContext, host);
    if (!llvmModule)
      return llvmModule.takeError();
    // One Linker for every kernel module: each Linker scans the whole
    // destination for its struct types when made, so a Linker per module
    // (linkModules) made linking quadratic in the kernels (40% of the
    // compile of a model's train step with bf16 storage).
    llvm::Linker linker(**llvmModule);
    for (auto &kernels : kernelModules)
      if (linker.linkInModule(std::move(kernels)))
        return fail("linking the emulated kernels into the host code failed");
    addKernelTables(**llvmModule, table);
    if (llvm::Error e =
            finishHostCode(**llvmModule, host, abiRecord, stop, kCudaHostCodeSection, out))
      return std::move(e);
    if (stop != EmitStop::Sections)
      return std::move(out);
    for (DeviceCode &code : device) {
      out.sections.push_back(CodeSection{"cuda." + code.arch, code.arch, std::move(code.cubin)});
      out.sections.push_back(CodeSection{"cuda.ptx." + code.arch, code.arch, std::move(code.ptx)});
    }
    std::vector<KernelEntry> entries;
    for (const EmulatedKernel &k : table) {
      KernelEntry e{k.name, k.params};
      if (auto profile = profiles ? profiles.getAs<ArrayAttr>(k.name) : ArrayAttr()) {
        e.family = cast<IntegerAttr>(profile[0]).getInt();
        e.layer = cast<IntegerAttr>(profile[1]).getInt();
      }
      entries.push_back(std::move(e));
    }
    out.sections.push_back(CodeSection{"cuda.kernels", "", kernelMetadata(entries, device)});
    return std::move(out);
  }

private:
  static constexpr int64_t kBlockSize = 256;
  HostTarget host;
  std::vector<std::string> archs;
  std::string gemm, attention, dtype;
  int64_t syncDelaysNs;
};
} // namespace

llvm::Expected<std::unique_ptr<TargetBackend>>
mlir::mtgr::createCudaBackend(const BackendOptions &options) {
  // The host code runs wherever the GPU is: by default a generic x86-64
  // level, not this machine's.
  std::string cpu = options.chip.empty() ? "x86-64-v3" : options.chip;
  if (!options.tiles.empty())
    return fail("--tiles sets the CPU's register tiles: an option of --target=cpu");
  std::optional<HostTarget> host = HostTarget::named(cpu);
  if (!host)
    return fail("the host code: " + HostTarget::unknownCpu(cpu));
  std::vector<std::string> archs;
  std::string listText = options.gpuArchs.empty() ? kDefaultCudaArchs : options.gpuArchs;
  llvm::StringRef list = listText;
  if (list != "none") {
    llvm::SmallVector<llvm::StringRef> names;
    list.split(names, ',');
    for (llvm::StringRef name : names) {
      name = name.trim();
      if (!isSupportedCudaArch(name))
        return fail("unknown CUDA architecture '" + name + "' (supported: sm_90a, sm_80; none)");
      if (!llvm::is_contained(archs, name.str()))
        archs.push_back(name.str());
    }
  }
  std::string gemm = options.gemm.empty() ? "generated" : options.gemm;
  if (!parseGpuGemmKind(gemm))
    return fail("--gemm: '" + gemm + "' is not " + kGpuGemmKinds);
  // wgmma exists on sm_90a alone, and the cubins of every architecture
  // come from the same kernels.
  auto sm90aOnly = [&](StringRef option) -> llvm::Error {
    for (const std::string &a : archs)
      if (a != "sm_90a")
        return fail(option +
                    "=wgmma: warpgroup MMA runs on sm_90a only, and the architectures "
                    "include " +
                    a + " (pass --cuda-arch=sm_90a, or " + option +
                    "=tensor-core for mma.sync on sm_80 and later)");
    return llvm::Error::success();
  };
  if (gemm == "wgmma")
    if (auto e = sm90aOnly("--gemm"))
      return std::move(e);
  std::string attention = options.attention.empty() ? "generated" : options.attention;
  if (!parseGpuAttentionKind(attention))
    return fail("--attention: '" + attention + "' is not " + kGpuAttentionKinds);
  if (options.syncDelaysNs < 0 || options.syncDelaysNs > 1000000)
    return fail("--gpu-sync-delays: " + std::to_string(options.syncDelaysNs) +
                " ns is not 0 (none) .. 1000000 (nanosleep sleeps at most 1 ms)");
  if (attention == "wgmma")
    if (auto e = sm90aOnly("--attention"))
      return std::move(e);
  std::string dtype = options.dtype.empty() ? "fp32" : options.dtype;
  if (dtype != "fp32" && dtype != "bf16" && dtype != "f16")
    return fail("--dtype: '" + dtype + "' is not " + kStorageDtypes.str());
  // cuBLASLt's products read and write the activations as f32 buffers.
  if (dtype != "fp32" && gemm == "cublaslt")
    return fail("--dtype=" + dtype +
                " with --gemm=cublaslt: the library products take fp32 activations (pass "
                "--gemm=tensor-core or wgmma for bf16 products, or --dtype=fp32)");
  return std::unique_ptr<TargetBackend>(new CudaBackend(*host, std::move(archs), std::move(gemm),
                                                        std::move(attention), std::move(dtype),
                                                        options.syncDelaysNs));
}
