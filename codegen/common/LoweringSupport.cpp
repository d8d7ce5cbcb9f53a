//===- LoweringSupport.cpp - builder helpers and the buffer types ---------===//
#include "codegen/common/LoweringSupport.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
MemRefType rowsOf(Type elt, ArrayRef<int64_t> rowShape) {
  SmallVector<int64_t> shape{ShapedType::kDynamic};
  shape.append(rowShape.begin(), rowShape.end());
  return MemRefType::get(shape, elt);
}
} // namespace

Type mlir::mtgr::storageTypeNamed(MLIRContext *ctx, StringRef dtype) {
  Builder b(ctx);
  if (dtype.empty() || dtype == "fp32")
    return b.getF32Type();
  if (dtype == "bf16")
    return b.getBF16Type();
  if (dtype == "f16")
    return b.getF16Type();
  return {};
}

BufferTypeConverter::BufferTypeConverter(Type storageType) : storage(storageType) {
  if (storage && storage.isF32())
    storage = {};
  // An f32 activation's elements in the storage type.
  auto stored = [this](Type elt) { return storage && elt.isF32() ? storage : elt; };
  addConversion([](Type t) -> std::optional<Type> {
    if (isa<MTGRDialect>(t.getDialect()) || isa<TensorType>(t))
      return std::nullopt; // handled below
    return t;
  });
  addConversion([stored](RankedTensorType t) -> Type {
    // Per-sample rows (activations) have a dynamic leading dimension;
    // parameters and their sums are static.
    bool rows = t.getRank() > 0 && t.isDynamicDim(0);
    return MemRefType::get(t.getShape(), rows ? stored(t.getElementType()) : t.getElementType());
  });
  addConversion([stored](JaggedType t, SmallVectorImpl<Type> &out) {
    Builder b(t.getContext());
    out.push_back(rowsOf(stored(t.getElementType()), t.getRowShape()));
    out.push_back(rowsOf(b.getIndexType(), {}));
    return success();
  });
  addConversion([](LayoutType t, SmallVectorImpl<Type> &out) {
    Builder b(t.getContext());
    Type index = b.getIndexType();
    out.append({rowsOf(index, {}), rowsOf(index, {4}), rowsOf(index, {}), rowsOf(b.getI64Type(), {}),
                rowsOf(index, {})});
    return success();
  });
  addConversion([](TileListType t, SmallVectorImpl<Type> &out) {
    Builder b(t.getContext());
    Type index = b.getIndexType();
    out.append({rowsOf(index, {}), rowsOf(index, {}), rowsOf(b.getI32Type(), {}),
                MemRefType::get({2}, b.getI64Type())});
    return success();
  });
}

namespace {
bool isNarrowFloat(Type t) { return t.isBF16() || t.isF16(); }
} // namespace

Value mlir::mtgr::toBf16Bits(LoopBuilder &l, Value x) {
  Type i32 = l.b.getI32Type();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(l.b, i32, v).getResult(); };
  Value bits = arith::BitcastOp::create(l.b, i32, x);
  Value lsb = arith::AndIOp::create(l.b, arith::ShRUIOp::create(l.b, bits, c(16)), c(1));
  Value rounded = arith::AddIOp::create(l.b, bits, arith::AddIOp::create(l.b, lsb, c(0x7fff)));
  Value high = arith::ShRUIOp::create(l.b, rounded, c(16));
  Value nan = arith::CmpFOp::create(l.b, arith::CmpFPredicate::UNO, x, x);
  Value chosen = arith::SelectOp::create(l.b, nan, c(0x7fc0), high);
  return arith::TruncIOp::create(l.b, l.b.getI16Type(), chosen);
}

Value LoopBuilder::widen(Value x) {
  Type t = x.getType();
  auto vec = dyn_cast<VectorType>(t);
  if (!isNarrowFloat(vec ? vec.getElementType() : t))
    return x;
  Type wide = vec ? Type(VectorType::get(vec.getShape(), f32())) : f32();
  return arith::ExtFOp::create(b, wide, x);
}

Value LoopBuilder::narrowTo(Value x, Type storage) {
  Type t = x.getType();
  auto vec = dyn_cast<VectorType>(t);
  Type elt = vec ? vec.getElementType() : t;
  if (!elt.isF32() || !isNarrowFloat(storage))
    return x;
  // bf16 scalars are rounded in integer arithmetic: the host has no bf16
  // conversion (fptrunc to bfloat is a compiler-rt call there), and the
  // GPU kernels and their emulation must round alike.
  if (storage.isBF16() && !vec)
    return arith::BitcastOp::create(b, storage, toBf16Bits(*this, x));
  Type narrow = vec ? Type(VectorType::get(vec.getShape(), storage)) : storage;
  return arith::TruncFOp::create(b, narrow, x); // round to nearest even
}

