//===- MLIRGen.cpp - ModelDesc -> mtgr IR ---------------------------------===//
//
// The generated @forward takes the batch as it arrives (one argument per
// feature, named by the `mtgr.input` argument attribute) and returns one logit
// per candidate per task. Parameters are declared from collectParameters(), the
// same list the parameter counter counts.
//
//===----------------------------------------------------------------------===//
#include "frontend/MLIRGen.h"
#include "dialect/MTGRDialect.h"
#include "model/ModelStats.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {

/// A description's enum as the dialect's: the two share their spellings
/// (model/ModelParser.cpp, dialect/MTGRBase.td), so the name is the bridge
/// and a spelling the dialect lacks is a build-time inconsistency, reported
/// as such (MLIRGenTest generates every value).
template <typename To, typename From>
To toDialect(From value, std::optional<To> (*symbolize)(llvm::StringRef)) {
  if (std::optional<To> converted = symbolize(::mtgr::toString(value)))
    return *converted;
  llvm::report_fatal_error(llvm::Twine("the dialect has no '") + ::mtgr::toString(value) +
                           "' for a model description value");
}
class Generator {
public:
  Generator(MLIRContext &ctx, const ModelDesc &m) : ctx(ctx), m(m), b(&ctx) {}
  OwningOpRef<ModuleOp> run();

private:
  MLIRContext &ctx;
  const ModelDesc &m;
  OpBuilder b;
  llvm::StringMap<RankedTensorType> paramTypes;
  llvm::StringMap<Value> paramValues;
  // @forward's arguments, built up in input order.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<RoleAttr> argRoles;
  SmallVector<Location> argLocs;

  Location loc(mlir::mtgr::SrcLoc l) {
    return FileLineColLoc::get(&ctx, m.path, l.line, l.col);
  }
  Location named(const Twine &name, mlir::mtgr::SrcLoc l) {
    return NameLoc::get(StringAttr::get(&ctx, name), loc(l));
  }
  Type f32() { return Float32Type::get(&ctx); }
  Type jagged(ArrayRef<int64_t> row, Type elt) { return JaggedType::get(&ctx, row, elt); }
  Type jaggedF32(int64_t width) { return jagged({width}, f32()); }
  Type perSample(int64_t width) {
    return RankedTensorType::get({ShapedType::kDynamic, width}, f32());
  }

  void declareParameters(ModuleOp module);
  /// The value of a parameter in @forward; one mtgr.param per parameter even
  /// when it is used twice (R sharing MLP_seq).
  Value param(Location l, const std::string &name) {
    Value &v = paramValues[name];
    if (!v)
      v = ParamOp::create(b, l, paramTypes.at(name), FlatSymbolRefAttr::get(&ctx, name));
    return v;
  }
  /// Weights and biases of `prefix.layers.<i>` for an MLP of `count` layers.
  void mlpParams(Location l, const std::string &prefix, size_t count,
                 SmallVectorImpl<Value> &weights, SmallVectorImpl<Value> &biases) {
    for (size_t i = 0; i < count; ++i) {
      std::string layer = prefix + ".layers." + std::to_string(i);
      weights.push_back(param(l, layer + ".weight"));
      biases.push_back(param(l, layer + ".bias"));
    }
  }

  /// Declares the inputs of one feature group; returns their indices.
  /// `firstIndex`: the first feature's index in the group's schema (the
  /// candidate group is item features, then cross features).
  SmallVector<unsigned> addInputs(StringRef group, const std::vector<FeatureDesc> &features,
                                  bool perSampleRows, int64_t firstIndex = 0);
  unsigned addInput(const std::string &name, RoleAttr role, Type type, Location l) {
    argNames.push_back(name);
    argRoles.push_back(role);
    argTypes.push_back(type);
    argLocs.push_back(l);
    return argTypes.size() - 1;
  }
  /// Embeddings (categorical) or raw values (dense) of a feature group.
  SmallVector<Value> featureRows(func::FuncOp f, const std::vector<FeatureDesc> &features,
                                 ArrayRef<unsigned> args, bool perSampleRows);
  Value concatRows(Location l, ArrayRef<Value> rows);

  func::FuncOp buildForward(ModuleOp module);
  void buildLoss(ModuleOp module, func::FuncOp forward);
};

