//===- LowerToLoops.cpp - kernel-level mtgr -> scf/memref loops -----------===//
//
// One emitter per kernel-level op, walking @forward in order. A jagged value
// becomes two buffers (values, offsets); a token layout becomes five (token
// offsets, segment starts, and per token: group, timestamp, position). The
// attention loop nest walks each row's mask intervals, so no N x N buffer
// exists (memory O(N * d) per sample).
//
//===----------------------------------------------------------------------===//
#include "codegen/LowerToLoops.h"
#include "dialect/MTGRDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <cmath>

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// A lowered value: a jagged tensor (values + offsets), per-sample rows
/// (values only), or a token layout.
struct Buffers {
  Value values, offsets;
  // Layout only.
  Value segStarts; // [B, 4] absolute first row of U, S, R, C
  Value group, time, pos; // [N] index, i64, index
};

class Lowering {
public:
  Lowering(func::FuncOp src, func::FuncOp dst)
      : src(src), dst(dst), b(src.getLoc(), src.getContext()) {}
  LogicalResult run();

private:
  func::FuncOp src, dst;
  ImplicitLocOpBuilder b;
  DenseMap<Value, Buffers> lowered;
  SmallVector<Attribute> abi;
  SmallVector<Value> allocs;
  llvm::StringMap<Value> params;

  // --- helpers -------------------------------------------------------------
  Type f32() { return b.getF32Type(); }
  Type f64() { return b.getF64Type(); }
  Type i64() { return b.getI64Type(); }
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value cf32(double v) { return arith::ConstantOp::create(b, b.getF32FloatAttr(v)); }
  Value cf64(double v) { return arith::ConstantOp::create(b, b.getF64FloatAttr(v)); }
  Value dim(Value m, int64_t d) { return memref::DimOp::create(b, m, d); }
  Value load(Value m, ValueRange i) { return memref::LoadOp::create(b, m, i); }
  void store(Value v, Value m, ValueRange i) { memref::StoreOp::create(b, v, m, i); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y, fast()); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y, fast()); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fdiv(Value x, Value y) { return arith::DivFOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) { return arith::CmpIOp::create(b, p, x, y); }
  Value select(Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y); }
  Value minI(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value maxI(Value x, Value y) { return arith::MaxSIOp::create(b, x, y); }
  Value toF32(Value index) {
    return arith::SIToFPOp::create(b, f32(), arith::IndexCastOp::create(b, i64(), index));
  }
  /// Reassociation lets LLVM vectorise reductions; contraction gives FMAs.
  arith::FastMathFlagsAttr fast() {
    return arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::reassoc |
                                                             arith::FastMathFlags::contract);
  }
  Value silu(Value x) { // x * sigmoid(x) = x / (1 + exp(-x))
    Value e = math::ExpOp::create(b, arith::NegFOp::create(b, x));
    return fdiv(x, arith::AddFOp::create(b, cf32(1.0), e));
  }

  void loop(Value lb, Value ub, function_ref<void(Value)> body) {
    auto f = scf::ForOp::create(b, lb, ub, idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(f.getBody());
    body(f.getInductionVar());
  }
  Value loopAcc(Value lb, Value ub, Value init, function_ref<Value(Value, Value)> body) {
    auto f = scf::ForOp::create(b, lb, ub, idx(1), ValueRange{init});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(f.getBody());
    scf::YieldOp::create(b, body(f.getInductionVar(), f.getRegionIterArgs()[0]));
    return f.getResult(0);
  }
  /// body(r0, n) over rows [0, rows): blocks of n = `block` rows, then the
  /// remaining rows one at a time (n = 1).
  void forRowBlocks(Value rows, int64_t block, function_ref<void(Value, int64_t)> body) {
    Value full = mul(arith::DivUIOp::create(b, rows, idx(block)), idx(block));
    {
      auto blocks = scf::ForOp::create(b, idx(0), full, idx(block));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(blocks.getBody());
      body(blocks.getInductionVar(), block);
    }
    loop(full, rows, [&](Value r) { body(r, 1); });
  }
  void ifThen(Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  }
  Value alloc(Type elt, ArrayRef<int64_t> rowShape, Value rows) {
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    shape.append(rowShape.begin(), rowShape.end());
    Value m = memref::AllocOp::create(b, MemRefType::get(shape, elt), ValueRange{rows});
    allocs.push_back(m);
    return m;
  }
  MemRefType rowsType(Type elt, ArrayRef<int64_t> rowShape) {
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    shape.append(rowShape.begin(), rowShape.end());
    return MemRefType::get(shape, elt);
  }
  Value addArg(Type type, DictionaryAttr spec) {
    abi.push_back(spec);
    return dst.getBody().front().addArgument(type, src.getLoc());
  }
  DictionaryAttr spec(StringRef kind, StringRef name, StringRef table = {},
                      StringRef slot = {}, StringAttr group = {}) {
    SmallVector<NamedAttribute> attrs{b.getNamedAttr("kind", b.getStringAttr(kind)),
                                      b.getNamedAttr("name", b.getStringAttr(name))};
    if (group)
      attrs.push_back(b.getNamedAttr("group", group));
    if (!table.empty())
      attrs.push_back(b.getNamedAttr("table", b.getStringAttr(table)));
    if (!slot.empty())
      attrs.push_back(b.getNamedAttr("slot", b.getStringAttr(slot)));
    return b.getDictionaryAttr(attrs);
  }
  /// An ABI entry of `kind` for the value of a typed role (the group, index
  /// and parameter of an argument's or result's `mtgr.role`).
  DictionaryAttr specFor(StringRef kind, DictionaryAttr role, StringRef name,
                         StringRef table = {}) {
    SmallVector<NamedAttribute> attrs(spec(kind, name, table).getValue());
    for (StringRef key : {"group", "index", "param"})
      if (Attribute a = role ? role.get(key) : Attribute())
        attrs.push_back(b.getNamedAttr(key, a));
    return b.getDictionaryAttr(attrs);
  }
  /// An argument's name (for people) and typed role (for binding).
  std::pair<StringRef, DictionaryAttr> argIdentity(BlockArgument arg) {
    unsigned i = arg.getArgNumber();
    return {src.getArgAttrOfType<StringAttr>(i, "mtgr.input").getValue(),
            src.getArgAttrOfType<DictionaryAttr>(i, kRoleAttr)};
  }
  /// An optimiser state buffer of `param` (slot m, v or acc), kept by the
  /// runtime across steps and updated in place.
  Value stateArg(StringRef param, StringRef slot, ArrayRef<int64_t> shape) {
    return addArg(MemRefType::get(shape, f32()), spec("state", param, {}, slot));
  }
  /// The parameter's buffer (an argument, shared by every read).
  Value paramArg(StringRef name, ArrayRef<int64_t> shape) {
    Value &v = params[name];
    if (!v)
      v = addArg(MemRefType::get(shape, f32()), spec("param", name));
    return v;
  }
  Value rowsOf(Value values) { return dim(values, 0); }
  Value samplesOf(const Buffers &x) {
    return x.offsets ? sub(dim(x.offsets, 0), idx(1)) : dim(x.values, 0);
  }
  /// Rows of a "rows" value: its values buffer with the same offsets.
  Buffers like(const Buffers &x, Value values) { return Buffers{values, x.offsets}; }

  // --- inputs --------------------------------------------------------------
  LogicalResult lowerArguments();
  // --- ops -----------------------------------------------------------------
  LogicalResult lower(Operation *op);
  void lowerLinear(LinearOp op);
  void lowerElementwise(Operation *op);
  void lowerConcat(ConcatOp op);
  void lowerColumnSlice(ColumnSliceOp op);
  void lowerStack(StackOp op);
  void lowerMeanPool(MeanPoolOp op);
  void lowerBroadcastRows(BroadcastRowsOp op);
  void lowerAssemble(AssembleTokensOp op);
  void lowerExtractGroup(ExtractGroupOp op);
  void lowerBuildMask(BuildMaskOp op);
  void lowerGroupNorm(GroupLayerNormOp op);
  void lowerAttention(HstuAttentionOp op);
  void lowerAttentionBackward(HstuAttentionBackwardOp op);
  /// The relative attention bias of pair (row, col) and where it comes from:
  /// P[clamp(pos_j - pos_i, -Pmax, Pmax)] + T[bucket(|t_i - t_j|)], the T term
  /// only between non-U tokens (DESIGN 1.3).
  struct Rab {
    Value bias, posIndex, bucket, bothTimed;
  };
  Rab rabTerms(const Buffers &l, Value rabPos, Value rabTime, Value gi, Value ti, Value pi,
               Value col);
  /// n_norm(row) of DESIGN 1.3.
  Value attentionNorm(NNorm mode, std::optional<APFloat> constant, Value mask, Value row,
                      Value start, Value end);
  void lowerUnstack(UnstackOp op);
  void lowerExtractUser(ExtractUserOp op);
  void lowerScatterGroup(ScatterGroupOp op);
  void lowerGroupNormBackward(GroupLayerNormBackwardOp op);
  void lowerDropout(DropoutOp op);
  /// train_step: memref<3xi64> {seed, step, first token}: the first token's
  /// index in the whole step, so that dropout keys every token by its index
  /// in the step whatever range of samples this call gets (DESIGN 1.3).
  Value rngState;
  Value trainingCounter() {
    if (!rngState)
      rngState = addArg(MemRefType::get({3}, i64()), spec("rng", "training.rng"));
    return load(rngState, {idx(1)});
  }
  // Optimisers: double precision, no fast-math (state is stored as f32).
  void lowerAdamUpdate(AdamUpdateOp op);
  LogicalResult lowerSparseUpdate(SparseUpdateOp op);
  /// 1 - beta^t for the optimiser step t = training counter + 1.
  Value biasCorrection(double beta);
  /// One Adam moment update of element `g` with moments at (m, v)[at];
  /// returns the step lr * mhat / (sqrt(vhat) + eps).
  Value adamStep(Value g, Value m, Value v, ValueRange at, double beta1, double beta2,
                 double lr, double eps, Value bc1, Value bc2);
  /// Mean and 1/sqrt(biased variance + eps) of row r's d values (DESIGN 1.4).
  std::pair<Value, Value> rowStats(Value x, Value r, int64_t d, Value eps) {
    Value width = cf32(static_cast<double>(d));
    Value mean = fdiv(loopAcc(idx(0), idx(d), cf32(0.0), [&](Value k, Value acc) {
                        return fadd(acc, load(x, {r, k}));
                      }),
                      width);
    Value var = fdiv(loopAcc(idx(0), idx(d), cf32(0.0), [&](Value k, Value acc) {
                       Value c = fsub(load(x, {r, k}), mean);
                       return fadd(acc, fmul(c, c));
                     }),
                     width);
    return {mean, fdiv(cf32(1.0), math::SqrtOp::create(b, arith::AddFOp::create(b, var, eps)))};
  }
  /// Interval k of `row`'s mask, as absolute rows [lo, hi).
  std::pair<Value, Value> maskInterval(Value mask, Value row, int k, Value start) {
    auto at = [&](int64_t e) {
      return add(start, arith::IndexCastOp::create(b, b.getIndexType(),
                                                   load(mask, {row, idx(k), idx(e)})));
    };
    return {at(0), at(1)};
  }
  LogicalResult lowerReturn(func::ReturnOp op);
  // Gradient ops (train_step).
  void lowerBceLoss(BceLossOp op);
  void lowerBceLossBackward(BceLossBackwardOp op);
  void lowerLinearBackward(LinearBackwardOp op);
  void lowerSiluBackward(SiluBackwardOp op);
  void lowerColumnPad(ColumnPadOp op);
  void lowerSegmentSum(SegmentSumOp op);
  void lowerMeanPoolBackward(MeanPoolBackwardOp op);
  /// Copies a buffer of rank 1 or 2 (any sizes) into `dst`.
  void copy(Value src, Value dst);
};

