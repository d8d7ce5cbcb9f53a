//===- BindEntryPoints.cpp - the buffer ABI of each entry point ----------===//
//
// @forward / @train_step / @apply_update -> @mtgr_* with memref arguments
// (codegen/common/Passes.td). Decides what the runtime passes and in which order;
// the op lowerings only read the arguments this pass bound.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"
#include "codegen/common/Passes.h"

#include "mlir/Dialect/UB/IR/UBOps.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRBINDENTRYPOINTSPASS
#include "codegen/common/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// The buffer kind an argument of each role is passed in (nullopt: a role
/// no entry point takes).
std::optional<ArgKind> inputKind(RoleKind role) {
  switch (role) {
  case RoleKind::Feature:
    return ArgKind::Input;
  case RoleKind::Time:
    return ArgKind::Time;
  case RoleKind::Intervals:
    return ArgKind::Intervals;
  case RoleKind::Labels:
    return ArgKind::Labels;
  case RoleKind::Grad:
    return ArgKind::GradInput;
  case RoleKind::EmbeddingGrad:
    return ArgKind::EmbeddingGradInput;
  case RoleKind::PrefixKeys:
    return ArgKind::PrefixKeys;
  case RoleKind::PrefixValues:
    return ArgKind::PrefixValues;
  case RoleKind::Logits:
  case RoleKind::Output:
  case RoleKind::Loss:
    return std::nullopt;
  }
  return std::nullopt;
}
/// The buffer kind a result of each role is written to.
std::optional<ArgKind> resultKind(RoleKind role) {
  switch (role) {
  case RoleKind::Output:
    return ArgKind::Output;
  case RoleKind::Loss:
    return ArgKind::Loss;
  case RoleKind::Grad:
    return ArgKind::ParamGrad;
  case RoleKind::EmbeddingGrad:
    return ArgKind::EmbeddingGrad;
  case RoleKind::PrefixKeys:
    return ArgKind::PrefixKeys;
  case RoleKind::PrefixValues:
    return ArgKind::PrefixValues;
  default:
    return std::nullopt;
  }
}

/// The ABI of one entry point as it is decided: argument types and specs,
/// and where each source value or op finds its arguments.
class EntryAbi {
public:
  EntryAbi(func::FuncOp src, const BufferTypeConverter &converter)
      : src(src), converter(converter), b(src.getContext()) {}
  LogicalResult build();

  func::FuncOp src;
  const BufferTypeConverter &converter;
  Builder b;
  SmallVector<Type> types;
  SmallVector<Attribute> specs;
  /// Per source argument: the argument numbers of its values (-1 when not
  /// passed) and offsets (-1 for tensors).
  SmallVector<std::pair<int64_t, int64_t>> inputs;
  llvm::StringMap<int64_t> params;
  DenseMap<Operation *, int64_t> lookups;                 // embedding rows
  DenseMap<Operation *, SmallVector<NamedAttribute>> bound; // mtgr.bound
  SmallVector<int64_t> outputs;                           // per result
  SmallVector<std::pair<Value, int64_t>> hidden;          // forward only
  SmallVector<std::pair<Value, int64_t>> work;            // tile lists' counts
  int64_t rng = -1;