void Generator::declareParameters(ModuleOp module) {
  b.setInsertionPointToEnd(module.getBody());
  for (const mlir::mtgr::TableDesc &t : m.tables) {
    auto table = TableOp::create(
        b, named("tables." + t.name, t.loc), t.name, toDialect(t.kind, symbolizeTableKind),
        static_cast<uint64_t>(t.rows), static_cast<uint64_t>(t.dim), IntegerAttr(), EvictionAttr());
    if (t.kind == TableDesc::Kind::Dynamic) {
      table.setAdmissionThresholdAttr(b.getI64IntegerAttr(t.admissionThreshold));
      table.setEvictionAttr(EvictionAttr::get(&ctx, toDialect(t.eviction, symbolizeEviction)));
    }
  }
  for (const mlir::mtgr::ParamSpec &p : mlir::mtgr::collectParameters(m)) {
    auto type = RankedTensorType::get(p.shape, f32());
    paramTypes[p.name] = type;
    auto op = ParameterOp::create(b, NameLoc::get(b.getStringAttr(p.name)), p.name,
                                  type, *symbolizeInit(p.init), FloatAttr(), p.noDecay);
    if (p.init == "normal")
      op.setStdAttr(b.getF64FloatAttr(p.std));
  }
  const TrainingDesc &t = m.training;
  OptimizerOp::create(
      b, named("training", {}), toDialect(t.optimizer, symbolizeDenseOptimizer),
      b.getF64FloatAttr(t.lr), b.getF64FloatAttr(t.beta1), b.getF64FloatAttr(t.beta2),
      b.getF64FloatAttr(t.eps), b.getF64FloatAttr(t.weightDecay),
      toDialect(t.sparseOptimizer, symbolizeSparseOptimizer), b.getF64FloatAttr(t.sparseLr));
}

SmallVector<unsigned> Generator::addInputs(StringRef group,
                                           const std::vector<FeatureDesc> &features,
                                           bool perSampleRows, int64_t firstIndex) {
  SmallVector<unsigned> idx;
  for (const FeatureDesc &f : features) {
    Type type;
    if (f.isCategorical())
      type = perSampleRows ? Type(RankedTensorType::get({ShapedType::kDynamic},
                                                        IntegerType::get(&ctx, 64)))
                           : jagged({}, IntegerType::get(&ctx, 64));
    else
      type = perSampleRows ? perSample(f.denseDim) : jaggedF32(f.denseDim);
    idx.push_back(addInput((group + "." + f.name).str(),
                           abiRole(&ctx, ::mtgr::RoleKind::Feature, *::mtgr::parseGroup(group),
                                   firstIndex + idx.size()),
                           type, loc(f.loc)));
  }
  return idx;
}

SmallVector<Value> Generator::featureRows(func::FuncOp f,
                                          const std::vector<FeatureDesc> &features,
                                          ArrayRef<unsigned> args, bool perSampleRows) {
  SmallVector<Value> rows;
  for (auto [feat, arg] : llvm::zip(features, args)) {
    Value v = f.getArgument(arg);
    if (feat.isCategorical()) {
      Type type = perSampleRows ? perSample(feat.width) : jaggedF32(feat.width);
      v = EmbeddingLookupOp::create(b, loc(feat.loc), type,
                                    FlatSymbolRefAttr::get(&ctx, feat.table), v);
    }
    rows.push_back(v);
  }
  return rows;
}

Value Generator::concatRows(Location l, ArrayRef<Value> rows) {
  if (rows.size() == 1)
    return rows.front();
  int64_t width = 0;
  for (Value r : rows)
    width += getRowShape(r.getType())[0];
  return ConcatOp::create(b, l, withRowShape(rows.front().getType(), {width}), rows);
}