LogicalResult Lowering::lowerArguments() {
  // Ids consumed only by embedding lookups are not passed: the runtime hands
  // over the gathered rows instead (an "embedding" argument per lookup).
  for (BlockArgument arg : src.getArguments()) {
    if (!src.getArgAttrOfType<DictionaryAttr>(arg.getArgNumber(), kRoleAttr) ||
        !src.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mtgr.input"))
      return src.emitError("argument ")
             << arg.getArgNumber() << " lacks its mtgr.input name or typed " << kRoleAttr;
    auto [name, role] = argIdentity(arg);
    StringRef roleKind = role.getAs<StringAttr>("kind").getValue();
    // The ABI kind of the values: a feature's values, timestamps, intervals,
    // labels, or (apply_update) a gradient summed over train_step calls.
    StringRef kind = roleKind == "feature"          ? "input"
                     : roleKind == "grad"           ? "grad_input"
                     : roleKind == "embedding_grad" ? "embedding_grad_input"
                                                    : roleKind;
    // Ids are read by lookups and sparse updates through the runtime (rows
    // gathered, or mapped and deduplicated); anything else reads the values.
    bool direct = llvm::any_of(arg.getUses(), [](OpOperand &use) {
      Operation *u = use.getOwner();
      if (auto update = dyn_cast<SparseUpdateOp>(u))
        return !llvm::is_contained(update.getIds(), use.get());
      return !isa<EmbeddingLookupOp>(u);
    });
    Buffers buf;
    Type elt = isa<JaggedType>(arg.getType()) ? cast<JaggedType>(arg.getType()).getElementType()
                                              : cast<RankedTensorType>(arg.getType()).getElementType();
    if (direct)
      buf.values = addArg(rowsType(elt, getRowShape(arg.getType())), specFor(kind, role, name));
    if (isa<JaggedType>(arg.getType()))
      buf.offsets = addArg(rowsType(b.getIndexType(), {}),
                           spec("offsets", name, {}, {}, role.getAs<StringAttr>("group")));
    lowered[arg] = buf;
  }
  return success();
}

LogicalResult Lowering::run() {
  b.setInsertionPointToStart(&dst.getBody().front());
  if (failed(lowerArguments()))
    return failure();
  for (Operation &opRef : src.getBody().front()) {
    Operation *op = &opRef;
    b.setLoc(op->getLoc());
    if (failed(lower(op)))
      return failure();
  }
  SmallVector<Type> types;
  for (BlockArgument a : dst.getArguments())
    types.push_back(a.getType());
  dst.setFunctionType(b.getFunctionType(types, {}));
  dst->setAttr("mtgr.abi", b.getArrayAttr(abi));
  // Every buffer lives until the end of the call: their sum bounds the
  // call's working memory, `fixed` bytes plus `per_row` bytes per row of the
  // largest run-time dimension (at most the call's tokens). The runtime
  // refuses a batch whose estimate exceeds its memory limit before calling.
  int64_t fixed = 0, perRow = 0;
  for (Value m : allocs) {
    auto type = cast<MemRefType>(m.getType());
    int64_t bytes = type.getElementType().isIndex() ? 8 : type.getElementTypeBitWidth() / 8;
    bool dynamic = false;
    for (int64_t d : type.getShape())
      ShapedType::isDynamic(d) ? void(dynamic = true) : void(bytes *= d);
    (dynamic ? perRow : fixed) += bytes;
  }
  dst->setAttr("mtgr.memory", b.getDictionaryAttr({b.getNamedAttr("fixed", b.getI64IntegerAttr(fixed)),
                                                   b.getNamedAttr("per_row", b.getI64IntegerAttr(perRow))}));
  return success();
}

LogicalResult Lowering::lower(Operation *op) {
  if (auto p = dyn_cast<ParamOp>(op)) {
    lowered[p.getResult()] =
        Buffers{paramArg(p.getName(), cast<RankedTensorType>(p.getType()).getShape()), {}};
    return success();
  }
  if (auto u = dyn_cast<AdamUpdateOp>(op))
    return lowerAdamUpdate(u), success();
  if (auto u = dyn_cast<SparseUpdateOp>(op))
    return lowerSparseUpdate(u);
  if (auto e = dyn_cast<EmbeddingLookupOp>(op)) {
    BlockArgument ids = embeddingIdsArgument(e, e.getIds());
    if (!ids)
      return failure();
    auto [name, role] = argIdentity(ids);
    Value rows = addArg(rowsType(f32(), getRowShape(e.getType())),
                        specFor("embedding", role, name, e.getTable()));
    lowered[e.getResult()] = Buffers{rows, lowered[e.getIds()].offsets};
    return success();
  }
  if (auto l = dyn_cast<LinearOp>(op))
    return lowerLinear(l), success();
  if (isa<SiluOp, AddOp, MulOp>(op))
    return lowerElementwise(op), success();
  if (auto d = dyn_cast<DropoutOp>(op))
    return lowerDropout(d), success();
  if (auto c = dyn_cast<ConcatOp>(op))
    return lowerConcat(c), success();
  if (auto c = dyn_cast<ColumnSliceOp>(op))
    return lowerColumnSlice(c), success();
  if (auto s = dyn_cast<StackOp>(op))
    return lowerStack(s), success();
  if (auto s = dyn_cast<MeanPoolOp>(op))
    return lowerMeanPool(s), success();
  if (auto s = dyn_cast<BroadcastRowsOp>(op))
    return lowerBroadcastRows(s), success();
  if (auto a = dyn_cast<AssembleTokensOp>(op))
    return lowerAssemble(a), success();
  if (auto g = dyn_cast<ExtractGroupOp>(op))
    return lowerExtractGroup(g), success();
  if (auto m = dyn_cast<BuildMaskOp>(op))
    return lowerBuildMask(m), success();
  if (auto g = dyn_cast<GroupLayerNormOp>(op))
    return lowerGroupNorm(g), success();
  if (auto a = dyn_cast<HstuAttentionOp>(op))
    return lowerAttention(a), success();
  if (auto v = dyn_cast<JaggedValuesOp>(op)) {
    lowered[v.getResult()] = Buffers{lowered[v.getInput()].values, {}};
    return success();
  }
  if (auto r = dyn_cast<func::ReturnOp>(op))
    return lowerReturn(r);
  if (auto l = dyn_cast<BceLossOp>(op))
    return lowerBceLoss(l), success();
  if (auto l = dyn_cast<BceLossBackwardOp>(op))
    return lowerBceLossBackward(l), success();
  if (auto l = dyn_cast<LinearBackwardOp>(op))
    return lowerLinearBackward(l), success();
  if (auto l = dyn_cast<SiluBackwardOp>(op))
    return lowerSiluBackward(l), success();
  if (auto l = dyn_cast<ColumnPadOp>(op))
    return lowerColumnPad(l), success();
  if (auto l = dyn_cast<SegmentSumOp>(op))
    return lowerSegmentSum(l), success();
  if (auto l = dyn_cast<MeanPoolBackwardOp>(op))
    return lowerMeanPoolBackward(l), success();
  if (auto l = dyn_cast<HstuAttentionBackwardOp>(op))
    return lowerAttentionBackward(l), success();
  if (auto l = dyn_cast<UnstackOp>(op))
    return lowerUnstack(l), success();
  if (auto l = dyn_cast<ExtractUserOp>(op))
    return lowerExtractUser(l), success();
  if (auto l = dyn_cast<ScatterGroupOp>(op))
    return lowerScatterGroup(l), success();
  if (auto l = dyn_cast<GroupLayerNormBackwardOp>(op))
    return lowerGroupNormBackward(l), success();
  return op->emitError("the CPU backend cannot lower '")
         << op->getName() << "' (run mtgr-decompose-layers first?)";
}

void Lowering::lowerLinear(LinearOp op) {
  const Buffers &x = lowered[op.getInput()];
  Value w = lowered[op.getWeight()].values, bias = lowered[op.getBias()].values;
  auto wt = cast<MemRefType>(w.getType());
  int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
  Value rows = rowsOf(x.values);
  Value y = alloc(f32(), {out}, rows);
  // y[r, o] = b[o] + sum_i x[r, i] W[o, i]. Register tiles of kRows x kCols
  // outputs share their loads: each step of the reduction loads kRows + kCols
  // values for kRows * kCols multiply-adds (a plain dot product: 2 loads per
  // multiply-add). The reduction runs along contiguous memory in x and W, and
  // reassociation lets LLVM vectorise it.
  constexpr int64_t kRows = 4, kCols = 4;
  auto tile = [&](Value r0, int64_t nr, Value o0, int64_t no) {
    SmallVector<Value> init;
    for (int64_t a = 0; a < nr; ++a)
      for (int64_t c = 0; c < no; ++c)
        init.push_back(load(bias, {add(o0, idx(c))}));
    auto loop = scf::ForOp::create(b, idx(0), idx(in), idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value i = loop.getInductionVar();
      SmallVector<Value> xs, ws, next;
      for (int64_t a = 0; a < nr; ++a)
        xs.push_back(load(x.values, {add(r0, idx(a)), i}));
      for (int64_t c = 0; c < no; ++c)
        ws.push_back(load(w, {add(o0, idx(c)), i}));
      for (int64_t a = 0; a < nr; ++a)
        for (int64_t c = 0; c < no; ++c)
          next.push_back(fadd(loop.getRegionIterArgs()[a * no + c], fmul(xs[a], ws[c])));
      scf::YieldOp::create(b, next);
    }
    for (int64_t a = 0; a < nr; ++a)
      for (int64_t c = 0; c < no; ++c)
        store(loop.getResult(a * no + c), y, {add(r0, idx(a)), add(o0, idx(c))});
  };
  int64_t fullCols = out / kCols * kCols;
  auto rowBlock = [&](Value r0, int64_t nr) {
    if (fullCols > 0) {
      auto cols = scf::ForOp::create(b, idx(0), idx(fullCols), idx(kCols));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(cols.getBody());
      tile(r0, nr, cols.getInductionVar(), kCols);
    }
    for (int64_t o = fullCols; o < out; ++o) // static remainder of outputs
      tile(r0, nr, idx(o), 1);
  };
  forRowBlocks(rows, kRows, rowBlock);
  lowered[op.getResult()] = like(x, y);
}

void Lowering::lowerElementwise(Operation *op) {
  const Buffers &x = lowered[op->getOperand(0)];
  // Rows of any kind, and (for summed parameter gradients) whole tensors of
  // rank 1 or 2.
  auto type = cast<MemRefType>(x.values.getType());
  Value rows = rowsOf(x.values);
  Value y;
  if (type.hasStaticShape()) {
    y = memref::AllocOp::create(b, type);
    allocs.push_back(y);
  } else {
    y = alloc(f32(), type.getShape().drop_front(), rows);
  }
  auto apply = [&](ValueRange at) {
    Value a = load(x.values, at), v;
    if (isa<SiluOp>(op))
      v = silu(a);
    else if (isa<AddOp>(op))
      v = arith::AddFOp::create(b, a, load(lowered[op->getOperand(1)].values, at));
    else
      v = arith::MulFOp::create(b, a, load(lowered[op->getOperand(1)].values, at));
    store(v, y, at);
  };
  loop(idx(0), rows, [&](Value r) {
    if (type.getRank() == 1)
      return apply({r});
    loop(idx(0), dim(x.values, 1), [&](Value k) { apply({r, k}); });
  });
  lowered[op->getResult(0)] = like(x, y);
}

void Lowering::lowerConcat(ConcatOp op) {
  const Buffers &first = lowered[op.getInputs().front()];
  Value rows = rowsOf(first.values);
  int64_t width = getRowShape(op.getType())[0];
  Value y = alloc(f32(), {width}, rows);
  int64_t offset = 0;
  for (Value in : op.getInputs()) {
    int64_t w = getRowShape(in.getType())[0];
    Value src = lowered[in].values;
    loop(idx(0), rows, [&](Value r) {
      loop(idx(0), idx(w), [&](Value k) { store(load(src, {r, k}), y, {r, add(k, idx(offset))}); });
    });
    offset += w;
  }
  lowered[op.getResult()] = like(first, y);
}

void Lowering::lowerColumnSlice(ColumnSliceOp op) {
  const Buffers &x = lowered[op.getInput()];
  int64_t size = op.getSizeAttr().getInt(), offset = op.getOffsetAttr().getInt();
  Value rows = rowsOf(x.values);
  Value y = alloc(f32(), {size}, rows);
  loop(idx(0), rows, [&](Value r) {
    loop(idx(0), idx(size), [&](Value k) { store(load(x.values, {r, add(k, idx(offset))}), y, {r, k}); });
  });
  lowered[op.getResult()] = like(x, y);
}

void Lowering::lowerStack(StackOp op) {
  int64_t n = op.getInputs().size(), width = getRowShape(op.getInputs().front().getType())[0];
  Value rows = rowsOf(lowered[op.getInputs().front()].values);
  Value y = alloc(f32(), {n, width}, rows);
  for (auto [t, in] : llvm::enumerate(op.getInputs())) {
    Value src = lowered[in].values;
    Value ti = idx(t);
    loop(idx(0), rows, [&](Value r) {
      loop(idx(0), idx(width), [&](Value k) { store(load(src, {r, k}), y, {r, ti, k}); });
    });
  }
  lowered[op.getResult()] = Buffers{y, {}};
}

void Lowering::lowerMeanPool(MeanPoolOp op) {
  const Buffers &x = lowered[op.getInput()];
  int64_t width = getRowShape(op.getInput().getType())[0];
  Value B = samplesOf(x);
  Value y = alloc(f32(), {width}, B);
  loop(idx(0), B, [&](Value s) {
    Value lo = load(x.offsets, {s}), hi = load(x.offsets, {add(s, idx(1))});
    // An empty history pools to zeros (max(1, n) avoids 0/0).
    Value n = toF32(maxI(sub(hi, lo), idx(1)));
    loop(idx(0), idx(width), [&](Value k) {
      Value sum = loopAcc(lo, hi, cf32(0.0), [&](Value r, Value acc) {
        return arith::AddFOp::create(b, acc, load(x.values, {r, k}));
      });
      store(fdiv(sum, n), y, {s, k});
    });
  });
  lowered[op.getResult()] = Buffers{y, {}};
}

void Lowering::lowerBroadcastRows(BroadcastRowsOp op) {
  Value ctx = lowered[op.getInput()].values;
  const Buffers &like_ = lowered[op.getLike()];
  int64_t width = getRowShape(op.getInput().getType())[0];
  Value B = samplesOf(like_);
  Value rows = load(like_.offsets, {B});
  Value y = alloc(f32(), {width}, rows);
  loop(idx(0), B, [&](Value s) {
    loop(load(like_.offsets, {s}), load(like_.offsets, {add(s, idx(1))}), [&](Value r) {
      loop(idx(0), idx(width), [&](Value k) { store(load(ctx, {s, k}), y, {r, k}); });
    });
  });
  lowered[op.getResult()] = Buffers{y, like_.offsets};
}

void Lowering::lowerAssemble(AssembleTokensOp op) {
  Value u = lowered[op.getUser()].values;
  const Buffers &S = lowered[op.getSequence()], &R = lowered[op.getRealtime()],
                &C = lowered[op.getCandidate()];
  Value tS = lowered[op.getSequenceTimes()].values, tR = lowered[op.getRealtimeTimes()].values,
        tC = lowered[op.getCandidateTimes()].values;
  auto ut = cast<MemRefType>(u.getType());
  int64_t nU = ut.getDimSize(1), d = ut.getDimSize(2);
  Value B = samplesOf(C);
  Value tokOff = alloc(b.getIndexType(), {}, add(B, idx(1)));
  Value seg = alloc(b.getIndexType(), {4}, B);
  store(idx(0), tokOff, {idx(0)});
  auto count = [&](const Buffers &x, Value s) {
    return sub(load(x.offsets, {add(s, idx(1))}), load(x.offsets, {s}));
  };
  loop(idx(0), B, [&](Value s) {
    Value start = load(tokOff, {s});
    Value sStart = add(start, idx(nU)), rStart = add(sStart, count(S, s)),
          cStart = add(rStart, count(R, s));
    store(start, seg, {s, idx(0)});
    store(sStart, seg, {s, idx(1)});
    store(rStart, seg, {s, idx(2)});
    store(cStart, seg, {s, idx(3)});
    store(add(cStart, count(C, s)), tokOff, {add(s, idx(1))});
  });
  Value N = load(tokOff, {B});
  Value x = alloc(f32(), {d}, N);
  Value group = alloc(b.getIndexType(), {}, N), time = alloc(i64(), {}, N),
        pos = alloc(b.getIndexType(), {}, N);
  Value zero64 = arith::ConstantIntOp::create(b, i64(), 0);
  loop(idx(0), B, [&](Value s) {
    Value start = load(seg, {s, idx(0)});
    // U: one token per feature, no timestamp.
    loop(idx(0), idx(nU), [&](Value f) {
      Value row = add(start, f);
      loop(idx(0), idx(d), [&](Value k) { store(load(u, {s, f, k}), x, {row, k}); });
      store(idx(0), group, {row});
      store(zero64, time, {row});
      store(f, pos, {row});
    });
    // S, R, C rows in order; pos is the index within U|S|R, and a candidate
    // takes nU + nS + #{R_j : t_j < t_c} (DESIGN 1.3).
    struct Part {
      const Buffers &rows;
      Value times;
      int64_t groupId;
    };
    for (Part p : {Part{S, tS, 1}, Part{R, tR, 2}, Part{C, tC, 3}}) {
      Value lo = load(p.rows.offsets, {s}), hi = load(p.rows.offsets, {add(s, idx(1))});
      Value base = load(seg, {s, idx(p.groupId)});
      loop(lo, hi, [&](Value r) {
        Value row = add(base, sub(r, lo));
        loop(idx(0), idx(d), [&](Value k) { store(load(p.rows.values, {r, k}), x, {row, k}); });
        store(idx(p.groupId), group, {row});
        Value t = load(p.times, {r});
        store(t, time, {row});
        Value local = sub(row, start);
        if (p.groupId != 3) {
          store(local, pos, {row});
          return;
        }
        Value r0 = load(R.offsets, {s}), r1 = load(R.offsets, {add(s, idx(1))});
        Value before = loopAcc(r0, r1, idx(0), [&](Value j, Value acc) {
          Value earlier = cmp(arith::CmpIPredicate::slt, load(tR, {j}), t);
          return add(acc, select(earlier, idx(1), idx(0)));
        });
        store(add(idx(nU), add(count(S, s), before)), pos, {row});
      });
    }
  });
  Buffers tokens{x, tokOff};
  lowered[op.getTokens()] = tokens;
  Buffers layout{{}, tokOff, seg, group, time, pos};
  lowered[op.getLayout()] = layout;
}

void Lowering::lowerExtractGroup(ExtractGroupOp op) {
  const Buffers &x = lowered[op.getInput()];
  const Buffers &l = lowered[op.getLayout()];
  int64_t g = static_cast<int64_t>(op.getGroup());
  int64_t d = getRowShape(op.getType())[0];
  Value B = samplesOf(l);
  Value off = alloc(b.getIndexType(), {}, add(B, idx(1)));
  store(idx(0), off, {idx(0)});
  auto groupEnd = [&](Value s) {
    return g == 3 ? load(l.offsets, {add(s, idx(1))}) : load(l.segStarts, {s, idx(g + 1)});
  };
  loop(idx(0), B, [&](Value s) {
    Value n = sub(groupEnd(s), load(l.segStarts, {s, idx(g)}));
    store(add(load(off, {s}), n), off, {add(s, idx(1))});
  });
  Value y = alloc(f32(), {d}, load(off, {B}));
  loop(idx(0), B, [&](Value s) {
    Value lo = load(l.segStarts, {s, idx(g)});
    Value dstBase = load(off, {s});
    loop(lo, groupEnd(s), [&](Value r) {
      Value row = add(dstBase, sub(r, lo));
      loop(idx(0), idx(d), [&](Value k) { store(load(x.values, {r, k}), y, {row, k}); });
    });
  });
  lowered[op.getResult()] = Buffers{y, off};
}

void Lowering::lowerBuildMask(BuildMaskOp op) {
  const Buffers &l = lowered[op.getLayout()];
  Value B = samplesOf(l);
  Value N = load(l.offsets, {B});
  Value m = alloc(b.getI32Type(), {3, 2}, N);
  MaskKind kind = op.getKind();
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.segStarts, {s, idx(0)});
    Value nU = sub(load(l.segStarts, {s, idx(1)}), start);
    Value rStart = sub(load(l.segStarts, {s, idx(2)}), start); // local
    Value cStart = sub(load(l.segStarts, {s, idx(3)}), start); // local = P
    Value end = load(l.offsets, {add(s, idx(1))});
    loop(start, end, [&](Value row) {
      Value i = sub(row, start);
      Value g = load(l.group, {row});
      Value isC = cmp(arith::CmpIPredicate::eq, g, idx(3));
      Value isR = cmp(arith::CmpIPredicate::eq, g, idx(2));
      Value isU = cmp(arith::CmpIPredicate::eq, g, idx(0));
      Value iPlus1 = add(i, idx(1)), zero = idx(0), P = cStart;
      Value iv[6];
      switch (kind) {
      case MaskKind::causal:
        iv[0] = zero, iv[1] = iPlus1, iv[2] = iv[3] = iv[4] = iv[5] = zero;
        break;
      case MaskKind::causal_targets:
        iv[0] = zero, iv[1] = select(isC, P, iPlus1);
        iv[2] = select(isC, i, zero), iv[3] = select(isC, iPlus1, zero);
        iv[4] = iv[5] = zero;
        break;
      case MaskKind::contextual:
        // U rows: [0, P). S, R rows: [0, nU) and [nU, i + 1). C: [0, P), [i, i + 1).
        iv[0] = zero;
        iv[1] = select(isC, P, select(isU, P, nU));
        iv[2] = select(isC, i, select(isU, zero, nU));
        iv[3] = select(isC, iPlus1, select(isU, zero, iPlus1));
        iv[4] = iv[5] = zero;
        break;
      default: { // dynamic
        // U, S: [0, nU + nS). R_i: also R_j with t_j <= t_i. C_i: R_j with
        // t_j < t_i, and itself.
        Value t = load(l.time, {row});
        Value rowsR = loopAcc(add(start, rStart), add(start, P), idx(0), [&](Value j, Value acc) {
          Value tj = load(l.time, {j});
          Value seen = select(isR, cmp(arith::CmpIPredicate::sle, tj, t),
                              cmp(arith::CmpIPredicate::slt, tj, t));
          return add(acc, select(seen, idx(1), idx(0)));
        });
        Value rOrC = arith::OrIOp::create(b, isR, isC);
        iv[0] = zero, iv[1] = rStart;
        iv[2] = select(rOrC, rStart, zero), iv[3] = select(rOrC, add(rStart, rowsR), zero);
        iv[4] = select(isC, i, zero), iv[5] = select(isC, iPlus1, zero);
      }
      }
      for (int k = 0; k < 6; ++k)
        store(arith::IndexCastOp::create(b, b.getI32Type(), iv[k]), m,
              {row, idx(k / 2), idx(k % 2)});
    });
  });
  lowered[op.getResult()] = Buffers{m, l.offsets};
}

