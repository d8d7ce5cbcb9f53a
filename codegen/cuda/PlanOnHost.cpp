//===- PlanOnHost.cpp - integer buffers on the host, no device read-back --===//
//
// mtgr-plan-on-host (Passes.td). After mtgr-lower-to-gpu, the host code of
// an entry point reads what kernels computed from the batch's offsets (the
// assembled token offsets, tile-list counts and scans) to size its buffers
// and grids. This pass moves that planning to the host: every buffer of
// integer elements (offsets, times, masks, tile lists, counters, the
// entry's integer arguments) lives in host memory; the part of a kernel that
// writes one runs as host loops in its place; a kernel that reads one gets
// a device copy, uploaded once before its first such launch. The pass then
// proves that host code reads and writes no device buffer (a load of
// kernel-written memory outside a kernel is an error here, at compile time),
// so an entry point's launch geometry is known on the host before any
// launch: nothing waits for the device inside an entry point, and a whole
// call can later be captured as a CUDA graph.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"
#include "codegen/cuda/GpuSupport.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRPLANONHOSTPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
bool isIntegerBuffer(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.getElementType().isIntOrIndex();
}

/// The buffer a view is a view of (through subviews, casts, reshapes).
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else if (auto cast = dyn_cast<UnrealizedConversionCastOp>(def); cast && cast->getNumOperands() == 1)
      v = cast->getOperand(0);
    else
      break;
  }
  return v;
}

/// True when `v` (used in `launch`) is a view of a host-resident buffer:
/// integer elements, defined outside the kernel (an argument of the entry
/// point or a host allocation; never the kernel's shared memory).
bool onHost(Value v, gpu::LaunchOp launch) {
  Value root = rootOf(v);
  if (!isIntegerBuffer(root.getType()))
    return false;
  Region *region = root.getParentRegion();
  return !launch.getBody().isAncestor(region);
}

/// The buffer an op writes, for the ops kernels write memory with.
Value writtenBuffer(Operation *op) {
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return store.getMemRef();
  if (auto rmw = dyn_cast<memref::AtomicRMWOp>(op))
    return rmw.getMemref();
  if (auto rmw = dyn_cast<memref::GenericAtomicRMWOp>(op))
    return rmw.getMemref();
  return {};
}

/// Erases the ops of `region` whose results nobody uses and that have no
/// effect (loads of buffers no store needs any more, empty ifs).
void eraseDeadCode(Region &region) {
  IRRewriter rewriter(region.getContext());
  (void)runRegionDCE(rewriter, region);
}

/// A kernel as messages name it.
std::string describe(gpu::LaunchOp launch) {
  return launch.getFunction() ? ("kernel '" + *launch.getFunction() + "'").str()
                              : std::string("a gpu.launch");
}

constexpr int64_t kCopyBlockSize = 256;
constexpr unsigned kSharedAddressSpace = static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared);

struct Planner {
  ModuleOp module;
  /// The device copy of each host buffer uploaded so far (while the host
  /// has not written the buffer since), by the block it was made in.
  llvm::DenseMap<Value, Value> uploaded;

  /// The import mtgr_gpu_upload_<element type>(device, host), on unranked
  /// buffers (a call on buffers, like the GEMM's: mtgr-free-buffers keeps
  /// both alive until the copy; mtgr-lower-gpu-launches makes it words).
  func::FuncOp uploadImport(MemRefType type) {
    std::string name;
    llvm::raw_string_ostream os(name);
    os << kGpuUploadImportPrefix << type.getElementType();
    if (auto fn = module.lookupSymbol<func::FuncOp>(name))
      return fn;
    OpBuilder b(module.getBodyRegion());
    Type unranked = UnrankedMemRefType::get(type.getElementType(), type.getMemorySpace());
    auto fn = func::FuncOp::create(b, module.getLoc(), name,
                                   b.getFunctionType({unranked, unranked}, {}));
    fn.setPrivate();
    return fn;
  }

  /// A device copy of host buffer `root`, uploaded before `before` (or the
  /// one uploaded earlier in the same block, when the host has not written
  /// the buffer since).
  Value deviceCopy(Value root, Operation *before) {
    auto found = uploaded.find(root);
    if (found != uploaded.end() && found->second.getParentBlock() == before->getBlock())
      return found->second;
    OpBuilder b(before);
    Location loc = before->getLoc();
    auto type = cast<MemRefType>(root.getType());
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        sizes.push_back(memref::DimOp::create(b, loc, root, d));
    Value copy = memref::AllocOp::create(b, loc, type, sizes);
    Type unranked = UnrankedMemRefType::get(type.getElementType(), type.getMemorySpace());
    auto call = func::CallOp::create(b, loc, uploadImport(type),
                                     ValueRange{memref::CastOp::create(b, loc, unranked, copy),
                                                memref::CastOp::create(b, loc, unranked, root)});
    // A use of both buffers, like a kernel's (mtgr-free-buffers).
    call->setAttr("mtgr.kernel_call", UnitAttr::get(b.getContext()));
    uploaded[root] = copy;
    return copy;
  }

