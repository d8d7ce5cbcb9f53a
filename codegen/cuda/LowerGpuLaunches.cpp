//===- LowerGpuLaunches.cpp - gpu.launch_func -> the runtime's launcher ---===//
//
// The host half of a launch (abi/GpuLaunch.h): a call of the import
// mtgr_gpu_launch with the kernel's number, its grid and block, and its
// parameters as i64 words in a stack array. Written here, not upstream's
// gpu-to-llvm, because that one synchronises a fresh stream per launch and
// drops the stream a launch names (../shared/GPU.md 1.1).
//
//===----------------------------------------------------------------------===//
#include "abi/GpuLaunch.h"
#include "codegen/common/LoweringSupport.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRLOWERGPULAUNCHESPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// The words of one launch operand, in the kernel's LLVM calling convention.
LogicalResult appendWords(OpBuilder &b, Location loc, Value v, SmallVectorImpl<Value> &words) {
  auto i64 = b.getI64Type();
  auto toWord = [&](Value index) {
    return arith::IndexCastOp::create(b, loc, i64, index).getResult();
  };
  Type type = v.getType();
  if (auto memref = dyn_cast<MemRefType>(type)) {
    // {allocated, aligned, offset, sizes..., strides...}: the kernel never
    // frees, so the aligned pointer stands for both.
    Value aligned = toWord(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, v));
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, v);
    words.push_back(aligned);
    words.push_back(aligned);
    words.push_back(toWord(meta.getOffset()));
    for (Value s : meta.getSizes())
      words.push_back(toWord(s));
    for (Value s : meta.getStrides())
      words.push_back(toWord(s));
    return success();
  }
  if (type.isIndex()) {
    words.push_back(toWord(v));
    return success();
  }
  if (auto integer = dyn_cast<IntegerType>(type)) {
    if (integer.getWidth() > 64)
      return failure();
    words.push_back(integer.getWidth() == 64 ? v
                                             : arith::ExtUIOp::create(b, loc, i64, v).getResult());
    return success();
  }
  if (auto fp = dyn_cast<FloatType>(type)) {
    unsigned width = fp.getWidth();
    if (width > 64)
      return failure();
    Value bits = arith::BitcastOp::create(b, loc, b.getIntegerType(width), v);
    words.push_back(width == 64 ? bits : arith::ExtUIOp::create(b, loc, i64, bits).getResult());
    return success();
  }
  return failure();
}

/// The import `name` of `words` i64 parameters and `results` i64 results
/// (an environment field the host steps turn it into), declared at the
/// module's start if it is not.
func::FuncOp wordImport(ModuleOp module, StringRef name, unsigned words, unsigned results = 0) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  OpBuilder b(module.getContext());
  b.setInsertionPointToStart(module.getBody());
  Type i64 = b.getI64Type();
  auto fn = func::FuncOp::create(
      b, module.getLoc(), name,
      b.getFunctionType(SmallVector<Type>(words, i64), SmallVector<Type>(results, i64)));
  fn.setPrivate();
  return fn;
}

/// The calls of `callee` in the module.
SmallVector<func::CallOp> callsOf(ModuleOp module, StringRef callee) {
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    if (call.getCallee() == callee)
      calls.push_back(call);
  });
  return calls;
}

/// The device address of a buffer's first element (its aligned pointer plus
/// its offset in elements of `elementBytes`), as an index.
Value firstElementAddress(OpBuilder &b, Location loc, Value buffer,
                          memref::ExtractStridedMetadataOp meta, int64_t elementBytes) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  Value bytes = arith::MulIOp::create(b, loc, meta.getOffset(),
                                      arith::ConstantIndexOp::create(b, loc, elementBytes));
  return arith::AddIOp::create(b, loc, base, bytes);
}

/// Calls of the GEMM library on buffers (kGpuGemmBuffersImport) become
/// calls of kGpuGemmImport on words: each buffer as its address (aligned
/// pointer plus offset) and row stride. The buffers' deallocs already sit
/// after the call (mtgr-free-buffers ran on the buffer form).
LogicalResult lowerGemmCalls(ModuleOp module) {
  auto buffersImport = module.lookupSymbol<func::FuncOp>(kGpuGemmBuffersImport);
  if (!buffersImport)
    return success();
  OpBuilder b(module.getContext());
  Type i64 = b.getI64Type();
  func::FuncOp import = wordImport(module, kGpuGemmImport, 11);
  for (func::CallOp call : callsOf(module, kGpuGemmBuffersImport)) {
    Location loc = call.getLoc();
    b.setInsertionPoint(call);
    SmallVector<Value> words(call.getOperands().take_front(5));
    for (Value buffer : call.getOperands().drop_front(5)) {
      auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
      Value address = firstElementAddress(b, loc, buffer, meta, 4);
      words.push_back(arith::IndexCastOp::create(b, loc, i64, address));
      words.push_back(arith::IndexCastOp::create(b, loc, i64, meta.getStrides()[0]));
    }
    if (words.size() != 11)
      return call.emitError("mtgr-lower-gpu-launches: a GEMM call without three buffers");
    func::CallOp::create(b, loc, import, words);
    call.erase();
  }
  buffersImport.erase();
  return success();
}

