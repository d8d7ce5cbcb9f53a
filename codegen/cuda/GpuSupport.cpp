//===- GpuSupport.cpp - what every GPU op family's kernels share ----------===//
#include "codegen/cuda/GpuSupport.h"
#include "dialect/MTGRDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::mtgr;

void mlir::mtgr::nameKernel(LoopBuilder &l, Operation *launch) {
  auto entry = launch->getParentOfType<func::FuncOp>();
  if (!entry || !l.origin)
    return; // outlining's default name: "<function>_kernel"
  MLIRContext *ctx = launch->getContext();
  std::string name = (entry.getSymName() + "__" + l.origin->getName().stripDialect()).str();
  cast<gpu::LaunchOp>(launch).setFunctionAttr(FlatSymbolRefAttr::get(ctx, name));
  std::optional<::mtgr::ProfileFamily> family = profileFamilyOf(l.origin);
  if (!family)
    return;
  Type i64 = IntegerType::get(ctx, 64);
  launch->setAttr(kKernelProfileAttr,
                  ArrayAttr::get(ctx, {IntegerAttr::get(i64, static_cast<int64_t>(*family)),
                                       IntegerAttr::get(i64, hstuLayerOf(l.origin))}));
}

void mlir::mtgr::finishKernelNames(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  llvm::StringMap<int64_t> uses;
  SmallVector<NamedAttribute> profiles;
  module.walk([&](gpu::LaunchOp launch) {
    std::optional<StringRef> base = launch.getFunction();
    if (!base)
      return;
    int64_t n = uses[*base]++;
    std::string name = base->str();
    if (n > 0)
      name += "_" + std::to_string(n);
    launch.setFunctionAttr(FlatSymbolRefAttr::get(ctx, name));
    if (Attribute profile = launch->removeAttr(kKernelProfileAttr))
      profiles.push_back(NamedAttribute(StringAttr::get(ctx, name), profile));
  });
  module->setAttr(kGpuKernelProfilesAttr, DictionaryAttr::get(ctx, profiles));
}

std::optional<GpuGemmKind> mlir::mtgr::parseGpuGemmKind(StringRef name) {
  return llvm::StringSwitch<std::optional<GpuGemmKind>>(name)
      .Case("generated", GpuGemmKind::Simt)
      .Case("tensor-core", GpuGemmKind::TensorCore)
      .Case("wgmma", GpuGemmKind::Wgmma)
      .Case("cublaslt", GpuGemmKind::Library)
      .Default(std::nullopt);
}

std::optional<GpuAttentionKind> mlir::mtgr::parseGpuAttentionKind(StringRef name) {
  return llvm::StringSwitch<std::optional<GpuAttentionKind>>(name)
      .Case("generated", GpuAttentionKind::Simt)
      .Case("tensor-core", GpuAttentionKind::TensorCore)
      .Case("wgmma", GpuAttentionKind::Wgmma)
      .Default(std::nullopt);
}

MemRefType mlir::mtgr::gemmBufferType(MLIRContext *ctx) {
  return MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, ShapedType::kDynamic,
                                                {ShapedType::kDynamic, ShapedType::kDynamic}));
}

void mlir::mtgr::launchThreads(LoopBuilder &l, Value count, int64_t blockSize,
                               function_ref<void(Value)> body) {
  Value threads = l.idx(blockSize);
  Value blocks = arith::CeilDivUIOp::create(l.b, count, threads);
  Value one = l.idx(1);
  auto launch = gpu::LaunchOp::create(l.b, blocks, one, one, threads, one, one);
  nameKernel(l, launch);
  OpBuilder::InsertionGuard guard(l.b);
  l.b.setInsertionPointToStart(&launch.getBody().front());
  Value i = l.add(l.mul(launch.getBlockIds().x, threads), launch.getThreadIds().x);
  l.ifThen(l.cmp(arith::CmpIPredicate::ult, i, count), [&] { body(i); });
  gpu::TerminatorOp::create(l.b);
}

void mlir::mtgr::launchPerElement(LoopBuilder &l, Value like, int64_t blockSize,
                                  function_ref<void(ValueRange)> body) {
  auto type = cast<MemRefType>(like.getType());
  // Elements and the sizes the linear index splits by, on the host: the
  // grid is known before the launch (no device read-back in an entry point).
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d) ? l.dim(like, d) : l.idx(type.getDimSize(d)));
  Value elements = l.idx(1);
  for (Value s : sizes)
    elements = l.mul(elements, s);
  launchThreads(l, elements, blockSize, [&](Value linear) {
    // Row-major indices of the linear element number, last dimension fastest.
    SmallVector<Value> at(sizes.size());
    Value rest = linear;
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
      at[d] = d == 0 ? rest : arith::RemUIOp::create(l.b, rest, sizes[d]).getResult();
      if (d > 0)
        rest = arith::DivUIOp::create(l.b, rest, sizes[d]);
    }
    body(at);
  });
}

namespace {
bool insideKernel(LoopBuilder &l) {
  Operation *parent = l.b.getInsertionBlock()->getParentOp();
  return isa<gpu::LaunchOp>(parent) || parent->getParentOfType<gpu::LaunchOp>();
}
} // namespace

void GpuParallelLoops::forEach(LoopBuilder &l, Value count, function_ref<void(Value)> body) const {
  if (insideKernel(l))
    return l.loop(l.idx(0), count, body);
  launchThreads(l, count, blockSize, body);
}

void GpuParallelLoops::serial(LoopBuilder &l, function_ref<void()> body) const {
  if (insideKernel(l))
    return body();
  launchThreads(l, l.idx(1), 1, [&](Value) { body(); });
}