void Lowering::lowerGroupNorm(GroupLayerNormOp op) {
  const Buffers &x = lowered[op.getInput()];
  const Buffers &l = lowered[op.getLayout()];
  Value gamma = lowered[op.getGamma()].values, beta = lowered[op.getBeta()].values;
  int64_t d = getRowShape(op.getType())[0];
  Value rows = rowsOf(x.values);
  Value y = alloc(f32(), {d}, rows);
  Value eps = cf32(op.getEps().convertToDouble());
  loop(idx(0), rows, [&](Value r) {
    auto [mean, inv] = rowStats(x.values, r, d, eps);
    Value g = load(l.group, {r});
    loop(idx(0), idx(d), [&](Value k) {
      Value c = fmul(fsub(load(x.values, {r, k}), mean), inv);
      store(fadd(fmul(load(gamma, {g, k}), c), load(beta, {g, k})), y, {r, k});
    });
  });
  lowered[op.getResult()] = like(x, y);
}

void Lowering::lowerAttention(HstuAttentionOp op) {
  const Buffers &q = lowered[op.getQ()], &kk = lowered[op.getK()], &v = lowered[op.getV()];
  Value mask = lowered[op.getMask()].values;
  const Buffers &l = lowered[op.getLayout()];
  int64_t h = op.getHeadsAttr().getInt();
  int64_t dqk = getRowShape(op.getQ().getType())[0] / h, dv = getRowShape(op.getV().getType())[0] / h;
  Value alpha = cf32(op.getAlpha().convertToDouble());
  NNorm nNorm = op.getNNorm();
  Value rabPos = op.getRabPos() ? lowered[op.getRabPos()].values : Value();
  Value rabTime = op.getRabTime() ? lowered[op.getRabTime()].values : Value();
  Value B = samplesOf(l);
  Value N = load(l.offsets, {B});
  Value o = alloc(f32(), {h * dv}, N);
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.offsets, {s}), end = load(l.offsets, {add(s, idx(1))});
    loop(start, end, [&](Value row) {
      // n_norm(i): the sample's length, the row's attended columns, or a constant.
      Value invNorm =
          fdiv(cf32(1.0), attentionNorm(nNorm, op.getNNormConstant(), mask, row, start, end));
      loop(idx(0), idx(h * dv), [&](Value c) { store(cf32(0.0), o, {row, c}); });
      Value gi = load(l.group, {row});
      Value ti = load(l.time, {row}), pi = load(l.pos, {row});
      for (int k = 0; k < 3; ++k) {
        auto [lo, hi] = maskInterval(mask, row, k, start);
        loop(lo, hi, [&](Value col) {
          Value bias = rabPos ? rabTerms(l, rabPos, rabTime, gi, ti, pi, col).bias : cf32(0.0);
          for (int64_t hd = 0; hd < h; ++hd) {
            Value dot = loopAcc(idx(0), idx(dqk), cf32(0.0), [&](Value c, Value acc) {
              Value qc = add(c, idx(hd * dqk));
              return fadd(acc, fmul(load(q.values, {row, qc}), load(kk.values, {col, qc})));
            });
            Value a = fmul(silu(fadd(fmul(alpha, dot), bias)), invNorm);
            loop(idx(0), idx(dv), [&](Value c) {
              Value vc = add(c, idx(hd * dv));
              store(fadd(load(o, {row, vc}), fmul(a, load(v.values, {col, vc}))), o, {row, vc});
            });
          }
        });
      }
    });
  });
  lowered[op.getResult()] = Buffers{o, l.offsets};
}