void LoopBuilder::loop(Value lb, Value ub, function_ref<void(Value)> body) {
  auto f = scf::ForOp::create(b, lb, ub, idx(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(f.getBody());
  body(f.getInductionVar());
}

Value LoopBuilder::loopAcc(Value lb, Value ub, Value init, function_ref<Value(Value, Value)> body) {
  auto f = scf::ForOp::create(b, lb, ub, idx(1), ValueRange{init});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(f.getBody());
  scf::YieldOp::create(b, body(f.getInductionVar(), f.getRegionIterArgs()[0]));
  return f.getResult(0);
}

void LoopBuilder::forRowBlocks(Value rows, int64_t block, function_ref<void(Value, int64_t)> body) {
  Value full = mul(arith::DivUIOp::create(b, rows, idx(block)), idx(block));
  {
    auto blocks = scf::ForOp::create(b, idx(0), full, idx(block));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(blocks.getBody());
    body(blocks.getInductionVar(), block);
  }
  loop(full, rows, [&](Value r) { body(r, 1); });
}

void LoopBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getThenRegion().front());
  body();
}

Value LoopBuilder::threads() {
  Value n = func::CallOp::create(b, kThreadsImport, TypeRange{i64()}, ValueRange{}).getResult(0);
  return toIndex(n);
}

void LoopBuilder::parallelParts(Value parts, StringRef kind, function_ref<void(Value)> body) {
  auto op = scf::ParallelOp::create(b, ValueRange{idx(0)}, ValueRange{parts}, ValueRange{idx(1)});
  op->setAttr("mtgr.parallel", b.getStringAttr(kind));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(op.getBody());
  body(op.getInductionVars()[0]);
}

std::pair<Value, Value> LoopBuilder::evenShare(Value n, Value part, Value parts) {
  Value lo = arith::DivUIOp::create(b, mul(n, part), parts);
  Value hi = arith::DivUIOp::create(b, mul(n, add(part, idx(1))), parts);
  return {lo, hi};
}

void LoopBuilder::withScratch(ArrayRef<std::pair<Type, SmallVector<int64_t>>> shapes,
                              function_ref<void(ArrayRef<Value>)> body) {
  SmallVector<Value> buffers;
  for (auto &[elt, shape] : shapes)
    buffers.push_back(memref::AllocOp::create(b, MemRefType::get(shape, elt)));
  body(buffers);
  for (Value m : buffers)
    memref::DeallocOp::create(b, m);
}

Value LoopBuilder::alloc(Type elt, ArrayRef<int64_t> rowShape, Value rows) {
  return memref::AllocOp::create(b, rowsOf(elt, rowShape), ValueRange{rows});
}

Value LoopBuilder::allocStatic(Type elt, ArrayRef<int64_t> shape) {
  return memref::AllocOp::create(b, MemRefType::get(shape, elt));
}

Value LoopBuilder::lastAtOrBelow(Value starts, Value n, Value x) {
  // Invariant: starts[lo] <= x, and hi == n or starts[hi] > x.
  Type index = b.getIndexType();
  auto search = scf::WhileOp::create(b, TypeRange{index, index}, ValueRange{idx(0), n});
  OpBuilder::InsertionGuard guard(b);
  Block *before = b.createBlock(&search.getBefore(), {}, {index, index}, {b.getLoc(), b.getLoc()});
  Value lo = before->getArgument(0), hi = before->getArgument(1);
  scf::ConditionOp::create(b, cmp(arith::CmpIPredicate::ugt, sub(hi, lo), idx(1)),
                           ValueRange{lo, hi});
  Block *after = b.createBlock(&search.getAfter(), {}, {index, index}, {b.getLoc(), b.getLoc()});
  lo = after->getArgument(0), hi = after->getArgument(1);
  Value mid = arith::DivUIOp::create(b, add(lo, hi), idx(2));
  Value below = cmp(arith::CmpIPredicate::ule, load(starts, {mid}), x);
  scf::YieldOp::create(b, ValueRange{select(below, mid, lo), select(below, hi, mid)});
  b.setInsertionPointAfter(search);
  return search.getResult(0);
}

ParallelLoops::~ParallelLoops() = default;

