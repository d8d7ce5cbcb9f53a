//===- SplitPrefix.cpp - @forward into @encode_prefix and @score_candidates ===//
//
// What a repeat user may skip (DESIGN 1.6): when no U or S row sees an R or C
// token (the mask) and no row's normaliser counts them (n_norm), every
// layer's U and S rows are a function of U and S alone. @encode_prefix
// computes them (and returns each layer's keys and values of those rows);
// @score_candidates computes only the R and C rows, against keys and values
// whose U and S rows are encode_prefix's. Exact: the same ops on the same
// rows, only fewer of them.
//
// score_candidates, per layer: the per-row ops (norms, projections, gate,
// residual) on the R and C rows (mtgr.assemble_suffix's `layout`); the
// attention on the whole sample's layout (`full_layout`: positions, times
// and the mask as the forward sees them) with Q's U and S rows zero, K and V
// joined from the cached rows and the request's (mtgr.join_groups), a
// mask whose U and S rows see nothing (build_mask {suffix_rows}: their tiles
// are never listed), and the result's R and C rows taken out again.
//
//===----------------------------------------------------------------------===//
#include "dialect/MTGRDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRSPLITPREFIXPASS
#include "passes/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// Why @forward cannot be split, or "" when it can.
std::string refusal(func::FuncOp forward) {
  SmallVector<AssembleTokensOp> assembled;
  SmallVector<HstuAttentionOp> attention;
  forward.walk([&](AssembleTokensOp a) { assembled.push_back(a); });
  forward.walk([&](HstuAttentionOp a) { attention.push_back(a); });
  if (attention.empty())
    return "the model has no HSTU layers: there is no per-user computation to cache";
  if (assembled.size() != 1)
    return "@forward assembles its tokens " + std::to_string(assembled.size()) +
           " times; the split needs exactly one mtgr.assemble_tokens";
  Value layout = assembled.front().getLayout();
  for (HstuAttentionOp a : attention) {
    auto mask = a.getMask().getDefiningOp<BuildMaskOp>();
    if (!mask)
      return "the mask comes from the batch ('intervals'): which rows see the R and C tokens "
             "is known only per request";
    if (mask.getKind() == MaskKind::contextual)
      return "the 'contextual' mask lets U rows see the R tokens: the U and S rows depend on "
             "the request";
    if (a.getNNorm() == NNorm::total)
      return "n_norm 'total' divides every row by the sample's length, which counts the R and "
             "C tokens: cached U and S rows would not match the next request (DESIGN 1.6; "
             "'visible' or a constant can be cached)";
    if (a.getLayout() != layout || mask.getLayout() != layout)
      return "an attention reads another layout than the assembled tokens'";
  }
  for (Operation *user : layout.getUsers()) {
    if (isa<GroupLayerNormOp, BuildMaskOp, HstuAttentionOp>(user))
      continue;
    if (auto g = dyn_cast<ExtractGroupOp>(user);
        g && g.getGroup() == TokenGroup::candidate && !g.getThrough())
      continue;
    return "'" + user->getName().getStringRef().str() +
           "' reads the token layout, and the split does not know which rows it needs";
  }
  return "";
}

/// Erases what nothing uses any more, then the arguments nothing reads.
void pruneDeadCode(func::FuncOp fn) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(fn.getBody().front())))
      if (isOpTriviallyDead(&op)) {
        op.erase();
        changed = true;
      }
  }
  llvm::BitVector unused(fn.getNumArguments());
  for (BlockArgument arg : fn.getArguments())
    if (arg.use_empty())
      unused.set(arg.getArgNumber());
  (void)fn.eraseArguments(unused);
}

StringAttr prefixName(MLIRContext *ctx, size_t layer, StringRef part) {
  return StringAttr::get(ctx, "prefix.layers." + std::to_string(layer) + "." + part.str());
}
RoleAttr prefixRole(MLIRContext *ctx, ::mtgr::RoleKind kind, size_t layer) {
  return abiRole(ctx, kind, ::mtgr::Group::Prefix, static_cast<int64_t>(layer));
}

func::FuncOp cloneAs(func::FuncOp forward, StringRef name) {
  func::FuncOp fn = forward.clone();
  fn.setName(name);
  OpBuilder(forward).insert(fn);
  fn->moveAfter(forward);
  return fn;
}

SmallVector<HstuAttentionOp> attentionOps(func::FuncOp fn) {
  SmallVector<HstuAttentionOp> ops;
  fn.walk([&](HstuAttentionOp a) { ops.push_back(a); });
  return ops;
}

AssembleTokensOp assembleOp(func::FuncOp fn) {
  AssembleTokensOp op;
  fn.walk([&](AssembleTokensOp a) { op = a; });
  return op;
}