void Lowering::copy(Value src, Value dst) {
  int64_t rank = cast<MemRefType>(src.getType()).getRank();
  loop(idx(0), dim(src, 0), [&](Value r) {
    if (rank == 1)
      return store(load(src, {r}), dst, {r});
    loop(idx(0), dim(src, 1), [&](Value k) { store(load(src, {r, k}), dst, {r, k}); });
  });
}

LogicalResult Lowering::lowerReturn(func::ReturnOp op) {
  // Each result goes to a caller-allocated output buffer, named by its
  // `mtgr.output` attribute: a task's logits, the loss, a parameter's or an
  // embedding lookup's gradient.
  for (auto [i, v] : llvm::enumerate(op.getOperands())) {
    auto nameAttr = src.getResultAttrOfType<StringAttr>(i, "mtgr.output");
    auto role = src.getResultAttrOfType<DictionaryAttr>(i, kRoleAttr);
    if (!nameAttr || !role || !role.getAs<StringAttr>("kind"))
      return src.emitError("result ") << i << " lacks its mtgr.output name or typed " << kRoleAttr;
    StringRef name = nameAttr.getValue();
    StringRef kind = role.getAs<StringAttr>("kind").getValue();
    Value buffer = lowered[v].values;
    auto type = cast<MemRefType>(buffer.getType());
    copy(buffer, addArg(type, specFor(kind == "grad" ? "param_grad" : kind, role, name)));
  }
  // The final hidden state of every token: the input of extract_group.
  if (src.getName() == "forward")
    src.walk([&](ExtractGroupOp g) {
      Value x = lowered[g.getInput()].values;
      copy(x, addArg(x.getType(), spec("hidden", "hidden")));
    });
  for (Value m : allocs)
    memref::DeallocOp::create(b, m);
  func::ReturnOp::create(b);
  return success();
}

