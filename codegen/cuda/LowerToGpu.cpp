//===- LowerToGpu.cpp - the mtgr-lower-to-gpu conversion ------------------===//
//
// The CUDA back end's op-family patterns over the bound entry points, in one
// dialect conversion (codegen/cuda/Passes.td). Ops of families without GPU
// kernels yet are refused by name before anything is rewritten.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/AttentionMath.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/Passes.h"

#include "llvm/ADT/MapVector.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRLOWERTOGPUPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// The kernel-level ops that have GPU kernels (every one the CPU lowers).
bool hasGpuKernel(Operation *op) {
  return isa<
      // elementwise, norms (GpuElementwise.cpp, GpuNorm.cpp)
      SiluOp, AddOp, MulOp, SiluBackwardOp, DropoutOp, GroupLayerNormOp, GroupLayerNormBackwardOp,
      // linear, attention (GpuLinear.cpp, GpuAttention.cpp)
      LinearOp, LinearBackwardOp, FusedLinearOp, HstuAttentionOp, HstuAttentionBackwardOp,
      // masks and tile lists (shared, codegen/common/AttentionMath.cpp)
      BuildMaskOp, AttentionTilesOp,
      // tokens, loss, optimiser (the shared lowerings, codegen/common)
      JaggedValuesOp, ConcatOp, ColumnSliceOp, ColumnPadOp, StackOp, UnstackOp, MeanPoolOp,
      MeanPoolBackwardOp, SegmentSumOp, BroadcastRowsOp, AssembleTokensOp, AssemblePrefixOp,
      AssembleSuffixOp, ExtractGroupOp, ScatterGroupOp, JoinGroupsOp, ExtractUserOp, BceLossOp,
      BceLossBackwardOp, AdamUpdateOp, SparseUpdateOp>(op);
}

struct MTGRLowerToGpuPass : mlir::mtgr::impl::MTGRLowerToGpuPassBase<MTGRLowerToGpuPass> {
  using MTGRLowerToGpuPassBase::MTGRLowerToGpuPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (blockSize < 1 || blockSize > 1024) {
      module.emitError("mtgr-lower-to-gpu: block-size ")
          << blockSize << " is not a CUDA block (1 .. 1024 threads)";
      return signalPassFailure();
    }
    FailureOr<SmallVector<Operation *>> entries = boundEntryPoints(module);
    if (failed(entries))
      return signalPassFailure();
    SmallVector<Operation *> roots = *entries;
    // One error per op without a kernel, at its first use, with the count:
    // a model's whole list of missing kernels in a screen.
    llvm::MapVector<OperationName, std::pair<Operation *, int64_t>> missing;
    for (Operation *fn : roots)
      fn->walk([&](Operation *op) {
        if (!isa<MTGRDialect>(op->getDialect()) || hasGpuKernel(op))
          return;
        auto &entry = missing[op->getName()];
        if (!entry.first)
          entry.first = op;
        ++entry.second;
      });
    for (auto &[name, first] : missing) {
      InFlightDiagnostic d = first.first->emitError("'")
                             << name
                             << "' has no GPU kernel (mtgr-lower-to-gpu lowers the kernel-level ops "
                                "that decomposition and binding leave: docs/gpu-backend.md)";
      if (first.second > 1)
        d << "; " << first.second << " uses, this is the first";
    }
    if (!missing.empty())
      return signalPassFailure();

    Type storage = storageTypeNamed(ctx, dtype);
    if (!storage) {
      module.emitError("mtgr-lower-to-gpu: dtype=") << dtype << " is not " << kStorageDtypes;
      return signalPassFailure();
    }
    BufferTypeConverter converter(storage);
    RewritePatternSet patterns(ctx);
    populateGpuElementwisePatterns(converter, patterns, blockSize);
    populateGpuNormPatterns(converter, patterns, blockSize);
    std::optional<GpuGemmKind> kind = parseGpuGemmKind(gemm);
    if (!kind) {
      module.emitError("mtgr-lower-to-gpu: gemm=") << gemm << " is not " << kGpuGemmKinds;
      return signalPassFailure();
    }
    bool library = *kind == GpuGemmKind::Library;
    if (library && !module.lookupSymbol(kGpuGemmBuffersImport)) {
      OpBuilder b(module.getBodyRegion());
      Type i64 = b.getI64Type();
      Type buffer = gemmBufferType(ctx);
      auto import = func::FuncOp::create(
          b, module.getLoc(), kGpuGemmBuffersImport,
          b.getFunctionType({i64, i64, i64, i64, i64, buffer, buffer, buffer}, {}));
      import.setPrivate();
    }
    populateGpuLinearPatterns(converter, patterns, GpuLinearOptions{blockSize, *kind});
    std::optional<GpuAttentionKind> attentionKind = parseGpuAttentionKind(attention);
    if (!attentionKind) {
      module.emitError("mtgr-lower-to-gpu: attention=") << attention << " is not "
                                                         << kGpuAttentionKinds;
      return signalPassFailure();
    }
    populateGpuAttentionPatterns(converter, patterns, blockSize, *attentionKind);
    GpuParallelLoops kernels(blockSize);
    populateDropoutLoweringPatterns(converter, patterns, &kernels);
    populateTokenLoweringPatterns(converter, patterns, &kernels);
    populateLossLoweringPatterns(converter, patterns, &kernels);
    populateOptimizerLoweringPatterns(converter, patterns, &kernels);
    populateMaskLoweringPatterns(converter, patterns, &kernels);
    populateBufferCastFolding(converter, patterns, &kernels);
    ConversionTarget target(*ctx);
    // (NVVM and LLVM ops: the tensor-core kernels' ldmatrix and mma.sync.)
    target.addLegalDialect<arith::ArithDialect, math::MathDialect, memref::MemRefDialect,
                           scf::SCFDialect, gpu::GPUDialect, NVVM::NVVMDialect,
                           LLVM::LLVMDialect>();
    target.addLegalOp<func::FuncOp, func::ReturnOp, func::CallOp>();
    target.addDynamicallyLegalOp<UnrealizedConversionCastOp>([](UnrealizedConversionCastOp op) {
      return llvm::all_of(op->getOperandTypes(), isBufferType) &&
             llvm::all_of(op->getResultTypes(), isBufferType);
    });
    target.addIllegalDialect<MTGRDialect>();
    if (failed(applyPartialConversion(roots, target, std::move(patterns))))
      return signalPassFailure();
    // What is left is the model-level description.
    // (and the GEMM library's and the tensor maps' imports, when products
    // call them).
    auto keep = [](Operation *op) {
      auto fn = dyn_cast<func::FuncOp>(op);
      return fn && fn.isDeclaration() &&
             (fn.getName() == kGpuGemmBuffersImport || fn.getName() == kGpuTensorMapBuffersImport ||
              fn.getName() == kGpuMultiprocessorsImport);
    };
    if (failed(keepLoweredCode(module, roots, keep)))
      return signalPassFailure();
    finishKernelNames(module);
    // Kernels are outlined into gpu.modules of this module.
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
  }
};
} // namespace

void mlir::mtgr::registerCudaPipelineDialects(DialectRegistry &registry) {
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  // convert-gpu-to-nvvm converts the kernels' other dialects through these.
  NVVM::registerConvertGpuToNVVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  arith::registerConvertArithToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}