void ParallelLoops::forEach2(LoopBuilder &l, Value n, Value m,
                             function_ref<void(Value, Value)> body) const {
  forEach(l, l.mul(n, m), [&](Value t) {
    body(arith::DivUIOp::create(l.b, t, m), arith::RemUIOp::create(l.b, t, m));
  });
}

void LoopBuilder::forEachElement(Value m, function_ref<void(ValueRange)> body) {
  int64_t rank = cast<MemRefType>(m.getType()).getRank();
  SmallVector<Value> at;
  std::function<void(int64_t)> nest = [&](int64_t d) {
    if (d == rank)
      return body(at);
    auto inner = [&](Value i) {
      at.push_back(i);
      nest(d + 1);
      at.pop_back();
    };
    // The rows are independent.
    if (d == 0)
      forEach(dim(m, d), inner);
    else
      loop(idx(0), dim(m, d), inner);
  };
  nest(0);
}

void LoopBuilder::fill(Value m, Value value) {
  forEachElement(m, [&](ValueRange at) { store(value, m, at); });
}

Value LoopBuilder::convertedCopy(Value x, Type elt) {
  auto type = cast<MemRefType>(x.getType());
  Value y = type.hasStaticShape() ? allocStatic(elt, type.getShape())
                                  : alloc(elt, type.getShape().drop_front(), rows(x));
  forEachElement(x, [&](ValueRange at) { store(load(x, at), y, at); });
  return y;
}

FailureOr<SmallVector<Operation *>> mlir::mtgr::boundEntryPoints(ModuleOp module) {
  SmallVector<Operation *> entries;
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn->hasAttr("mtgr.abi"))
      entries.push_back(fn);
  if (entries.empty())
    return entries; // nothing bound: nothing to lower
  for (StringRef name : ::mtgr::kEntryPointNames)
    if (Operation *fn = module.lookupSymbol(name)) {
      fn->emitError("entry point not bound: run mtgr-bind-entry-points first");
      return failure();
    }
  for (Operation *fn : entries) {
    WalkResult modelLevel = fn->walk([](Operation *op) {
      if (!op->hasTrait<ModelLevel>())
        return WalkResult::advance();
      op->emitError("model-level op: run mtgr-decompose-layers before lowering");
      return WalkResult::interrupt();
    });
    if (modelLevel.wasInterrupted())
      return failure();
  }
  return entries;
}

LogicalResult mlir::mtgr::keepLoweredCode(ModuleOp module, ArrayRef<Operation *> entries,
                                          function_ref<bool(Operation *)> keep) {
  WalkResult castLeft = module.walk([](UnrealizedConversionCastOp c) {
    c.emitError("a buffer cast is left after lowering");
    return WalkResult::interrupt();
  });
  if (castLeft.wasInterrupted())
    return failure();
  for (Operation &op : llvm::make_early_inc_range(*module.getBody()))
    if (!llvm::is_contained(entries, &op) && !keep(&op))
      op.erase();
  return success();
}

Value mlir::mtgr::boundArgument(Operation *op, StringRef key) {
  auto bound = op->getAttrOfType<DictionaryAttr>("mtgr.bound");
  auto fn = op->getParentOfType<func::FuncOp>();
  if (!bound || !fn)
    return {};
  auto n = bound.getAs<IntegerAttr>(key);
  if (!n || n.getInt() < 0 || n.getInt() >= static_cast<int64_t>(fn.getNumArguments()))
    return {};
  return fn.getArgument(n.getInt());
}

namespace {
bool profiling(Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  return module && module->hasAttr("mtgr.profile");
}
} // namespace

Value mlir::mtgr::profileStart(OpBuilder &b, Operation *op) {
  if (!profiling(op))
    return {};
  return func::CallOp::create(b, op->getLoc(), kProfileClockImport, TypeRange{b.getI64Type()},
                              ValueRange{})
      .getResult(0);
}

int64_t mlir::mtgr::hstuLayerOf(Operation *op) {
  int64_t layer = -1;
  op->getLoc()->walk([&](Location l) {
    auto name = dyn_cast<NameLoc>(l);
    if (!name)
      return WalkResult::advance();
    StringRef rest = name.getName().getValue();
    if (rest.consume_front("layers.")) {
      StringRef digits = rest.take_while([](char c) { return c >= '0' && c <= '9'; });
      if (!digits.empty() && !digits.getAsInteger(10, layer))
        return WalkResult::interrupt();
      layer = -1;
    }
    return WalkResult::advance();
  });
  return layer;
}