void Lowering::lowerBceLoss(BceLossOp op) {
  // sum_t w_t sum_c BCEWithLogits(l, y) / C_expected (DESIGN 1.6), with
  // BCEWithLogits(l, y) = max(l, 0) - l y + log(1 + exp(-|l|)).
  Value out = alloc(f32(), {}, idx(1));
  Value total = cf32(0.0);
  for (auto [t, l, y] : llvm::enumerate(op.getLogits(), op.getLabels())) {
    Value logits = lowered[l].values, labels = lowered[y].values;
    double w = cast<FloatAttr>(op.getTaskWeights()[t]).getValueAsDouble();
    Value sum = loopAcc(idx(0), rowsOf(logits), cf32(0.0), [&](Value r, Value acc) {
      Value x = load(logits, {r, idx(0)}), lab = load(labels, {r, idx(0)});
      Value pos = arith::MaximumFOp::create(b, x, cf32(0.0));
      Value soft = math::Log1pOp::create(
          b, math::ExpOp::create(b, arith::NegFOp::create(b, math::AbsFOp::create(b, x))));
      return fadd(acc, fadd(fsub(pos, fmul(x, lab)), soft));
    });
    total = fadd(total, fmul(cf32(w), sum));
  }
  store(fdiv(total, cf32(op.getNormalizer().convertToDouble())), out, {idx(0)});
  lowered[op.getLoss()] = Buffers{out, {}};
}

void Lowering::lowerBceLossBackward(BceLossBackwardOp op) {
  Value norm = cf32(op.getNormalizer().convertToDouble());
  for (auto [t, l, y, g] :
       llvm::enumerate(op.getLogits(), op.getLabels(), op.getLogitGrads())) {
    const Buffers &logits = lowered[l];
    Value labels = lowered[y].values;
    Value w = cf32(cast<FloatAttr>(op.getTaskWeights()[t]).getValueAsDouble());
    Value rows = rowsOf(logits.values);
    Value d = alloc(f32(), {1}, rows);
    loop(idx(0), rows, [&](Value r) {
      Value x = load(logits.values, {r, idx(0)});
      Value sig = fdiv(cf32(1.0), arith::AddFOp::create(
                                      b, cf32(1.0), math::ExpOp::create(b, arith::NegFOp::create(b, x))));
      store(fdiv(fmul(w, fsub(sig, load(labels, {r, idx(0)}))), norm), d, {r, idx(0)});
    });
    lowered[g] = like(logits, d);
  }
}

void Lowering::lowerLinearBackward(LinearBackwardOp op) {
  const Buffers &x = lowered[op.getInput()];
  Value weight = lowered[op.getWeight()].values, dy = lowered[op.getResultGrad()].values;
  auto wt = cast<MemRefType>(weight.getType());
  int64_t out = wt.getDimSize(0), in = wt.getDimSize(1);
  Value rows = rowsOf(x.values);
  Value dx = alloc(f32(), {in}, rows);
  Value dw = memref::AllocOp::create(b, MemRefType::get({out, in}, f32()));
  Value db = memref::AllocOp::create(b, MemRefType::get({out}, f32()));
  allocs.push_back(dw);
  allocs.push_back(db);
  loop(idx(0), idx(out), [&](Value o) {
    store(cf32(0.0), db, {o});
    loop(idx(0), idx(in), [&](Value i) { store(cf32(0.0), dw, {o, i}); });
  });
  // Rows in blocks of kRows: each row of W and of dW is streamed once per
  // block rather than once per row (for a large layer both exceed the cache).
  constexpr int64_t kRows = 4;
  auto block = [&](Value r0, int64_t nr) {
    SmallVector<Value> r;
    for (int64_t a = 0; a < nr; ++a)
      r.push_back(add(r0, idx(a)));
    // dx[r, i] = sum_o dy[r, o] W[o, i]
    for (Value row : r)
      loop(idx(0), idx(in), [&](Value i) { store(cf32(0.0), dx, {row, i}); });
    loop(idx(0), idx(out), [&](Value o) {
      SmallVector<Value> g;
      for (Value row : r)
        g.push_back(load(dy, {row, o}));
      loop(idx(0), idx(in), [&](Value i) {
        Value w = load(weight, {o, i});
        for (auto [row, gr] : llvm::zip(r, g))
          store(fadd(load(dx, {row, i}), fmul(gr, w)), dx, {row, i});
      });
      // dW[o, i] += sum_r dy[r, o] x[r, i]; db[o] += sum_r dy[r, o]
      Value gsum = load(db, {o});
      for (Value gr : g)
        gsum = fadd(gsum, gr);
      store(gsum, db, {o});
      loop(idx(0), idx(in), [&](Value i) {
        Value acc = load(dw, {o, i});
        for (auto [row, gr] : llvm::zip(r, g))
          acc = fadd(acc, fmul(gr, load(x.values, {row, i})));
        store(acc, dw, {o, i});
      });
    });
  };
  forRowBlocks(rows, kRows, block);
  lowered[op.getInputGrad()] = like(x, dx);
  lowered[op.getWeightGrad()] = Buffers{dw, {}};
  lowered[op.getBiasGrad()] = Buffers{db, {}};
}