/// Calls of the tensor-map import on a buffer (kGpuTensorMapBuffersImport)
/// become calls of kGpuTensorMapImport on words: the matrix's address
/// (aligned pointer plus offset), rows, columns and row stride in bytes,
/// then the box and swizzle as they are.
LogicalResult lowerTensorMapCalls(ModuleOp module) {
  auto buffersImport = module.lookupSymbol<func::FuncOp>(kGpuTensorMapBuffersImport);
  if (!buffersImport)
    return success();
  OpBuilder b(module.getContext());
  Type i64 = b.getI64Type();
  func::FuncOp import = wordImport(module, kGpuTensorMapImport, 7, /*results=*/1);
  for (func::CallOp call : callsOf(module, kGpuTensorMapBuffersImport)) {
    Location loc = call.getLoc();
    b.setInsertionPoint(call);
    Value buffer = call.getOperand(0);
    auto type = dyn_cast<MemRefType>(buffer.getType());
    if (!type || type.getRank() != 2 || !type.getElementType().isBF16() ||
        call.getNumOperands() != 4)
      return call.emitError("mtgr-lower-gpu-launches: a tensor map of something other than a "
                            "2-D bf16 buffer");
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
    auto word = [&](Value v) { return arith::IndexCastOp::create(b, loc, i64, v).getResult(); };
    Value two = arith::ConstantIndexOp::create(b, loc, 2);
    Value address = firstElementAddress(b, loc, buffer, meta, 2);
    SmallVector<Value> words{word(address), word(meta.getSizes()[0]), word(meta.getSizes()[1]),
                             word(arith::MulIOp::create(b, loc, meta.getStrides()[0], two))};
    words.append(call.getOperands().begin() + 1, call.getOperands().end());
    auto made = func::CallOp::create(b, loc, import, words);
    call.getResult(0).replaceAllUsesWith(made.getResult(0));
    call.erase();
  }
  buffersImport.erase();
  return success();
}

/// Calls of mtgr_gpu_upload_<type>(device, host) on buffers
/// (mtgr-plan-on-host) become calls of kGpuUploadImport on words: the device
/// copy's address, the host buffer's, and the bytes. Both are whole buffers
/// of identity layout (a root allocation or argument, cast to unranked).
LogicalResult lowerUploadCalls(ModuleOp module) {
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    if (call.getCallee().starts_with(kGpuUploadImportPrefix))
      calls.push_back(call);
  });
  if (calls.empty())
    return success();
  OpBuilder b(module.getContext());
  Type i64 = b.getI64Type();
  func::FuncOp import = wordImport(module, kGpuUploadImport, 3);
  llvm::SetVector<StringRef> callees;
  for (func::CallOp call : calls) {
    Location loc = call.getLoc();
    b.setInsertionPoint(call);
    SmallVector<Value> words;
    Value bytes;
    for (Value operand : call.getOperands()) {
      auto cast = operand.getDefiningOp<memref::CastOp>();
      auto type = cast ? dyn_cast<MemRefType>(cast.getSource().getType()) : MemRefType();
      if (!type || !type.getLayout().isIdentity())
        return call.emitError("mtgr-lower-gpu-launches: an upload of a buffer that is not a "
                              "whole buffer cast to unranked");
      Value buffer = cast.getSource();
      Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
      words.push_back(arith::IndexCastOp::create(b, loc, i64, address));
      if (bytes)
        continue;
      // Index elements are 64 bits on both sides (host and nvptx64 layouts).
      Type element = type.getElementType();
      int64_t width = element.isIndex() ? 8 : (element.getIntOrFloatBitWidth() + 7) / 8;
      bytes = arith::ConstantIndexOp::create(b, loc, width);
      for (int64_t d = 0; d < type.getRank(); ++d)
        bytes = arith::MulIOp::create(b, loc, bytes,
                                      memref::DimOp::create(b, loc, buffer, d).getResult());
    }
    words.push_back(arith::IndexCastOp::create(b, loc, i64, bytes));
    func::CallOp::create(b, loc, import, words);
    callees.insert(call.getCallee());
    call.erase();
  }
  for (StringRef callee : callees)
    if (auto fn = module.lookupSymbol<func::FuncOp>(callee); fn && fn.symbolKnownUseEmpty(module))
      fn.erase();
  return success();
}