  /// The values buffer of a value of type `t` (the first of its buffers).
  Type valuesType(Type t) const {
    SmallVector<Type> parts;
    (void)converter.convertType(t, parts);
    return parts.empty() ? Type() : parts.front();
  }

private:
  int64_t addArg(Type type, AbiArgAttr spec) {
    types.push_back(type);
    specs.push_back(spec);
    return static_cast<int64_t>(types.size()) - 1;
  }
  AbiArgAttr spec(ArgKind kind, StringRef name, StringRef table = {}, StringRef slot = {},
                  Group group = Group::None) {
    return AbiArgAttr::get(b.getContext(), kind, name, group, -1, "", table, slot);
  }
  /// An ABI entry of `kind` for the value of a typed role (the group, index
  /// and parameter of an argument's or result's `mtgr.role`).
  AbiArgAttr specFor(ArgKind kind, RoleAttr role, StringRef name, StringRef table = {}) {
    return AbiArgAttr::get(b.getContext(), kind, name, role.getGroup(), role.getIndex(),
                           role.getParam(), table, "");
  }
  std::pair<StringRef, RoleAttr> argIdentity(BlockArgument arg) {
    unsigned i = arg.getArgNumber();
    return {src.getArgAttrOfType<StringAttr>(i, "mtgr.input").getValue(),
            src.getArgAttrOfType<RoleAttr>(i, kRoleAttr)};
  }
  MemRefType f32Buffer(ArrayRef<int64_t> shape) {
    return MemRefType::get(shape, b.getF32Type());
  }
  MemRefType rowsBuffer(Type elt) { return MemRefType::get({ShapedType::kDynamic}, elt); }
  int64_t param(StringRef name, ArrayRef<int64_t> shape) {
    auto [it, added] = params.try_emplace(name, -1);
    if (added)
      it->second = addArg(f32Buffer(shape), spec(ArgKind::Param, name));
    return it->second;
  }
  int64_t rngArg() {
    if (rng < 0)
      rng = addArg(MemRefType::get({3}, b.getI64Type()), spec(ArgKind::Rng, "training.rng"));
    return rng;
  }
  void bind(Operation *op, StringRef key, int64_t arg) {
    bound[op].push_back(b.getNamedAttr(key, b.getI64IntegerAttr(arg)));
  }
  LogicalResult bindArguments();
  LogicalResult bindOp(Operation *op);
  LogicalResult bindResults();
};

LogicalResult EntryAbi::bindArguments() {
  // Ids consumed only by embedding lookups and sparse updates are not
  // passed: the runtime hands over the gathered rows (or row indices).
  for (BlockArgument arg : src.getArguments()) {
    unsigned n = arg.getArgNumber();
    if (!src.getArgAttrOfType<RoleAttr>(n, kRoleAttr) ||
        !src.getArgAttrOfType<StringAttr>(n, "mtgr.input"))
      return src.emitError("argument ") << n << " lacks its mtgr.input name or typed " << kRoleAttr;
    auto [name, role] = argIdentity(arg);
    // The ABI kind of the values: a feature's values, timestamps, intervals,
    // labels, or (apply_update) a gradient summed over train_step calls.
    std::optional<ArgKind> kind = inputKind(role.getKind());
    if (!kind)
      return src.emitError("argument ")
             << n << ": an entry point takes no '" << toString(role.getKind()) << "' input";
    bool direct = llvm::any_of(arg.getUses(), [](OpOperand &use) {
      Operation *u = use.getOwner();
      if (auto update = dyn_cast<SparseUpdateOp>(u))
        return !llvm::is_contained(update.getIds(), use.get());
      return !isa<EmbeddingLookupOp>(u);
    });
    int64_t values = direct ? addArg(valuesType(arg.getType()), specFor(*kind, role, name)) : -1;
    int64_t offsets = -1;
    if (isa<JaggedType>(arg.getType()))
      offsets = addArg(rowsBuffer(b.getIndexType()),
                       spec(ArgKind::Offsets, name, {}, {}, role.getGroup()));
    inputs.push_back({values, offsets});
  }
  return success();
}