void Lowering::lowerSiluBackward(SiluBackwardOp op) {
  const Buffers &x = lowered[op.getInput()];
  Value dy = lowered[op.getResultGrad()].values;
  int64_t width = getRowShape(op.getInput().getType())[0];
  Value rows = rowsOf(x.values);
  Value dx = alloc(f32(), {width}, rows);
  loop(idx(0), rows, [&](Value r) {
    loop(idx(0), idx(width), [&](Value k) {
      Value v = load(x.values, {r, k});
      Value s = fdiv(cf32(1.0), arith::AddFOp::create(
                                    b, cf32(1.0), math::ExpOp::create(b, arith::NegFOp::create(b, v))));
      // silu'(v) = s (1 + v (1 - s))
      Value grad = fmul(s, fadd(cf32(1.0), fmul(v, fsub(cf32(1.0), s))));
      store(fmul(load(dy, {r, k}), grad), dx, {r, k});
    });
  });
  lowered[op.getInputGrad()] = like(x, dx);
}

void Lowering::lowerColumnPad(ColumnPadOp op) {
  const Buffers &x = lowered[op.getInput()];
  int64_t in = getRowShape(op.getInput().getType())[0], width = op.getWidthAttr().getInt();
  int64_t offset = op.getOffsetAttr().getInt();
  Value rows = rowsOf(x.values);
  Value y = alloc(f32(), {width}, rows);
  loop(idx(0), rows, [&](Value r) {
    loop(idx(0), idx(width), [&](Value k) { store(cf32(0.0), y, {r, k}); });
    loop(idx(0), idx(in), [&](Value k) { store(load(x.values, {r, k}), y, {r, add(k, idx(offset))}); });
  });
  lowered[op.getResult()] = like(x, y);
}

void Lowering::lowerSegmentSum(SegmentSumOp op) {
  const Buffers &x = lowered[op.getInput()];
  int64_t width = getRowShape(op.getInput().getType())[0];
  Value B = samplesOf(x);
  Value y = alloc(f32(), {width}, B);
  loop(idx(0), B, [&](Value s) {
    Value lo = load(x.offsets, {s}), hi = load(x.offsets, {add(s, idx(1))});
    loop(idx(0), idx(width), [&](Value k) {
      store(loopAcc(lo, hi, cf32(0.0), [&](Value r, Value acc) {
              return arith::AddFOp::create(b, acc, load(x.values, {r, k}));
            }),
            y, {s, k});
    });
  });
  lowered[op.getResult()] = Buffers{y, {}};
}

void Lowering::lowerMeanPoolBackward(MeanPoolBackwardOp op) {
  const Buffers &x = lowered[op.getInput()];
  Value dm = lowered[op.getResultGrad()].values;
  int64_t width = getRowShape(op.getInput().getType())[0];
  Value B = samplesOf(x);
  Value dx = alloc(f32(), {width}, rowsOf(x.values));
  loop(idx(0), B, [&](Value s) {
    Value lo = load(x.offsets, {s}), hi = load(x.offsets, {add(s, idx(1))});
    Value n = toF32(maxI(sub(hi, lo), idx(1)));
    loop(lo, hi, [&](Value r) {
      loop(idx(0), idx(width), [&](Value k) { store(fdiv(load(dm, {s, k}), n), dx, {r, k}); });
    });
  });
  lowered[op.getInputGrad()] = like(x, dx);
}

Lowering::Rab Lowering::rabTerms(const Buffers &l, Value rabPos, Value rabTime, Value gi,
                                 Value ti, Value pi, Value col) {
  int64_t pmax = (cast<MemRefType>(rabPos.getType()).getDimSize(0) - 1) / 2;
  int64_t nb = cast<MemRefType>(rabTime.getType()).getDimSize(0);
  Rab r;
  Value dpos = maxI(minI(sub(load(l.pos, {col}), pi), idx(pmax)), idx(-pmax));
  r.posIndex = add(dpos, idx(pmax));
  Value dt = math::AbsIOp::create(b, arith::SubIOp::create(b, ti, load(l.time, {col})));
  Value one = arith::ConstantIntOp::create(b, i64(), 1);
  Value lg = math::LogOp::create(
      b, arith::SIToFPOp::create(b, f64(), arith::MaxSIOp::create(b, dt, one)));
  Value bucketF = math::FloorOp::create(b, arith::DivFOp::create(b, lg, cf64(0.301)));
  r.bucket = minI(arith::IndexCastOp::create(b, b.getIndexType(),
                                             arith::FPToSIOp::create(b, i64(), bucketF)),
                  idx(nb - 1));
  r.bothTimed = arith::AndIOp::create(b, cmp(arith::CmpIPredicate::ne, gi, idx(0)),
                                      cmp(arith::CmpIPredicate::ne, load(l.group, {col}), idx(0)));
  r.bias = arith::AddFOp::create(b, load(rabPos, {r.posIndex}),
                                 select(r.bothTimed, load(rabTime, {r.bucket}), cf32(0.0)));
  return r;
}

Value Lowering::attentionNorm(NNorm mode, std::optional<APFloat> constant, Value mask, Value row,
                              Value start, Value end) {
  if (mode == NNorm::total)
    return toF32(sub(end, start));
  if (mode == NNorm::constant)
    return cf32(constant->convertToDouble());
  Value cols = idx(0);
  for (int k = 0; k < 3; ++k) {
    Value lo = arith::IndexCastOp::create(b, b.getIndexType(), load(mask, {row, idx(k), idx(0)}));
    Value hi = arith::IndexCastOp::create(b, b.getIndexType(), load(mask, {row, idx(k), idx(1)}));
    cols = add(cols, sub(hi, lo));
  }
  return toF32(cols);
}

void Lowering::lowerAttentionBackward(HstuAttentionBackwardOp op) {
  const Buffers &q = lowered[op.getQ()], &kk = lowered[op.getK()], &v = lowered[op.getV()];
  Value mask = lowered[op.getMask()].values, dO = lowered[op.getResultGrad()].values;
  const Buffers &l = lowered[op.getLayout()];
  int64_t h = op.getHeadsAttr().getInt();
  int64_t dqk = getRowShape(op.getQ().getType())[0] / h, dv = getRowShape(op.getV().getType())[0] / h;
  Value alpha = cf32(op.getAlpha().convertToDouble());
  Value rabPos = op.getRabPos() ? lowered[op.getRabPos()].values : Value();
  Value rabTime = op.getRabTime() ? lowered[op.getRabTime()].values : Value();
  Value B = samplesOf(l), N = load(l.offsets, {B});
  Value dq = alloc(f32(), {h * dqk}, N), dk = alloc(f32(), {h * dqk}, N),
        dvb = alloc(f32(), {h * dv}, N);
  loop(idx(0), N, [&](Value r) {
    loop(idx(0), idx(h * dqk), [&](Value c) {
      store(cf32(0.0), dq, {r, c});
      store(cf32(0.0), dk, {r, c});
    });
    loop(idx(0), idx(h * dv), [&](Value c) { store(cf32(0.0), dvb, {r, c}); });
  });
  Value dP, dT;
  if (rabPos) {
    auto zeros = [&](Value like) {
      auto t = cast<MemRefType>(like.getType());
      Value m = memref::AllocOp::create(b, t);
      allocs.push_back(m);
      loop(idx(0), idx(t.getDimSize(0)), [&](Value i) { store(cf32(0.0), m, {i}); });
      return m;
    };
    dP = zeros(rabPos);
    dT = zeros(rabTime);
  }
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.offsets, {s}), end = load(l.offsets, {add(s, idx(1))});
    loop(start, end, [&](Value row) {
      Value invNorm = fdiv(cf32(1.0), attentionNorm(op.getNNorm(), op.getNNormConstant(), mask,
                                                    row, start, end));
      Value gi = load(l.group, {row}), ti = load(l.time, {row}), pi = load(l.pos, {row});
      for (int k = 0; k < 3; ++k) {
        auto [lo, hi] = maskInterval(mask, row, k, start);
        loop(lo, hi, [&](Value col) {
          Rab rab;
          Value bias = cf32(0.0);
          if (rabPos) {
            rab = rabTerms(l, rabPos, rabTime, gi, ti, pi, col);
            bias = rab.bias;
          }
          Value dsSum = cf32(0.0);
          for (int64_t hd = 0; hd < h; ++hd) {
            Value dot = loopAcc(idx(0), idx(dqk), cf32(0.0), [&](Value c, Value acc) {
              Value qc = add(c, idx(hd * dqk));
              return fadd(acc, fmul(load(q.values, {row, qc}), load(kk.values, {col, qc})));
            });
            Value sc = fadd(fmul(alpha, dot), bias);
            Value sig = fdiv(cf32(1.0), arith::AddFOp::create(
                                            b, cf32(1.0), math::ExpOp::create(b, arith::NegFOp::create(b, sc))));
            Value a = fmul(fmul(sc, sig), invNorm);
            // da = <dO_i, V_j>; dV_j += a dO_i
            Value da = loopAcc(idx(0), idx(dv), cf32(0.0), [&](Value c, Value acc) {
              Value vc = add(c, idx(hd * dv));
              Value g = load(dO, {row, vc});
              store(fadd(load(dvb, {col, vc}), fmul(a, g)), dvb, {col, vc});
              return fadd(acc, fmul(g, load(v.values, {col, vc})));
            });
            // ds = da silu'(s) / n_norm; dQ_i += alpha ds K_j; dK_j += alpha ds Q_i
            Value siluGrad = fmul(sig, fadd(cf32(1.0), fmul(sc, fsub(cf32(1.0), sig))));
            Value ds = fmul(fmul(da, siluGrad), invNorm);
            dsSum = fadd(dsSum, ds);
            Value ads = fmul(alpha, ds);
            loop(idx(0), idx(dqk), [&](Value c) {
              Value qc = add(c, idx(hd * dqk));
              store(fadd(load(dq, {row, qc}), fmul(ads, load(kk.values, {col, qc}))), dq, {row, qc});
              store(fadd(load(dk, {col, qc}), fmul(ads, load(q.values, {row, qc}))), dk, {col, qc});
            });
          }
          if (rabPos) { // the bias is shared by the heads: its gradient sums them
            store(fadd(load(dP, {rab.posIndex}), dsSum), dP, {rab.posIndex});
            Value old = load(dT, {rab.bucket});
            store(select(rab.bothTimed, fadd(old, dsSum), old), dT, {rab.bucket});
          }
        });
      }
    });
  });
  lowered[op.getQGrad()] = Buffers{dq, l.offsets};
  lowered[op.getKGrad()] = Buffers{dk, l.offsets};
  lowered[op.getVGrad()] = Buffers{dvb, l.offsets};
  if (rabPos) {
    lowered[op.getRabGrads()[0]] = Buffers{dP, {}};
    lowered[op.getRabGrads()[1]] = Buffers{dT, {}};
  }
}