/// @encode_prefix: the forward on [U | S] alone, returning each layer's
/// keys and values (what score_candidates reads of the U and S rows).
void buildEncodePrefix(func::FuncOp forward) {
  MLIRContext *ctx = forward.getContext();
  func::FuncOp fn = cloneAs(forward, "encode_prefix");
  AssembleTokensOp a = assembleOp(fn);
  OpBuilder b(a);
  auto prefix =
      AssemblePrefixOp::create(b, a.getLoc(), a.getTokens().getType(), a.getLayout().getType(),
                               a.getUser(), a.getSequence(), a.getSequenceTimes());
  a.getTokens().replaceAllUsesWith(prefix.getTokens());
  a.getLayout().replaceAllUsesWith(prefix.getLayout());
  a.erase();

  SmallVector<Value> results;
  SmallVector<Attribute> resultAttrs;
  for (auto [layer, att] : llvm::enumerate(attentionOps(fn)))
    for (auto [value, part, kind] : {std::tuple{att.getK(), "k", ::mtgr::RoleKind::PrefixKeys},
                                     std::tuple{att.getV(), "v", ::mtgr::RoleKind::PrefixValues}}) {
      results.push_back(value);
      resultAttrs.push_back(DictionaryAttr::get(
          ctx, {NamedAttribute(StringAttr::get(ctx, "mtgr.output"), prefixName(ctx, layer, part)),
                NamedAttribute(StringAttr::get(ctx, kRoleAttr), prefixRole(ctx, kind, layer))}));
    }
  Operation *ret = fn.getBody().front().getTerminator();
  b.setInsertionPoint(ret);
  func::ReturnOp::create(b, ret->getLoc(), results);
  ret->erase();
  fn.setFunctionType(FunctionType::get(ctx, fn.getArgumentTypes(), ValueRange(results).getTypes()));
  fn.setAllResultAttrs(resultAttrs);
  pruneDeadCode(fn);
}

/// @score_candidates: the R and C rows of every layer against the cached
/// keys and values of the U and S rows (arguments prefix.layers.<l>.k / v).
void buildScoreCandidates(func::FuncOp forward) {
  MLIRContext *ctx = forward.getContext();
  func::FuncOp fn = cloneAs(forward, "score_candidates");
  AssembleTokensOp a = assembleOp(fn);
  OpBuilder b(a);
  Location loc = a.getLoc();
  int64_t users = cast<RankedTensorType>(a.getUser().getType()).getDimSize(1);
  Type layoutType = a.getLayout().getType();
  auto suffix = AssembleSuffixOp::create(b, loc, a.getTokens().getType(), layoutType, layoutType,
                                         a.getRealtime(), a.getCandidate(), a.getSequenceTimes(),
                                         a.getRealtimeTimes(), a.getCandidateTimes(),
                                         b.getI64IntegerAttr(users));
  Value rows = suffix.getLayout(), full = suffix.getFullLayout();
  a.getTokens().replaceAllUsesWith(suffix.getTokens());

  auto group = [&](TokenGroup g) { return TokenGroupAttr::get(ctx, g); };
  for (OpOperand &use : llvm::make_early_inc_range(a.getLayout().getUses())) {
    Operation *user = use.getOwner();
    if (auto mask = dyn_cast<BuildMaskOp>(user)) {
      use.set(full);
      mask.setSuffixRows(true);
    } else if (isa<HstuAttentionOp>(user)) {
      use.set(full);
    } else {
      use.set(rows); // norms and the candidates' rows: per row of R and C
    }
  }
  for (auto [layer, att] : llvm::enumerate(attentionOps(fn))) {
    b.setInsertionPoint(att);
    SmallVector<Value> joined;
    for (auto [value, part, kind] : {std::tuple{att.getK(), "k", ::mtgr::RoleKind::PrefixKeys},
                                     std::tuple{att.getV(), "v", ::mtgr::RoleKind::PrefixValues}}) {
      unsigned n = fn.getNumArguments();
      (void)fn.insertArgument(
          n, value.getType(),
          DictionaryAttr::get(
              ctx,
              {NamedAttribute(StringAttr::get(ctx, "mtgr.input"), prefixName(ctx, layer, part)),
               NamedAttribute(StringAttr::get(ctx, kRoleAttr), prefixRole(ctx, kind, layer))}),
          att.getLoc());
      joined.push_back(JoinGroupsOp::create(b, att.getLoc(), value, full, fn.getArgument(n)));
    }
    // Q's U and S rows are zero: the mask gives them no columns.
    att.getQMutable().assign(JoinGroupsOp::create(b, att.getLoc(), att.getQ(), full, Value()));
    att.getKMutable().assign(joined[0]);
    att.getVMutable().assign(joined[1]);
    b.setInsertionPointAfter(att);
    auto taken = ExtractGroupOp::create(b, att.getLoc(), att.getType(), TokenGroup::realtime,
                                        att.getResult(), full, group(TokenGroup::candidate));
    att.getResult().replaceAllUsesExcept(taken.getResult(), taken);
  }
  a.erase();
  pruneDeadCode(fn);
}

struct MTGRSplitPrefixPass : mlir::mtgr::impl::MTGRSplitPrefixPassBase<MTGRSplitPrefixPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError("mtgr-split-prefix: no @forward to split");
      return signalPassFailure();
    }
    if (module.lookupSymbol("encode_prefix") || module.lookupSymbol("score_candidates")) {
      module.emitError("mtgr-split-prefix: the module already has @encode_prefix or "
                       "@score_candidates");
      return signalPassFailure();
    }
    if (std::string why = refusal(forward); !why.empty()) {
      forward.emitError("no prefix split: ") << why;
      return signalPassFailure();
    }
    buildEncodePrefix(forward);
    buildScoreCandidates(forward);
  }
};
} // namespace