func::FuncOp Generator::buildForward(ModuleOp module) {
  Type times = jagged({}, IntegerType::get(&ctx, 64));
  mlir::mtgr::SrcLoc none;
  auto userArgs = addInputs("user", m.user, /*perSampleRows=*/true);
  auto seqArgs = addInputs("sequence", m.sequence, false);
  unsigned seqTime =
      addInput("sequence.time", abiRole(&ctx, ::mtgr::RoleKind::Time, ::mtgr::Group::Sequence),
               times, loc(none));
  auto rtArgs = addInputs("realtime", m.realtime, false);
  unsigned rtTime =
      addInput("realtime.time", abiRole(&ctx, ::mtgr::RoleKind::Time, ::mtgr::Group::Realtime),
               times, loc(none));
  auto itemArgs = addInputs("candidate", m.candidateItem, false);
  auto crossArgs = addInputs("candidate", m.candidateCross, false, m.candidateItem.size());
  unsigned candTime =
      addInput("candidate.time", abiRole(&ctx, ::mtgr::RoleKind::Time, ::mtgr::Group::Candidate),
               times, loc(none));
  std::optional<unsigned> intervalsArg;
  if (m.layers > 0 && m.mask == ModelDesc::Mask::Intervals)
    intervalsArg = addInput("mask.intervals",
                            abiRole(&ctx, ::mtgr::RoleKind::Intervals, ::mtgr::Group::Tokens),
                            jagged({3, 2}, IntegerType::get(&ctx, 32)), loc(m.layersLoc));

  SmallVector<Type> results(m.tasks.size(), jaggedF32(1));
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, named("forward", {}), "forward",
                                   b.getFunctionType(argTypes, results));
  for (auto [i, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, "mtgr.input", b.getStringAttr(name));
    func.setArgAttr(i, kRoleAttr, argRoles[i]);
  }
  for (auto [i, t] : llvm::enumerate(m.tasks)) {
    func.setResultAttr(i, "mtgr.output", b.getStringAttr(t.name));
    func.setResultAttr(i, kRoleAttr,
                       abiRole(&ctx, ::mtgr::RoleKind::Output, ::mtgr::Group::Candidate, i));
  }
  Block *body = func.addEntryBlock();
  for (auto [arg, l] : llvm::zip(body->getArguments(), argLocs))
    arg.setLoc(l);
  b.setInsertionPointToStart(body);

  SmallVector<Value> userRows = featureRows(func, m.user, userArgs, true);
  SmallVector<Value> seqRows = featureRows(func, m.sequence, seqArgs, false);
  SmallVector<Value> rtRows = featureRows(func, m.realtime, rtArgs, false);
  SmallVector<Value> itemRows = featureRows(func, m.candidateItem, itemArgs, false);
  SmallVector<Value> crossRows = featureRows(func, m.candidateCross, crossArgs, false);
  int64_t d = m.dModel;

  // C tokenizer; DLRM-style models also see the user and pooled histories.
  SmallVector<Value> context;
  if (m.candidateContext) {
    Location l = named("candidate_context", {});
    context.append(userRows);
    for (ArrayRef<Value> events : {ArrayRef<Value>(seqRows), ArrayRef<Value>(rtRows)}) {
      Value all = concatRows(l, events);
      context.push_back(MeanPoolOp::create(
          b, l, perSample(getRowShape(all.getType())[0]), all));
    }
  }
  SmallVector<Value> w, bias;
  Location candLoc = named("candidate_mlp", {});
  mlpParams(candLoc, "candidate_mlp", m.candidateMlp.size() + 1, w, bias);
  Value candidates = CandidateTokensOp::create(b, candLoc, jaggedF32(d), itemRows,
                                               crossRows, context, w, bias);

  if (m.layers > 0) {
    // U tokenizer: one Linear per feature.
    w.clear();
    bias.clear();
    Location ul = named("user_tokenizer", {});
    for (const FeatureDesc &f : m.user) {
      w.push_back(param(ul, "user_tokenizer." + f.name + ".weight"));
      bias.push_back(param(ul, "user_tokenizer." + f.name + ".bias"));
    }
    Type userTokens = RankedTensorType::get(
        {ShapedType::kDynamic, static_cast<int64_t>(m.user.size()), d}, f32());
    Value u = ProfileTokensOp::create(b, ul, userTokens, userRows, w, bias);
    // S and R tokenizers (R shares MLP_seq unless it has its own).
    auto events = [&](ArrayRef<Value> rows, StringRef prefix, size_t layers) {
      SmallVector<Value> ew, eb;
      Location l = named(prefix, {});
      mlpParams(l, prefix.str(), layers, ew, eb);
      return SequenceTokensOp::create(b, l, jaggedF32(d), rows, ew, eb).getResult();
    };
    Value s = events(seqRows, "sequence_mlp", m.sequenceMlp.size() + 1);
    Value r = m.realtimeOwnMlp ? events(rtRows, "realtime_mlp", m.realtimeMlp.size() + 1)
                               : events(rtRows, "sequence_mlp", m.sequenceMlp.size() + 1);
    auto assembled = AssembleTokensOp::create(
        b, named("assemble_tokens", {}), jaggedF32(d), LayoutType::get(&ctx), u, s, r,
        candidates, func.getArgument(seqTime), func.getArgument(rtTime),
        func.getArgument(candTime));
    Value x = assembled.getTokens(), layout = assembled.getLayout();
    auto nNorm = toDialect(m.nNorm, symbolizeNNorm);
    for (int64_t l = 0; l < m.layers; ++l) {
      std::string p = "layers." + std::to_string(l);
      Location ll = named(p, m.layersLoc);
      Value rabPos, rabTime;
      if (m.rab) {
        rabPos = param(ll, p + ".rab.pos");
        rabTime = param(ll, p + ".rab.time");
      }
      Value intervals = intervalsArg ? func.getArgument(*intervalsArg) : Value();
      x = HstuLayerOp::create(
          b, ll, x.getType(), x, layout, param(ll, p + ".gln1.gamma"), param(ll, p + ".gln1.beta"),
          param(ll, p + ".uvqk.weight"), param(ll, p + ".uvqk.bias"), param(ll, p + ".gln2.gamma"),
          param(ll, p + ".gln2.beta"), param(ll, p + ".out.weight"), param(ll, p + ".out.bias"),
          rabPos, rabTime, intervals, b.getI64IntegerAttr(m.heads), b.getI64IntegerAttr(m.dqk),
          b.getI64IntegerAttr(m.dv), b.getF64FloatAttr(m.alpha),
          MaskKindAttr::get(&ctx, toDialect(m.mask, symbolizeMaskKind)),
          NNormAttr::get(&ctx, nNorm),
          nNorm == NNorm::constant ? b.getF64FloatAttr(m.nNormConstant) : FloatAttr(),
          NormOrderAttr::get(&ctx, toDialect(m.normOrder, symbolizeNormOrder)),
          b.getF64FloatAttr(m.dropout), b.getI64IntegerAttr(l));
    }
    candidates = ExtractGroupOp::create(b, named("candidates", {}), TokenGroup::candidate, x,
                                        layout, TokenGroupAttr());
  }

  SmallVector<Value> logits;
  for (const mlir::mtgr::TaskDesc &t : m.tasks) {
    SmallVector<Value> hw, hb;
    std::string prefix = "heads." + t.name;
    Location l = named(prefix, t.loc);
    mlpParams(l, prefix, t.hidden.size() + 1, hw, hb);
    logits.push_back(TaskHeadOp::create(b, l, jaggedF32(1), t.name, candidates, hw, hb));
  }
  func::ReturnOp::create(b, named("forward", {}), logits);
  return func;
}