void Lowering::lowerUnstack(UnstackOp op) {
  Value x = lowered[op.getInput()].values;
  int64_t width = getRowShape(op.getResults()[0].getType())[0];
  Value rows = rowsOf(x);
  for (auto [t, r] : llvm::enumerate(op.getResults())) {
    Value y = alloc(f32(), {width}, rows);
    Value ti = idx(t);
    loop(idx(0), rows, [&](Value s) {
      loop(idx(0), idx(width), [&](Value k) { store(load(x, {s, ti, k}), y, {s, k}); });
    });
    lowered[r] = Buffers{y, {}};
  }
}

void Lowering::lowerExtractUser(ExtractUserOp op) {
  const Buffers &x = lowered[op.getInput()], &l = lowered[op.getLayout()];
  auto t = cast<RankedTensorType>(op.getType());
  int64_t nU = t.getDimSize(1), d = t.getDimSize(2);
  Value B = samplesOf(l);
  Value y = alloc(f32(), {nU, d}, B);
  loop(idx(0), B, [&](Value s) {
    Value start = load(l.segStarts, {s, idx(0)});
    loop(idx(0), idx(nU), [&](Value f) {
      loop(idx(0), idx(d), [&](Value k) { store(load(x.values, {add(start, f), k}), y, {s, f, k}); });
    });
  });
  lowered[op.getResult()] = Buffers{y, {}};
}

void Lowering::lowerScatterGroup(ScatterGroupOp op) {
  const Buffers &x = lowered[op.getInput()], &l = lowered[op.getLayout()];
  int64_t g = static_cast<int64_t>(op.getGroup()), d = getRowShape(op.getType())[0];
  Value B = samplesOf(l), N = load(l.offsets, {B});
  Value y = alloc(f32(), {d}, N);
  loop(idx(0), N, [&](Value r) {
    loop(idx(0), idx(d), [&](Value k) { store(cf32(0.0), y, {r, k}); });
  });
  loop(idx(0), B, [&](Value s) {
    Value lo = load(l.segStarts, {s, idx(g)});
    Value hi = g == 3 ? load(l.offsets, {add(s, idx(1))}) : load(l.segStarts, {s, idx(g + 1)});
    Value src0 = load(x.offsets, {s});
    loop(lo, hi, [&](Value r) {
      Value from = add(src0, sub(r, lo));
      loop(idx(0), idx(d), [&](Value k) { store(load(x.values, {from, k}), y, {r, k}); });
    });
  });
  lowered[op.getResult()] = Buffers{y, l.offsets};
}

void Lowering::lowerGroupNormBackward(GroupLayerNormBackwardOp op) {
  const Buffers &x = lowered[op.getInput()], &l = lowered[op.getLayout()];
  Value gamma = lowered[op.getGamma()].values, dy = lowered[op.getResultGrad()].values;
  int64_t d = getRowShape(op.getInput().getType())[0];
  Value rows = rowsOf(x.values);
  Value dx = alloc(f32(), {d}, rows);
  Value dg = memref::AllocOp::create(b, MemRefType::get({4, d}, f32()));
  Value db = memref::AllocOp::create(b, MemRefType::get({4, d}, f32()));
  allocs.push_back(dg);
  allocs.push_back(db);
  loop(idx(0), idx(4), [&](Value g) {
    loop(idx(0), idx(d), [&](Value k) {
      store(cf32(0.0), dg, {g, k});
      store(cf32(0.0), db, {g, k});
    });
  });
  Value eps = cf32(op.getEps().convertToDouble()), width = cf32(static_cast<double>(d));
  loop(idx(0), rows, [&](Value r) {
    auto [mean, rstd] = rowStats(x.values, r, d, eps);
    Value g = load(l.group, {r});
    auto xhat = [&](Value k) { return fmul(fsub(load(x.values, {r, k}), mean), rstd); };
    // sum(dxhat) and sum(dxhat * xhat), dxhat = dy * gamma
    Value s1 = loopAcc(idx(0), idx(d), cf32(0.0), [&](Value k, Value acc) {
      return fadd(acc, fmul(load(dy, {r, k}), load(gamma, {g, k})));
    });
    Value s2 = loopAcc(idx(0), idx(d), cf32(0.0), [&](Value k, Value acc) {
      return fadd(acc, fmul(fmul(load(dy, {r, k}), load(gamma, {g, k})), xhat(k)));
    });
    Value m1 = fdiv(s1, width), m2 = fdiv(s2, width);
    loop(idx(0), idx(d), [&](Value k) {
      Value gy = load(dy, {r, k}), xh = xhat(k);
      Value dxhat = fmul(gy, load(gamma, {g, k}));
      store(fmul(rstd, fsub(fsub(dxhat, m1), fmul(xh, m2))), dx, {r, k});
      store(fadd(load(dg, {g, k}), fmul(gy, xh)), dg, {g, k});
      store(fadd(load(db, {g, k}), gy), db, {g, k});
    });
  });
  lowered[op.getInputGrad()] = like(x, dx);
  lowered[op.getGammaGrad()] = Buffers{dg, {}};
  lowered[op.getBetaGrad()] = Buffers{db, {}};
}

void Lowering::lowerDropout(DropoutOp op) {
  const Buffers &x = lowered[op.getInput()];
  double rate = op.getRate().convertToDouble();
  if (src.getName() != "train_step" || rate == 0.0) { // inference: the identity
    lowered[op.getResult()] = x;
    return;
  }
  trainingCounter(); // creates the {seed, step, first token} argument
  // keep iff uniform(key) >= rate, key = (seed, step, stream, token, column),
  // the counter-based stream of DESIGN 1.3 (reference::dropoutKeeps).
  auto constant = [&](uint64_t v) {
    return arith::ConstantIntOp::create(b, i64(), static_cast<int64_t>(v)).getResult();
  };
  auto mix = [&](Value z) {
    z = arith::AddIOp::create(b, z, constant(0x9e3779b97f4a7c15ULL));
    z = arith::MulIOp::create(b, arith::XOrIOp::create(b, z, arith::ShRUIOp::create(b, z, constant(30))),
                              constant(0xbf58476d1ce4e5b9ULL));
    z = arith::MulIOp::create(b, arith::XOrIOp::create(b, z, arith::ShRUIOp::create(b, z, constant(27))),
                              constant(0x94d049bb133111ebULL));
    return arith::XOrIOp::create(b, z, arith::ShRUIOp::create(b, z, constant(31))).getResult();
  };
  Value seed = load(rngState, {idx(0)}), step = load(rngState, {idx(1)});
  Value base = mix(arith::XOrIOp::create(
      b, mix(arith::XOrIOp::create(b, mix(seed), step)), constant(op.getStreamAttr().getInt())));
  int64_t width = getRowShape(op.getType())[0];
  Value rows = rowsOf(x.values);
  Value y = alloc(f32(), {width}, rows);
  Value keepScale = cf32(1.0 / (1.0 - rate));
  loop(idx(0), rows, [&](Value r) {
    Value token = add(arith::IndexCastOp::create(b, b.getIndexType(), load(rngState, {idx(2)})), r);
    Value hr = mix(arith::XOrIOp::create(b, base, arith::IndexCastOp::create(b, i64(), token)));
    loop(idx(0), idx(width), [&](Value c) {
      Value h = mix(arith::XOrIOp::create(b, hr, arith::IndexCastOp::create(b, i64(), c)));
      Value u = arith::MulFOp::create(
          b, arith::UIToFPOp::create(b, f64(), arith::ShRUIOp::create(b, h, constant(11))),
          cf64(0x1.0p-53));
      Value keep = arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, u, cf64(rate));
      store(select(keep, arith::MulFOp::create(b, load(x.values, {r, c}), keepScale), cf32(0.0)), y,
            {r, c});
    });
  });
  lowered[op.getResult()] = like(x, y);
}
} // namespace

