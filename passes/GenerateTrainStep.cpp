//===- GenerateTrainStep.cpp - reverse-mode gradients of @forward ---------===//
#include "dialect/MTGRDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRGENERATETRAINSTEPPASS
#include "passes/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
struct MTGRGenerateTrainStepPass
    : mlir::mtgr::impl::MTGRGenerateTrainStepPassBase<MTGRGenerateTrainStepPass> {
  void runOnOperation() override;
};

/// A gradient train_step returns: of a dense parameter, or of one embedding
/// lookup's rows (with the lookup's ids input and table).
struct GradientOutput {
  std::string name; // grad:<param> or embedding_grad:<input>, for people
  Value grad;
  ParamOp param;             // dense
  EmbeddingLookupOp lookup;  // embedding
  StringAttr idsInput;       // embedding: the ids' mtgr.input
  RoleAttr idsRole;          // embedding: the ids' mtgr.role (feature{group, index})
};

/// The typed role of a gradient (train_step result, apply_update input).
RoleAttr gradientRole(MLIRContext *ctx, GradientOutput g) { // a copy: op handles are not const
  if (!g.lookup)
    return abiRole(ctx, ::mtgr::RoleKind::Grad, ::mtgr::Group::None, -1, g.param.getName());
  return abiRole(ctx, ::mtgr::RoleKind::EmbeddingGrad, g.idsRole.getGroup(), g.idsRole.getIndex());
}

/// @apply_update(gradients...): one mtgr.adam_update per dense parameter
/// (weight decay skipped where the parameter says no_decay) and one
/// mtgr.sparse_update per embedding table over all of its lookups (DESIGN
/// 1.8). Its inputs are named like train_step's outputs, so that the runtime
/// can sum the gradients of several train_step calls (threads, later ranks)
/// before one update.
void buildApplyUpdate(OpBuilder &b, ModuleOp module, OptimizerOp opt,
                      ArrayRef<GradientOutput> grads) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> types;
  SmallVector<std::string> names;
  SmallVector<RoleAttr> roles;
  for (GradientOutput g : grads) { // a copy: op handles are not const
    if (g.lookup) {
      types.push_back(g.lookup.getIds().getType());
      names.push_back(g.idsInput.str());
      roles.push_back(g.idsRole);
    }
    types.push_back(g.grad.getType());
    names.push_back(g.name);
    roles.push_back(gradientRole(ctx, g));
  }
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, opt.getLoc(), "apply_update", b.getFunctionType(types, {}));
  for (auto [i, name] : llvm::enumerate(names)) {
    fn.setArgAttr(i, "mtgr.input", b.getStringAttr(name));
    fn.setArgAttr(i, kRoleAttr, roles[i]);
  }
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  SymbolTable symbols(module);
  unsigned arg = 0;
  llvm::MapVector<StringRef, std::pair<SmallVector<Value>, SmallVector<Value>>> tables;
  for (GradientOutput g : grads) { // a copy: op handles are not const
    if (g.lookup) {
      auto &[ids, rows] = tables[g.lookup.getTable()];
      ids.push_back(body->getArgument(arg++));
      rows.push_back(body->getArgument(arg++));
      continue;
    }
    auto decl = symbols.lookup<ParameterOp>(g.param.getName());
    double decay = decl && decl.getNoDecay() ? 0.0 : opt.getWeightDecay().convertToDouble();
    AdamUpdateOp::create(b, g.param.getLoc(), g.param.getNameAttr(), body->getArgument(arg++),
                         opt.getLrAttr(), opt.getBeta1Attr(), opt.getBeta2Attr(),
                         opt.getEpsAttr(), b.getF64FloatAttr(decay),
                         opt.getDense() == DenseOptimizer::adamw ? b.getUnitAttr() : UnitAttr());
  }
  bool adam = opt.getSparse() == SparseOptimizer::adam;
  for (auto &[table, lookups] : tables)
    SparseUpdateOp::create(b, opt.getLoc(), FlatSymbolRefAttr::get(ctx, table), opt.getSparse(),
                           lookups.first, lookups.second, opt.getSparseLrAttr(),
                           opt.getEpsAttr(), adam ? opt.getBeta1Attr() : FloatAttr(),
                           adam ? opt.getBeta2Attr() : FloatAttr());
  func::ReturnOp::create(b, opt.getLoc());
}

void MTGRGenerateTrainStepPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  auto lossFn = module.lookupSymbol<func::FuncOp>("loss");
  if (!forward || !lossFn) {
    module.emitError("mtgr-generate-train-step needs @forward and @loss");
    return signalPassFailure();
  }
  if (forward.isExternal() || !forward.getBody().hasOneBlock()) {
    forward.emitError("mtgr-generate-train-step needs @forward with a body of one block");
    return signalPassFailure();
  }
  BceLossOp bce;
  lossFn.walk([&](BceLossOp op) { bce = op; });
  if (!bce) {
    lossFn.emitError("@loss has no mtgr.bce_loss");
    return signalPassFailure();
  }
  MLIRContext *ctx = &getContext();
  OpBuilder b(ctx);
  Location loc = forward.getLoc();
  unsigned numTasks = forward.getNumResults();

  // Signature: forward's inputs, then one label tensor per task.
  SmallVector<Type> argTypes(forward.getArgumentTypes());
  for (unsigned t = 0; t < numTasks; ++t)
    argTypes.push_back(forward.getResultTypes()[t]);
  b.setInsertionPointToEnd(module.getBody());
  auto step = func::FuncOp::create(b, loc, "train_step", b.getFunctionType(argTypes, {}));
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    step.setArgAttrs(i, forward.getArgAttrDict(i));
  for (unsigned t = 0; t < numTasks; ++t) {
    auto task = forward.getResultAttrOfType<StringAttr>(t, "mtgr.output");
    if (!task) {
      forward.emitError("result ") << t << " lacks its mtgr.output (task) name";
      return signalPassFailure();
    }
    step.setArgAttr(forward.getNumArguments() + t, "mtgr.input",
                    b.getStringAttr("labels." + task.getValue()));
    step.setArgAttr(forward.getNumArguments() + t, kRoleAttr,
                    abiRole(ctx, ::mtgr::RoleKind::Labels, ::mtgr::Group::Candidate, t));
  }
  Block *body = step.addEntryBlock();
  IRMapping map;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    map.map(forward.getArgument(i), body->getArgument(i));
  b.setInsertionPointToStart(body);
  SmallVector<Operation *> ops;
  SmallVector<Value> logits;
  for (Operation &op : forward.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value v : ret.getOperands())
        logits.push_back(map.lookup(v));
      break;
    }
    ops.push_back(b.clone(op, map));
  }
  ValueRange labels = body->getArguments().drop_front(forward.getNumArguments());
  Type scalar = RankedTensorType::get({}, b.getF32Type());
  Value loss = BceLossOp::create(b, bce.getLoc(), scalar, logits, labels, bce.getTaskWeights(),
                                 bce.getNormalizer());
  auto seed = BceLossBackwardOp::create(b, bce.getLoc(), TypeRange(ValueRange(logits)), logits,
                                        labels, bce.getTaskWeightsAttr(), bce.getNormalizerAttr());

  // The reverse sweep: gradients of values, summed over their uses.
  DenseMap<Value, Value> grads;
  auto accumulate = [&](Value v, Value g) {
    if (!g)
      return;
    Value &slot = grads[v];
    slot = slot ? AddOp::create(b, loc, slot, g).getResult() : g;
  };
  for (auto [l, g] : llvm::zip(logits, seed.getLogitGrads()))
    accumulate(l, g);
  SmallVector<std::tuple<std::string, RoleAttr, Value>> outputs{
      {"loss", abiRole(ctx, ::mtgr::RoleKind::Loss), loss}};
  SmallVector<GradientOutput> paramGrads, embeddingGrads;
  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any)
      continue;
    if (auto p = dyn_cast<ParamOp>(op)) {
      paramGrads.push_back({"grad:" + p.getName().str(), resultGrads[0], p, {}, {}, {}});
      continue;
    }
    if (auto e = dyn_cast<EmbeddingLookupOp>(op)) {
      BlockArgument arg = embeddingIdsArgument(e, e.getIds());
      if (!arg)
        return signalPassFailure();
      auto name = step.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mtgr.input");
      auto role = step.getArgAttrOfType<RoleAttr>(arg.getArgNumber(), kRoleAttr);
      embeddingGrads.push_back({"embedding_grad:" + name.str(), resultGrads[0], {}, e, name, role});
      continue;
    }
    auto rule = dyn_cast<DifferentiableOpInterface>(op);
    if (!rule) {
      op->emitError("no gradient rule for '")
          << op->getName()
          << "'";
      return signalPassFailure();
    }
    SmallVector<Value> operandGrads;
    if (failed(rule.buildGradients(b, resultGrads, operandGrads)))
      return signalPassFailure();
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
      accumulate(operand, g);
  }
  // Parameters in declaration order, then embeddings in lookup order.
  std::reverse(paramGrads.begin(), paramGrads.end());
  std::reverse(embeddingGrads.begin(), embeddingGrads.end());
  for (const GradientOutput &g : paramGrads)
    outputs.push_back({g.name, gradientRole(ctx, g), g.grad});
  for (const GradientOutput &g : embeddingGrads)
    outputs.push_back({g.name, gradientRole(ctx, g), g.grad});
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (auto &[name, role, v] : outputs)
    results.push_back(v), resultTypes.push_back(v.getType());
  func::ReturnOp::create(b, loc, results);
  step.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, o] : llvm::enumerate(outputs)) {
    step.setResultAttr(i, "mtgr.output", b.getStringAttr(std::get<0>(o)));
    step.setResultAttr(i, kRoleAttr, std::get<1>(o));
  }
  auto optimizers = module.getOps<OptimizerOp>();
  if (!optimizers.empty()) {
    SmallVector<GradientOutput> all(paramGrads);
    all.append(embeddingGrads.begin(), embeddingGrads.end());
    buildApplyUpdate(b, module, *optimizers.begin(), all);
  }
}
} // namespace