  /// `v`, a view of a host buffer, as the same view of its device copy.
  Value onDevice(Value v, Operation *before) {
    Value root = rootOf(v);
    if (v == root)
      return deviceCopy(root, before);
    Operation *def = v.getDefiningOp();
    Value source = def->getOperand(0);
    Value sourceOnDevice = onDevice(source, before);
    OpBuilder b(before);
    IRMapping map;
    map.map(source, sourceOnDevice);
    // The other operands (offsets, sizes) are host values: keep them.
    return b.clone(*def, map)->getResult(cast<OpResult>(v).getResultNumber());
  }

  /// The part of `launch` that writes host buffers, as host loops over its
  /// grid and block before it; the launch keeps the rest.
  LogicalResult runOnHost(gpu::LaunchOp launch) {
    std::string name = describe(launch);
    bool synchronises = false;
    launch.getBody().walk([&](Operation *op) {
      if (isa<gpu::BarrierOp, gpu::ShuffleOp>(op))
        synchronises = true;
    });
    if (synchronises || !launch.getWorkgroupAttributions().empty() ||
        !launch.getPrivateAttributions().empty() || !launch.getBody().hasOneBlock() ||
        launch.getDynamicSharedMemorySize())
      return launch.emitError()
             << name
             << " writes an integer buffer (host memory: mtgr-plan-on-host) but synchronises its "
                "threads or uses shared memory: it cannot run on the host";
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    IRMapping map;
    Block &body = launch.getBody().front();
    gpu::KernelDim3 gridArgs = launch.getGridSize(), blockArgs = launch.getBlockSize();
    map.map(gridArgs.x, grid.x), map.map(gridArgs.y, grid.y), map.map(gridArgs.z, grid.z);
    map.map(blockArgs.x, block.x), map.map(blockArgs.y, block.y), map.map(blockArgs.z, block.z);
    gpu::KernelDim3 blockIds = launch.getBlockIds(), threadIds = launch.getThreadIds();
    // Blocks in order, threads in order within each: one of the orders a
    // GPU may run them in (the kernels' threads do not depend on another's).
    std::pair<Value, Value> loops[] = {{blockIds.z, grid.z},   {blockIds.y, grid.y},
                                       {blockIds.x, grid.x},   {threadIds.z, block.z},
                                       {threadIds.y, block.y}, {threadIds.x, block.x}};
    Operation *outer = nullptr;
    for (auto [id, count] : loops) {
      auto loop = scf::ForOp::create(b, loc, zero, count, one);
      if (!outer)
        outer = loop;
      map.map(id, loop.getInductionVar());
      b.setInsertionPointToStart(loop.getBody());
    }
    for (Operation &op : body.without_terminator())
      b.clone(op, map);
    // The host part writes only host buffers (and its own locals); what it
    // no longer needs goes.
    auto local = [&](Value root) {
      return outer->isAncestor(root.getParentRegion()->getParentOp());
    };
    SmallVector<Operation *> deviceWrites;
    outer->walk([&](Operation *op) {
      Value written = writtenBuffer(op);
      if (written && !local(rootOf(written)) && !isIntegerBuffer(rootOf(written).getType()))
        deviceWrites.push_back(op);
    });
    for (Operation *op : deviceWrites)
      op->erase();
    eraseDeadCode(outer->getRegion(0));
    // What is left must not read device memory: that is a read-back.
    WalkResult r = outer->walk([&](memref::LoadOp load) {
      Value root = rootOf(load.getMemRef());
      if (local(root) || isIntegerBuffer(root.getType()))
        return WalkResult::advance();
      launch.emitError() << name << " computes an integer buffer from device memory ("
                                   << root.getType()
                                   << "): the host would have to read it back from the device";
      return WalkResult::interrupt();
    });
    if (r.wasInterrupted())
      return failure();
    // The host has written these buffers: earlier device copies are stale.
    outer->walk([&](Operation *op) {
      if (Value written = writtenBuffer(op))
        uploaded.erase(rootOf(written));
    });
    // The kernel keeps its device writes.
    SmallVector<Operation *> hostWrites;
    launch.getBody().walk([&](Operation *op) {
      if (Value written = writtenBuffer(op); written && onHost(written, launch))
        hostWrites.push_back(op);
    });
    for (Operation *op : hostWrites)
      op->erase();
    eraseDeadCode(launch.getBody());
    return success();
  }