LogicalResult mlir::mtgr::lowerForwardToLoops(ModuleOp module) {
  if (!module.lookupSymbol<func::FuncOp>("forward"))
    return module.emitError("no @forward function to lower");
  module.getContext()->loadDialect<arith::ArithDialect, math::MathDialect, memref::MemRefDialect,
                                   scf::SCFDialect>();
  OpBuilder top(module.getContext());
  top.setInsertionPointToEnd(module.getBody());
  SmallVector<Operation *> lowered;
  for (StringRef name : {"forward", "train_step", "apply_update"}) {
    auto src = module.lookupSymbol<func::FuncOp>(name);
    if (!src)
      continue;
    for (Operation &op : src.getBody().front())
      if (op.hasTrait<ModelLevel>())
        return op.emitError("model-level op: run mtgr-decompose-layers before lowering");
    auto dst = func::FuncOp::create(top, src.getLoc(), ("mtgr_" + name).str(),
                                    top.getFunctionType({}, {}));
    dst.addEntryBlock();
    if (failed(Lowering(src, dst).run()))
      return failure();
    lowered.push_back(dst);
  }
  // What is left is the model-level description: keep only the lowered code.
  SmallVector<Operation *> erase;
  for (Operation &op : *module.getBody())
    if (!llvm::is_contained(lowered, &op))
      erase.push_back(&op);
  for (Operation *op : erase)
    op->erase();
  return success();
}

Value Lowering::biasCorrection(double beta) {
  Value t = arith::SIToFPOp::create(b, f64(), arith::AddIOp::create(b, trainingCounter(), arith::ConstantIntOp::create(b, i64(), 1)));
  // beta^t = exp(t ln beta): ln beta is a constant (no pow in the host code).
  Value power = math::ExpOp::create(b, arith::MulFOp::create(b, t, cf64(std::log(beta))));
  return arith::SubFOp::create(b, cf64(1.0), power);
}

Value Lowering::adamStep(Value g, Value m, Value v, ValueRange at, double beta1, double beta2,
                         double lr, double eps, Value bc1, Value bc2) {
  auto mul = [&](Value x, Value y) { return arith::MulFOp::create(b, x, y).getResult(); };
  auto plus = [&](Value x, Value y) { return arith::AddFOp::create(b, x, y).getResult(); };
  auto div = [&](Value x, Value y) { return arith::DivFOp::create(b, x, y).getResult(); };
  Value mk = plus(mul(cf64(beta1), arith::ExtFOp::create(b, f64(), load(m, at))),
                  mul(cf64(1 - beta1), g));
  Value vk = plus(mul(cf64(beta2), arith::ExtFOp::create(b, f64(), load(v, at))),
                  mul(cf64(1 - beta2), mul(g, g)));
  store(arith::TruncFOp::create(b, f32(), mk), m, at);
  store(arith::TruncFOp::create(b, f32(), vk), v, at);
  Value denom = plus(math::SqrtOp::create(b, div(vk, bc2)), cf64(eps));
  return mul(cf64(lr), div(div(mk, bc1), denom));
}

void Lowering::lowerAdamUpdate(AdamUpdateOp op) {
  // PyTorch's Adam / AdamW on every element, in place (DESIGN 1.8).
  auto type = cast<RankedTensorType>(op.getGrad().getType());
  Value param = paramArg(op.getParam(), type.getShape());
  Value grad = lowered[op.getGrad()].values;
  Value m = stateArg(op.getParam(), "m", type.getShape());
  Value v = stateArg(op.getParam(), "v", type.getShape());
  double lr = op.getLr().convertToDouble(), wd = op.getWeightDecay().convertToDouble();
  double beta1 = op.getBeta1().convertToDouble(), beta2 = op.getBeta2().convertToDouble();
  Value bc1 = biasCorrection(beta1), bc2 = biasCorrection(beta2);
  auto update = [&](ValueRange at) {
    Value p = arith::ExtFOp::create(b, f64(), load(param, at));
    Value g = arith::ExtFOp::create(b, f64(), load(grad, at));
    if (wd != 0 && op.getDecoupled()) // AdamW: p -= lr wd p
      p = arith::SubFOp::create(b, p, arith::MulFOp::create(b, cf64(lr * wd), p));
    else if (wd != 0) // Adam: L2 on the gradient
      g = arith::AddFOp::create(b, g, arith::MulFOp::create(b, cf64(wd), p));
    Value stepValue = adamStep(g, m, v, at, beta1, beta2, lr, op.getEps().convertToDouble(), bc1, bc2);
    store(arith::TruncFOp::create(b, f32(), arith::SubFOp::create(b, p, stepValue)), param, at);
  };
  if (type.getRank() == 1)
    loop(idx(0), idx(type.getDimSize(0)), [&](Value i) { update({i}); });
  else
    loop(idx(0), idx(type.getDimSize(0)), [&](Value i) {
      loop(idx(0), idx(type.getDimSize(1)), [&](Value j) { update({i, j}); });
    });
}

LogicalResult Lowering::lowerSparseUpdate(SparseUpdateOp op) {
  // The runtime maps ids to rows (hashing, dynamic tables) and deduplicates
  // them: `unique_rows` lists the touched rows, a `row_index` per lookup gives
  // each id's position in it. Here: sum the gradients per touched row, then
  // one optimiser step per row.
  auto table = SymbolTable::lookupNearestSymbolFrom<TableOp>(op, op.getTableAttr());
  int64_t rows = table.getRowsAttr().getInt(), d = table.getDimAttr().getInt();
  std::string name = ("tables." + op.getTable() + ".weight").str();
  Value weight = paramArg(name, {rows, d});
  Value unique = addArg(rowsType(i64(), {}), spec("unique_rows", name, op.getTable()));
  Value touched = dim(unique, 0);
  Value sum = alloc(f64(), {d}, touched);
  loop(idx(0), touched, [&](Value u) {
    loop(idx(0), idx(d), [&](Value k) { store(cf64(0.0), sum, {u, k}); });
  });
  for (auto [ids, grads] : llvm::zip(op.getIds(), op.getGrads())) {
    BlockArgument arg = embeddingIdsArgument(op, ids);
    if (!arg)
      return failure();
    auto [input, role] = argIdentity(arg);
    Value index = addArg(rowsType(i64(), {}), specFor("row_index", role, input, op.getTable()));
    Value g = lowered[grads].values;
    loop(idx(0), dim(index, 0), [&](Value r) {
      Value u = arith::IndexCastOp::create(b, b.getIndexType(), load(index, {r}));
      loop(idx(0), idx(d), [&](Value k) {
        Value acc = arith::AddFOp::create(b, load(sum, {u, k}),
                                          arith::ExtFOp::create(b, f64(), load(g, {r, k})));
        store(acc, sum, {u, k});
      });
    });
  }
  double lr = op.getLr().convertToDouble(), eps = op.getEps().convertToDouble();
  auto rowOf = [&](Value u) {
    return arith::IndexCastOp::create(b, b.getIndexType(), load(unique, {u})).getResult();
  };
  auto applyStep = [&](Value row, Value k, Value stepValue) {
    Value w = arith::ExtFOp::create(b, f64(), load(weight, {row, k}));
    store(arith::TruncFOp::create(b, f32(), arith::SubFOp::create(b, w, stepValue)), weight,
          {row, k});
  };
  if (op.getOptimizer() == SparseOptimizer::rowwise_adagrad) {
    // G += mean(g^2); w -= lr g / (sqrt(G) + eps).
    Value accumulator = stateArg(name, "acc", {rows});
    loop(idx(0), touched, [&](Value u) {
      Value row = rowOf(u);
      Value squares = loopAcc(idx(0), idx(d), cf64(0.0), [&](Value k, Value acc) {
        Value g = load(sum, {u, k});
        return arith::AddFOp::create(b, acc, arith::MulFOp::create(b, g, g)).getResult();
      });
      Value G = arith::AddFOp::create(b, arith::ExtFOp::create(b, f64(), load(accumulator, {row})),
                                      arith::DivFOp::create(b, squares, cf64(d)));
      store(arith::TruncFOp::create(b, f32(), G), accumulator, {row});
      Value scale = arith::DivFOp::create(
          b, cf64(lr), arith::AddFOp::create(b, math::SqrtOp::create(b, G), cf64(eps)));
      loop(idx(0), idx(d), [&](Value k) {
        applyStep(row, k, arith::MulFOp::create(b, scale, load(sum, {u, k})));
      });
    });
    return success();
  }
  // SparseAdam: the moments of the touched rows only.
  double beta1 = op.getBeta1()->convertToDouble(), beta2 = op.getBeta2()->convertToDouble();
  Value m = stateArg(name, "m", {rows, d}), v = stateArg(name, "v", {rows, d});
  Value bc1 = biasCorrection(beta1), bc2 = biasCorrection(beta2);
  loop(idx(0), touched, [&](Value u) {
    Value row = rowOf(u);
    loop(idx(0), idx(d), [&](Value k) {
      applyStep(row, k, adamStep(load(sum, {u, k}), m, v, {row, k}, beta1, beta2, lr, eps, bc1, bc2));
    });
  });
  return success();
}