LogicalResult EntryAbi::bindOp(Operation *op) {
  if (op->hasTrait<ModelLevel>())
    return op->emitError("model-level op: run mtgr-decompose-layers before lowering");
  if (auto p = dyn_cast<ParamOp>(op)) {
    param(p.getName(), cast<RankedTensorType>(p.getType()).getShape());
    return success();
  }
  if (auto e = dyn_cast<EmbeddingLookupOp>(op)) {
    BlockArgument ids = embeddingIdsArgument(e, e.getIds());
    if (!ids)
      return failure();
    auto [name, role] = argIdentity(ids);
    lookups[op] =
        addArg(valuesType(e.getType()), specFor(ArgKind::Embedding, role, name, e.getTable()));
    return success();
  }
  if (auto d = dyn_cast<DropoutOp>(op)) {
    // Inference (and rate 0): the identity, nothing to bind.
    if (src.getName() == "train_step" && !d.getRate().isZero())
      bind(op, "rng", rngArg());
    return success();
  }
  if (auto u = dyn_cast<AdamUpdateOp>(op)) {
    auto shape = cast<RankedTensorType>(u.getGrad().getType()).getShape();
    bind(op, "param", param(u.getParam(), shape));
    bind(op, "m", addArg(f32Buffer(shape), spec(ArgKind::State, u.getParam(), {}, "m")));
    bind(op, "v", addArg(f32Buffer(shape), spec(ArgKind::State, u.getParam(), {}, "v")));
    bind(op, "rng", rngArg());
    return success();
  }
  if (auto u = dyn_cast<SparseUpdateOp>(op)) {
    // The runtime maps ids to rows (hashing, dynamic tables) and
    // deduplicates them: `unique_rows` lists the touched rows, a `row_index`
    // per lookup gives each id's position in it.
    auto table = SymbolTable::lookupNearestSymbolFrom<TableOp>(op, u.getTableAttr());
    if (!table)
      return op->emitError("no mtgr.table @") << u.getTable();
    // The table's rows are a run-time size: the update reads and writes only
    // the touched rows, so the runtime may pass a part of the table (a
    // rank's shard, docs/scale-out.md) with its optimiser state.
    int64_t rows = ShapedType::kDynamic, d = table.getDimAttr().getInt();
    std::string name = ("tables." + u.getTable() + ".weight").str();
    bind(op, "weight", param(name, {rows, d}));
    bind(op, "unique_rows",
         addArg(rowsBuffer(b.getI64Type()), spec(ArgKind::UniqueRows, name, u.getTable())));
    for (auto [k, ids] : llvm::enumerate(u.getIds())) {
      BlockArgument arg = embeddingIdsArgument(op, ids);
      if (!arg)
        return failure();
      auto [input, role] = argIdentity(arg);
      bind(op, ("row_index" + llvm::Twine(k)).str(),
           addArg(rowsBuffer(b.getI64Type()),
                  specFor(ArgKind::RowIndex, role, input, u.getTable())));
    }
    if (u.getOptimizer() == SparseOptimizer::rowwise_adagrad) {
      bind(op, "acc", addArg(f32Buffer({rows}), spec(ArgKind::State, name, {}, "acc")));
    } else {
      bind(op, "m", addArg(f32Buffer({rows, d}), spec(ArgKind::State, name, {}, "m")));
      bind(op, "v", addArg(f32Buffer({rows, d}), spec(ArgKind::State, name, {}, "v")));
    }
    bind(op, "rng", rngArg());
    return success();
  }
  return success();
}

LogicalResult EntryAbi::bindResults() {
  // Each result goes to a caller-allocated output buffer, named by its
  // `mtgr.output` attribute: a task's logits, the loss, a parameter's or an
  // embedding lookup's gradient.
  for (unsigned i = 0; i < src.getNumResults(); ++i) {
    auto nameAttr = src.getResultAttrOfType<StringAttr>(i, "mtgr.output");
    auto role = src.getResultAttrOfType<RoleAttr>(i, kRoleAttr);
    if (!nameAttr || !role)
      return src.emitError("result ") << i << " lacks its mtgr.output name or typed " << kRoleAttr;
    std::optional<ArgKind> kind = resultKind(role.getKind());
    if (!kind)
      return src.emitError("result ")
             << i << ": an entry point returns no '" << toString(role.getKind()) << "'";
    outputs.push_back(
        addArg(valuesType(src.getResultTypes()[i]), specFor(*kind, role, nameAttr.getValue())));
  }
  // The final hidden state of every token: the input of extract_group; the
  // attention work of each tile list (for profiles and tests).
  if (src.getName() == "forward")
    src.walk([&](ExtractGroupOp g) {
      hidden.push_back({g.getInput(), addArg(valuesType(g.getInput().getType()),
                                             spec(ArgKind::Hidden, "hidden"))});
    });
  if (src.getName() == "forward" || src.getName() == "score_candidates" ||
      src.getName() == "encode_prefix") {
    src.walk([&](AttentionTilesOp t) {
      work.push_back({t.getResult(), addArg(MemRefType::get({2}, b.getI64Type()),
                                            spec(ArgKind::AttentionWork, "attention"))});
    });
  }
  return success();
}

LogicalResult EntryAbi::build() {
  if (!src.getBody().hasOneBlock())
    return src.emitError("an entry point must have one block");
  if (failed(bindArguments()))
    return failure();
  for (Operation &op : src.getBody().front())
    if (failed(bindOp(&op)))
      return failure();
  return bindResults();
}