struct MTGRLowerGpuLaunchesPass
    : mlir::mtgr::impl::MTGRLowerGpuLaunchesPassBase<MTGRLowerGpuLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // The kernel table, in module order. Outlining names each kernel after
    // its function in a module of a unique name: the kernel takes its
    // module's name, unique in the table and in the host object.
    llvm::StringMap<int64_t> numbers; // by module name
    SmallVector<Attribute> names;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      auto kernels = llvm::to_vector(llvm::make_filter_range(
          gpuModule.getOps<gpu::GPUFuncOp>(), [](gpu::GPUFuncOp fn) { return fn.isKernel(); }));
      if (kernels.size() != 1) {
        gpuModule.emitError("mtgr-lower-gpu-launches: a gpu.module with ")
            << kernels.size() << " kernels (outlining makes one per module)";
        return signalPassFailure();
      }
      // No block or grid size known to the kernel: NVPTX would turn a known
      // block of 128 threads into `.maxntid 128`, and ptxas then caps the
      // registers for full occupancy (32 per thread: the tensor-core GEMM
      // spilled, 40 without the cap; measured with ptxas 13.0, sm_90a).
      // A warp-specialised kernel (setmaxnreg moves registers between its
      // warpgroups) needs a register budget at launch: .maxnreg, the most
      // its block size allows (setmaxnreg is ignored without one).
      bool movesRegisters = false;
      kernels[0].walk([&](NVVM::SetMaxRegisterOp) { movesRegisters = true; });
      if (std::optional<ArrayRef<int32_t>> block = kernels[0].getKnownBlockSize();
          block && movesRegisters) {
        int64_t threads = int64_t((*block)[0]) * (*block)[1] * (*block)[2];
        int64_t budget = std::min<int64_t>(255, 65536 / threads / 8 * 8);
        kernels[0]->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                            IntegerAttr::get(IntegerType::get(ctx, 32), budget));
      }
      kernels[0].removeKnownBlockSizeAttr();
      kernels[0].removeKnownGridSizeAttr();
      StringRef name = gpuModule.getName();
      if (kernels[0].getName() != name) {
        if (SymbolTable::lookupSymbolIn(gpuModule, name)) {
          gpuModule.emitError("cannot name its kernel after the module: the name is taken");
          return signalPassFailure();
        }
        SymbolTable::setSymbolName(kernels[0], name);
      }
      numbers[name] = names.size();
      names.push_back(StringAttr::get(ctx, name));
    }
    module->setAttr("mtgr.gpu_kernels", ArrayAttr::get(ctx, names));
    if (failed(lowerGemmCalls(module)) || failed(lowerUploadCalls(module)) ||
        failed(lowerTensorMapCalls(module)))
      return signalPassFailure();

    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
    if (launches.empty())
      return;
    OpBuilder b(ctx);
    auto i64 = b.getI64Type();
    func::FuncOp import = wordImport(module, kGpuLaunchImport, 10);
    for (gpu::LaunchFuncOp launch : launches) {
      Location loc = launch.getLoc();
      if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
          launch.hasClusterSize()) {
        launch.emitError("mtgr-lower-gpu-launches: async tokens and clusters are not lowered");
        return signalPassFailure();
      }
      auto found = numbers.find(launch.getKernelModuleName().getValue());
      if (found == numbers.end()) {
        launch.emitError("launches kernel '")
            << launch.getKernelName() << "', which no gpu.module of this module defines";
        return signalPassFailure();
      }
      b.setInsertionPoint(launch);
      SmallVector<Value> words;
      for (Value operand : launch.getKernelOperands())
        if (failed(appendWords(b, loc, operand, words))) {
          launch.emitError("mtgr-lower-gpu-launches: a kernel operand of type ")
              << operand.getType() << " has no launch word";
          return signalPassFailure();
        }
      // The words live in a stack array of the function (allocated once, at
      // its start: launches may sit in loops).
      auto fn = launch->getParentOfType<FunctionOpInterface>();
      OpBuilder entry(ctx);
      entry.setInsertionPointToStart(&fn.getFunctionBody().front());
      auto array = memref::AllocaOp::create(
          entry, loc, MemRefType::get({std::max<int64_t>(1, words.size())}, i64));
      for (auto [i, word] : llvm::enumerate(words))
        memref::StoreOp::create(b, loc, word, array,
                                ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      auto idx = [&](Value v) { return arith::IndexCastOp::create(b, loc, i64, v).getResult(); };
      auto constant = [&](int64_t n) {
        return arith::ConstantIntOp::create(b, loc, i64, n).getResult();
      };
      gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
      gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
      Value shared = launch.getDynamicSharedMemorySize()
                         ? arith::ExtUIOp::create(b, loc, i64, launch.getDynamicSharedMemorySize())
                               .getResult()
                         : constant(0);
      Value params = idx(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, array));
      func::CallOp::create(b, loc, import,
                           ValueRange{constant(found->second), idx(grid.x), idx(grid.y),
                                      idx(grid.z), idx(block.x), idx(block.y), idx(block.z),
                                      shared, params, constant(words.size())});
      launch.erase();
    }
  }
};
} // namespace