void mlir::mtgr::profileStop(OpBuilder &b, Operation *op, Value start) {
  if (!start)
    return;
  Type i64 = b.getI64Type();
  std::optional<ProfileFamily> of = profileFamilyOf(op);
  if (!of) { // every kernel-level op declares one (MTGR_Profiled in MTGROps.td)
    op->emitError("op has no profile family: declare MTGR_Profiled<...> in its ODS");
    return;
  }
  Value family = arith::ConstantIntOp::create(b, op->getLoc(), i64, static_cast<int64_t>(*of));
  Value layer = arith::ConstantIntOp::create(b, op->getLoc(), i64, hstuLayerOf(op));
  func::CallOp::create(b, op->getLoc(), kProfileRecordImport, TypeRange{},
                       ValueRange{family, layer, start});
}

bool mlir::mtgr::isBufferType(Type t) { return !isa<MTGRDialect>(t.getDialect()) && !isa<TensorType>(t); }

namespace {
/// `from` and `to` are memrefs of one shape whose elements differ: f32 and
/// the activation storage (bf16, f16), either way.
bool differInStorageOnly(Type from, Type to) {
  auto a = dyn_cast<MemRefType>(from), b = dyn_cast<MemRefType>(to);
  return a && b && a.getShape() == b.getShape() && a.getLayout() == b.getLayout() &&
         a.getMemorySpace() == b.getMemorySpace() &&
         llvm::all_of(std::array<Type, 2>{a.getElementType(), b.getElementType()},
                      [](Type t) { return t.isF32() || t.isBF16() || t.isF16(); });
}

/// The casts mtgr-bind-entry-points put between the ABI's buffers and the
/// mtgr values: buffers -> value becomes the buffers themselves, value ->
/// buffers the value's converted buffers. The ABI passes f32; where
/// activations are stored narrower (--dtype), an input is converted once
/// on entry and a result once on its way out (a kernel each on a GPU).
struct FoldBufferCasts : OpConversionPattern<UnrealizedConversionCastOp> {
  FoldBufferCasts(const TypeConverter &converter, MLIRContext *ctx, const ParallelLoops *parallel)
      : OpConversionPattern(converter, ctx), parallel(parallel) {}
  const ParallelLoops *parallel;

  /// `buffers` as `types`: each the same buffer, or a converted copy.
  FailureOr<SmallVector<Value>> matched(ConversionPatternRewriter &rewriter, Location loc,
                                        ValueRange buffers, TypeRange types) const {
    if (buffers.size() != types.size())
      return failure();
    SmallVector<Value> out;
    LoopBuilder l(rewriter, loc, parallel);
    for (auto [buffer, type] : llvm::zip(buffers, types)) {
      if (buffer.getType() == type)
        out.push_back(buffer);
      else if (differInStorageOnly(buffer.getType(), type))
        out.push_back(l.convertedCopy(buffer, cast<MemRefType>(type).getElementType()));
      else
        return failure();
    }
    return out;
  }

  LogicalResult matchAndRewrite(UnrealizedConversionCastOp op, OneToNOpAdaptor a,
                                ConversionPatternRewriter &rewriter) const override {
    if (op->getNumResults() == 1 && llvm::all_of(op->getOperandTypes(), isBufferType)) {
      SmallVector<Type> parts;
      if (failed(getTypeConverter()->convertType(op.getResult(0).getType(), parts)))
        return rewriter.notifyMatchFailure(op, "buffers do not match the converted type");
      auto buffers = matched(rewriter, op.getLoc(), op.getInputs(), parts);
      if (failed(buffers))
        return rewriter.notifyMatchFailure(op, "buffers do not match the converted type");
      rewriter.replaceOpWithMultiple(op, {*buffers});
      return success();
    }
    if (op->getNumOperands() == 1 && llvm::all_of(op->getResultTypes(), isBufferType)) {
      auto buffers = matched(rewriter, op.getLoc(), a.getInputs()[0], op->getResultTypes());
      if (failed(buffers))
        return rewriter.notifyMatchFailure(op, "converted buffers do not match the results");
      rewriter.replaceOp(op, *buffers);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not a buffer cast");
  }
};

} // namespace

void mlir::mtgr::populateBufferCastFolding(BufferTypeConverter &converter,
                                           RewritePatternSet &patterns,
                                           const ParallelLoops *parallel) {
  patterns.add<FoldBufferCasts>(converter, patterns.getContext(), parallel);
}

Value mlir::mtgr::allocLike(LoopBuilder &l, Value x) {
  auto type = cast<MemRefType>(x.getType());
  if (type.hasStaticShape())
    return l.allocStatic(type.getElementType(), type.getShape());
  return l.alloc(type.getElementType(), type.getShape().drop_front(), l.rows(x));
}