/// Builds @mtgr_<name> from `abi` and moves the body into it.
void rewriteEntryPoint(EntryAbi &abi, OpBuilder &top) {
  func::FuncOp src = abi.src;
  OpBuilder b(src.getContext());
  auto dst = func::FuncOp::create(top, src.getLoc(), ("mtgr_" + src.getName()).str(),
                                  top.getFunctionType(abi.types, {}));
  Block *body = dst.addEntryBlock();
  dst->setAttr(kAbiAttr, b.getArrayAttr(abi.specs));
  b.setInsertionPointToStart(body);
  Location loc = src.getLoc();
  auto arg = [&](int64_t n) { return body->getArgument(static_cast<unsigned>(n)); };
  auto castTo = [&](Type type, ValueRange from) {
    return UnrealizedConversionCastOp::create(b, loc, type, from).getResult(0);
  };
  // Arguments: buffers -> the mtgr types the body reads.
  Block &old = src.getBody().front();
  SmallVector<Value> offsetsOf(old.getNumArguments());
  for (auto [a, where] : llvm::zip(old.getArguments(), abi.inputs)) {
    auto [values, offsets] = where;
    SmallVector<Value> parts;
    if (values >= 0)
      parts.push_back(arg(values));
    else // never read (ids the runtime resolves): a placeholder keeps the shape
      parts.push_back(ub::PoisonOp::create(b, loc, abi.valuesType(a.getType())));
    if (offsets >= 0)
      parts.push_back(offsetsOf[a.getArgNumber()] = arg(offsets));
    a.replaceAllUsesWith(castTo(a.getType(), parts));
  }
  body->getOperations().splice(body->end(), old.getOperations());
  for (Operation &opRef : llvm::make_early_inc_range(*body)) {
    Operation *op = &opRef;
    b.setInsertionPoint(op);
    if (auto p = dyn_cast<ParamOp>(op)) {
      p.replaceAllUsesWith(castTo(p.getType(), arg(abi.params.lookup(p.getName()))));
      p.erase();
    } else if (auto e = dyn_cast<EmbeddingLookupOp>(op)) {
      // Jagged ids give jagged rows with the ids' offsets; per-sample ids
      // (a profile feature) give per-sample rows.
      SmallVector<Value> parts{arg(abi.lookups.lookup(op))};
      if (isa<JaggedType>(e.getType()))
        parts.push_back(e.getIds().getDefiningOp<UnrealizedConversionCastOp>().getInputs()[1]);
      e.replaceAllUsesWith(castTo(e.getType(), parts));
      e.erase();
    } else if (auto it = abi.bound.find(op); it != abi.bound.end()) {
      op->setAttr("mtgr.bound", b.getDictionaryAttr(it->second));
    } else if (auto r = dyn_cast<func::ReturnOp>(op)) {
      auto copyOut = [&](Value v, int64_t out, unsigned part = 0) {
        SmallVector<Type> parts;
        (void)abi.converter.convertType(v.getType(), parts);
        auto buffers = UnrealizedConversionCastOp::create(b, loc, parts, v);
        memref::CopyOp::create(b, loc, buffers.getResult(part), arg(out));
      };
      for (auto [v, out] : llvm::zip(r.getOperands(), abi.outputs))
        copyOut(v, out);
      for (auto [v, out] : abi.hidden)
        copyOut(v, out);
      for (auto [v, out] : abi.work)
        copyOut(v, out, /*part=*/3); // the tile list's {computed, visible}
      func::ReturnOp::create(b, loc);
      r.erase();
    }
  }
  src.erase();
}

struct MTGRBindEntryPointsPass
    : mlir::mtgr::impl::MTGRBindEntryPointsPassBase<MTGRBindEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    BufferTypeConverter converter;
    OpBuilder top(module.getContext());
    top.setInsertionPointToEnd(module.getBody());
    for (StringRef name : ::mtgr::kEntryPointNames) {
      auto src = module.lookupSymbol<func::FuncOp>(name);
      if (!src)
        continue;
      EntryAbi abi(src, converter);
      if (failed(abi.build()))
        return signalPassFailure();
      rewriteEntryPoint(abi, top);
    }
  }
};
} // namespace