  /// Kernels whose results nobody reads, to a fixed point: a kernel that
  /// writes only its shared memory goes (canonicalization erased the
  /// stores into a buffer without readers, e.g. the gradient of an input
  /// that needs none), with the tensor maps only it read, and then so do
  /// the stores into a device buffer that only kernels write (the bf16
  /// operands of a tensor-core product whose kernel went), and the buffer.
  void eraseUnreadResults(func::FuncOp fn) {
    for (bool changed = true; changed;) {
      changed = false;
      SmallVector<gpu::LaunchOp> launches;
      fn.walk([&](gpu::LaunchOp l) { launches.push_back(l); });
      for (gpu::LaunchOp launch : launches)
        if (!hasEffects(launch)) {
          launch.erase();
          changed = true;
        }
      // The tensor maps only such a kernel read.
      fn.walk([&](func::CallOp call) {
        if (call.getCallee() == kGpuTensorMapBuffersImport && call->use_empty()) {
          call.erase();
          changed = true;
        }
      });
      SmallVector<memref::AllocOp> allocs;
      fn.walk([&](memref::AllocOp alloc) {
        if (!alloc->hasAttr(kHostMemoryAttr) && !alloc->getParentOfType<gpu::LaunchOp>())
          allocs.push_back(alloc);
      });
      for (memref::AllocOp alloc : allocs) {
        // Views of it nobody uses (canonicalization leaves a cast to the
        // dynamic type where the kernel that read it went) go first.
        for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
          if (isa<ViewLikeOpInterface, CastOpInterface>(user) && user->use_empty())
            user->erase();
        bool onlyStored = llvm::all_of(alloc->getUsers(), [&](Operation *user) {
          auto store = dyn_cast<memref::StoreOp>(user);
          return store && store.getMemRef() == alloc.getResult() &&
                 user->getParentOfType<gpu::LaunchOp>();
        });
        if (!onlyStored)
          continue;
        for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
          user->erase();
        alloc.erase();
        changed = true;
      }
    }
  }

  /// True when the kernel still writes memory other than its own shared
  /// memory (or does what may).
  static bool hasEffects(gpu::LaunchOp launch) {
    auto own = [&](Value v) {
      Value root = v ? rootOf(v) : Value();
      return root && launch.getBody().isAncestor(root.getParentRegion());
    };
    WalkResult r = launch.getBody().walk([&](Operation *op) {
      if (op->hasTrait<OpTrait::IsTerminator>() || isa<gpu::BarrierOp>(op))
        return WalkResult::advance();
      if (auto effects = dyn_cast<MemoryEffectOpInterface>(op)) {
        SmallVector<MemoryEffects::EffectInstance> list;
        effects.getEffects(list);
        for (const auto &e : list)
          if (isa<MemoryEffects::Write>(e.getEffect()) && !own(e.getValue()))
            return WalkResult::interrupt();
        return WalkResult::advance();
      }
      if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        return WalkResult::advance();
      // A TMA copy reads through its tensor map and writes only its shared
      // destination; a prefetch writes nothing.
      if (isa<NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp, NVVM::PrefetchOp>(op))
        return WalkResult::advance();
      // cp.async reads its global source and writes only its destination.
      if (auto copy = dyn_cast<NVVM::CpAsyncOp>(op))
        return cast<LLVM::LLVMPointerType>(copy.getDst().getType()).getAddressSpace() ==
                       kSharedAddressSpace
                   ? WalkResult::advance()
                   : WalkResult::interrupt();
      // An op that declares no effects reaches only what its operands
      // address: memory outside the kernel when it takes a buffer from
      // outside or a pointer outside shared memory (ldmatrix takes a shared
      // pointer, mma.sync registers only).
      bool reachesOutside = llvm::any_of(op->getOperands(), [&](Value v) {
        if (isa<BaseMemRefType>(v.getType()))
          return !own(v);
        auto pointer = dyn_cast<LLVM::LLVMPointerType>(v.getType());
        return pointer && pointer.getAddressSpace() != kSharedAddressSpace;
      });
      return reachesOutside ? WalkResult::interrupt() : WalkResult::advance();
    });
    return r.wasInterrupted();
  }