void Generator::buildLoss(ModuleOp module, func::FuncOp forward) {
  size_t T = m.tasks.size();
  SmallVector<Type> types(2 * T, jaggedF32(1));
  b.setInsertionPointToEnd(module.getBody());
  Type scalar = RankedTensorType::get({}, f32());
  auto func = func::FuncOp::create(b, named("loss", {}), "loss",
                                   b.getFunctionType(types, {scalar}));
  SmallVector<Attribute> weights;
  for (auto [i, t] : llvm::enumerate(m.tasks)) {
    func.setArgAttr(i, "mtgr.input", b.getStringAttr("logits." + t.name));
    func.setArgAttr(i, kRoleAttr,
                    abiRole(&ctx, ::mtgr::RoleKind::Logits, ::mtgr::Group::Candidate, i));
    func.setArgAttr(T + i, "mtgr.input", b.getStringAttr("labels." + t.name));
    func.setArgAttr(T + i, kRoleAttr,
                    abiRole(&ctx, ::mtgr::RoleKind::Labels, ::mtgr::Group::Candidate, i));
    weights.push_back(b.getF64FloatAttr(t.weight));
  }
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value loss = BceLossOp::create(
      b, named("loss", {}), scalar, body->getArguments().take_front(T),
      body->getArguments().drop_front(T), b.getArrayAttr(weights),
      b.getF64FloatAttr(static_cast<double>(m.training.candidatesPerStep)));
  func::ReturnOp::create(b, named("loss", {}), loss);
}

OwningOpRef<ModuleOp> Generator::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc({1, 1}), StringRef(m.name));
  const mlir::mtgr::TrainingDesc &t = m.training;
  // What the runtime's training loop reads; the optimiser is an op
  // (mtgr.optimizer, declareParameters).
  (*module)->setAttr("mtgr.training",
                     b.getDictionaryAttr({
                         b.getNamedAttr("candidates_per_step",
                                        b.getI64IntegerAttr(t.candidatesPerStep)),
                         b.getNamedAttr("tokens_per_step",
                                        b.getI64IntegerAttr(t.tokensPerStep)),
                         b.getNamedAttr("seed", b.getI64IntegerAttr(t.seed)),
                     }));
  declareParameters(*module);
  func::FuncOp forward = buildForward(*module);
  buildLoss(*module, forward);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}
} // namespace

OwningOpRef<ModuleOp> mlir::mtgr::buildModule(MLIRContext &context, const ModelDesc &model) {
  context.loadDialect<MTGRDialect, func::FuncDialect>();
  return Generator(context, model).run();
}

void mlir::mtgr::registerFrontendDialects(DialectRegistry &registry) {
  registry.insert<MTGRDialect, func::FuncDialect>();
}