  LogicalResult plan(gpu::LaunchOp launch) {
    // The host buffers the kernel writes.
    llvm::SetVector<Value> written;
    launch.getBody().walk([&](Operation *op) {
      if (Value w = writtenBuffer(op); w && onHost(w, launch))
        written.insert(rootOf(w));
    });
    if (!written.empty()) {
      if (failed(runOnHost(launch)))
        return failure();
      if (!hasEffects(launch)) {
        launch.erase();
        return success();
      }
    }
    // The host buffers the kernel reads, as device copies.
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(launch.getBody(), captured);
    for (Value v : captured) {
      if (!isa<MemRefType>(v.getType()) || !onHost(v, launch))
        continue;
      if (written.contains(rootOf(v)))
        return launch.emitError()
               << describe(launch) << " reads an integer buffer it also writes, and writes device memory: split "
                  "its host and device parts in the op's lowering";
      Value copy = onDevice(v, launch);
      replaceAllUsesInRegionWith(v, copy, launch.getBody());
    }
    return success();
  }

  /// Host code must not touch device memory: a load or store outside the
  /// kernels of a non-integer buffer would read back (or write) it.
  LogicalResult checkHostCode(func::FuncOp fn) {
    WalkResult r = fn.walk<WalkOrder::PreOrder>([&](Operation *op) -> WalkResult {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      auto effects = dyn_cast<MemoryEffectOpInterface>(op);
      if (!effects)
        return WalkResult::advance();
      SmallVector<MemoryEffects::EffectInstance> list;
      effects.getEffects(list);
      for (const auto &e : list) {
        if (!isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()))
          continue;
        Value buffer = e.getValue();
        if (!buffer || !isa<MemRefType>(buffer.getType()) ||
            isIntegerBuffer(rootOf(buffer).getType()))
          continue;
        op->emitError("host code (") << op->getName() << ") "
                                    << (isa<MemoryEffects::Read>(e.getEffect()) ? "reads" : "writes")
                                    << " device memory (" << buffer.getType()
                                    << ") outside a kernel (mtgr-plan-on-host)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return failure(r.wasInterrupted());
  }

  /// Host copies between device buffers (a result copied into its output
  /// argument) become per-element kernels `<function>__copy[_n]`.
  void copiesToKernels(func::FuncOp fn) {
    SmallVector<memref::CopyOp> copies;
    fn.walk([&](memref::CopyOp copy) {
      if (!copy->getParentOfType<gpu::LaunchOp>() &&
          !isIntegerBuffer(rootOf(copy.getTarget()).getType()))
        copies.push_back(copy);
    });
    int64_t n = 0;
    for (memref::CopyOp copy : copies) {
      OpBuilder builder(copy);
      LoopBuilder l(builder, copy.getLoc());
      Value source = copy.getSource(), target = copy.getTarget();
      launchPerElement(l, target, kCopyBlockSize, [&](ValueRange at) {
        memref::StoreOp::create(l.b, memref::LoadOp::create(l.b, source, at), target, at);
      });
      auto launch = cast<gpu::LaunchOp>(copy->getPrevNode());
      std::string name = (fn.getSymName() + "__copy").str();
      if (n++ > 0)
        name += "_" + std::to_string(n - 1);
      launch.setFunctionAttr(FlatSymbolRefAttr::get(fn.getContext(), name));
      copy.erase();
    }
  }

  LogicalResult run(func::FuncOp fn) {
    uploaded.clear();
    copiesToKernels(fn);
    // Host allocations of integer buffers come from host memory.
    MLIRContext *ctx = fn.getContext();
    fn.walk([&](memref::AllocOp alloc) {
      if (isIntegerBuffer(alloc.getType()) && !alloc->getParentOfType<gpu::LaunchOp>())
        alloc->setAttr(kHostMemoryAttr, UnitAttr::get(ctx));
    });
    eraseUnreadResults(fn);
    SmallVector<gpu::LaunchOp> launches;
    fn.walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches)
      if (failed(plan(launch)))
        return failure();
    return checkHostCode(fn);
  }
};

struct MTGRPlanOnHostPass : mlir::mtgr::impl::MTGRPlanOnHostPassBase<MTGRPlanOnHostPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Planner planner;
    planner.module = module;
    SmallVector<func::FuncOp> functions;
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isDeclaration())
        functions.push_back(fn);
    for (func::FuncOp fn : functions)
      if (failed(planner.run(fn)))
        return signalPassFailure();
  }
};
} // namespace
