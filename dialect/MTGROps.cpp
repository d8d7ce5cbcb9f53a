//===- MTGROps.cpp - verifiers of the mtgr ops ----------------------------===//
//
// Messages name the operand and both sizes, so a user can find the mismatch in
// a model description, and invalid.mlir can match them.
//
//===----------------------------------------------------------------------===//
#include "dialect/MTGRDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::mtgr;

#define GET_OP_CLASSES
#include "dialect/MTGROps.cpp.inc"

namespace {
/// Width of a vector row (the single row dimension), or -1 if rows are not vectors.
int64_t rowWidth(Type rows) {
  SmallVector<int64_t> shape = getRowShape(rows);
  return shape.size() == 1 ? shape[0] : -1;
}

bool sameKind(Type a, Type b) { return isa<JaggedType>(a) == isa<JaggedType>(b); }

LogicalResult verifyVectorRows(Operation *op, Type rows, StringRef what) {
  if (rowWidth(rows) < 0)
    return op->emitOpError() << what << " rows must be vectors, got " << rows;
  return success();
}

/// Checks a chain of Linear layers: input width -> w0 -> w1 -> ... -> output.
LogicalResult verifyLinearChain(Operation *op, int64_t inputWidth,
                                ValueRange weights, ValueRange biases,
                                int64_t outputWidth) {
  if (weights.empty())
    return op->emitOpError() << "needs at least one layer";
  if (weights.size() != biases.size())
    return op->emitOpError() << "has " << weights.size() << " weights but "
                             << biases.size() << " biases";
  int64_t width = inputWidth;
  for (auto [i, w, b] : llvm::enumerate(weights, biases)) {
    ArrayRef<int64_t> ws = cast<RankedTensorType>(w.getType()).getShape();
    ArrayRef<int64_t> bs = cast<RankedTensorType>(b.getType()).getShape();
    if (ws[1] != width)
      return op->emitOpError() << "layer " << i << " weight is [" << ws[0]
                               << ", " << ws[1] << "] but its input has width "
                               << width;
    if (bs[0] != ws[0])
      return op->emitOpError() << "layer " << i << " bias has size " << bs[0]
                               << " but the weight has " << ws[0] << " outputs";
    width = ws[0];
  }
  if (width != outputWidth)
    return op->emitOpError() << "last layer has " << width
                             << " outputs but the result has width "
                             << outputWidth;
  return success();
}

/// Sum of the vector widths of `values`; emits an error and returns -1 when a
/// value's rows are not vectors.
int64_t totalWidth(Operation *op, ValueRange values) {
  int64_t total = 0;
  for (Value v : values) {
    int64_t w = rowWidth(v.getType());
    if (w < 0) {
      op->emitOpError() << "input rows must be vectors, got " << v.getType();
      return -1;
    }
    total += w;
  }
  return total;
}

LogicalResult verifyGroupNormParams(Operation *op, Value gamma, Value beta,
                                    int64_t width, StringRef name) {
  // [4, D]: one row per token group (GLN); [1, D]: one row for every token
  // (norm_groups: shared, plain LayerNorm).
  ArrayRef<int64_t> first = cast<RankedTensorType>(gamma.getType()).getShape();
  for (Value v : {gamma, beta}) {
    ArrayRef<int64_t> s = cast<RankedTensorType>(v.getType()).getShape();
    if ((s[0] != 4 && s[0] != 1) || s[1] != width || s[0] != first[0])
      return op->emitOpError() << name << " gamma and beta must both be [4, "
                               << width << "] (one row per token group) or [1, " << width
                               << "] (shared), got [" << first[0] << ", " << first[1]
                               << "] and [" << s[0] << ", " << s[1] << "]";
  }
  return success();
}

LogicalResult verifyNNorm(Operation *op, NNorm mode,
                          std::optional<APFloat> constantAttr) {
  std::optional<double> constant;
  if (constantAttr)
    constant = constantAttr->convertToDouble();
  if ((mode == NNorm::constant) != constant.has_value())
    return op->emitOpError()
           << "n_norm_constant is required with n_norm<constant> and only "
              "allowed there";
  if (constant && !(*constant > 0.0 && std::isfinite(*constant)))
    return op->emitOpError() << "n_norm_constant must be positive and finite";
  return success();
}

LogicalResult verifyRab(Operation *op, Value pos, Value time) {
  if (!pos)
    return success();
  int64_t p = cast<RankedTensorType>(pos.getType()).getDimSize(0);
  if (p % 2 != 1)
    return op->emitOpError() << "rab position table must have 2*Pmax+1 "
                                "entries (odd), got "
                             << p;
  if (cast<RankedTensorType>(time.getType()).getDimSize(0) < 1)
    return op->emitOpError() << "rab time table must not be empty";
  return success();
}

/// Looks a symbol up in the nearest symbol table and checks its op kind.
template <typename OpT>
OpT lookupSymbol(Operation *op, SymbolTableCollection &symbols,
                 FlatSymbolRefAttr name, StringRef kind) {
  auto found = symbols.lookupNearestSymbolFrom<OpT>(op, name);
  if (!found)
    op->emitOpError() << "'" << name.getValue() << "' does not name an "
                      << kind;
  return found;
}
} // namespace

//===----------------------------------------------------------------------===//
// Parameters and tables
//===----------------------------------------------------------------------===//

LogicalResult ParameterOp::verify() {
  auto type = cast<RankedTensorType>(getType());
  if (!type.getElementType().isF32())
    return emitOpError() << "parameters are f32, got " << type;
  if ((getInit() == Init::normal) != getStd().has_value())
    return emitOpError() << "'std' is required with init(normal) and only "
                            "allowed there";
  if (getStd() && !(getStd()->convertToDouble() > 0.0))
    return emitOpError() << "'std' must be positive";
  return success();
}

LogicalResult ParamOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto param = lookupSymbol<ParameterOp>(*this, symbols, getNameAttr(),
                                         "mtgr.parameter");
  if (!param)
    return failure();
  if (param.getType() != getResult().getType())
    return emitOpError() << "type " << getResult().getType()
                         << " does not match the parameter's type "
                         << param.getType();
  return success();
}

LogicalResult TableOp::verify() {
  // I64Attr getters return uint64_t; read the signed value.
  int64_t rows = getRowsAttr().getInt(), dim = getDimAttr().getInt();
  if (rows <= 0)
    return emitOpError() << "rows must be positive, got " << rows;
  if (dim <= 0)
    return emitOpError() << "dim must be positive, got " << dim;
  bool dynamic = getKind() == TableKind::dynamic;
  if (!dynamic && (getAdmissionThreshold() || getEviction()))
    return emitOpError()
           << "admission_threshold and eviction apply to dynamic tables only";
  if (getAdmissionThresholdAttr() && getAdmissionThresholdAttr().getInt() < 0)
    return emitOpError() << "admission_threshold must be >= 0";
  return success();
}

LogicalResult EmbeddingLookupOp::verify() {
  Type ids = getIds().getType(), result = getResult().getType();
  if (!sameKind(ids, result))
    return emitOpError()
           << "ids and result must both be jagged or both per-sample tensors";
  if (rowWidth(result) < 0)
    return emitOpError() << "result rows must be vectors, got " << result;
  return success();
}

LogicalResult
EmbeddingLookupOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto table =
      lookupSymbol<TableOp>(*this, symbols, getTableAttr(), "mtgr.table");
  if (!table)
    return failure();
  int64_t width = rowWidth(getResult().getType());
  if (width != static_cast<int64_t>(table.getDim()))
    return emitOpError() << "result rows have width " << width << " but table "
                         << getTableAttr() << " has dim " << table.getDim();
  return success();
}

//===----------------------------------------------------------------------===//
// Optimisers
//===----------------------------------------------------------------------===//

namespace {
/// lr, eps > 0 and betas in [0, 1): what PyTorch's optimisers accept.
LogicalResult verifyHyperparameters(Operation *op, double lr, double eps,
                                    std::optional<double> beta1,
                                    std::optional<double> beta2) {
  if (!(lr > 0))
    return op->emitOpError() << "lr must be positive, got " << lr;
  if (!(eps > 0))
    return op->emitOpError() << "eps must be positive, got " << eps;
  for (auto [name, beta] : {std::pair{"beta1", beta1}, std::pair{"beta2", beta2}})
    if (beta && !(*beta >= 0 && *beta < 1))
      return op->emitOpError() << name << " must lie in [0, 1), got " << *beta;
  return success();
}
} // namespace

LogicalResult OptimizerOp::verify() {
  if (failed(verifyHyperparameters(*this, getLr().convertToDouble(),
                                   getEps().convertToDouble(),
                                   getBeta1().convertToDouble(),
                                   getBeta2().convertToDouble())))
    return failure();
  if (!(getWeightDecay().convertToDouble() >= 0))
    return emitOpError() << "weight_decay must be >= 0, got "
                         << getWeightDecay().convertToDouble();
  if (!(getSparseLr().convertToDouble() > 0))
    return emitOpError() << "sparse lr must be positive, got "
                         << getSparseLr().convertToDouble();
  auto all = (*this)->getParentOp()->getRegion(0).getOps<OptimizerOp>();
  if (*all.begin() != *this)
    return emitOpError() << "declared more than once in the module";
  return success();
}

LogicalResult
AdamUpdateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto param = lookupSymbol<ParameterOp>(*this, symbols, getParamAttr(),
                                         "mtgr.parameter");
  if (!param)
    return failure();
  if (param.getType() != getGrad().getType())
    return emitOpError() << "gradient type " << getGrad().getType()
                         << " does not match the parameter's type "
                         << param.getType();
  return verifyHyperparameters(*this, getLr().convertToDouble(),
                               getEps().convertToDouble(),
                               getBeta1().convertToDouble(),
                               getBeta2().convertToDouble());
}

LogicalResult SparseUpdateOp::verify() {
  if (getIds().empty())
    return emitOpError() << "needs at least one lookup";
  for (auto [ids, grads] : llvm::zip(getIds(), getGrads()))
    if (!sameKind(ids.getType(), grads.getType()))
      return emitOpError() << "ids " << ids.getType() << " and gradients "
                           << grads.getType() << " differ in kind";
  bool adam = getOptimizer() == SparseOptimizer::adam;
  if (adam != (getBeta1() && getBeta2()))
    return emitOpError() << (adam ? "adam needs beta1 and beta2"
                                  : "rowwise_adagrad takes no betas");
  auto beta = [](std::optional<APFloat> b) {
    return b ? std::optional<double>(b->convertToDouble()) : std::nullopt;
  };
  return verifyHyperparameters(*this, getLr().convertToDouble(),
                               getEps().convertToDouble(), beta(getBeta1()),
                               beta(getBeta2()));
}

LogicalResult
SparseUpdateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto table =
      lookupSymbol<TableOp>(*this, symbols, getTableAttr(), "mtgr.table");
  if (!table)
    return failure();
  for (Value g : getGrads())
    if (rowWidth(g.getType()) != static_cast<int64_t>(table.getDim()))
      return emitOpError() << "gradient rows " << g.getType()
                           << " do not match table " << getTableAttr()
                           << " of dim " << table.getDim();
  return success();
}

//===----------------------------------------------------------------------===//
// Jagged tensors
//===----------------------------------------------------------------------===//

static LogicalResult verifyValuesType(Operation *op, JaggedType jagged,
                                      Type valuesType) {
  auto values = cast<RankedTensorType>(valuesType);
  SmallVector<int64_t> expected{ShapedType::kDynamic};
  expected.append(jagged.getRowShape().begin(), jagged.getRowShape().end());
  if (values.getShape() != ArrayRef<int64_t>(expected) ||
      values.getElementType() != jagged.getElementType())
    return op->emitOpError()
           << "values must be " << RankedTensorType::get(expected, jagged.getElementType())
           << " for " << jagged << ", got " << values;
  return success();
}

LogicalResult JaggedFromPartsOp::verify() {
  return verifyValuesType(*this, cast<JaggedType>(getResult().getType()),
                          getValues().getType());
}

LogicalResult JaggedValuesOp::verify() {
  return verifyValuesType(*this, cast<JaggedType>(getInput().getType()),
                          getResult().getType());
}

//===----------------------------------------------------------------------===//
// Kernel-level ops
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  Type in = getInput().getType(), out = getResult().getType();
  if (failed(verifyVectorRows(*this, in, "input")) ||
      failed(verifyVectorRows(*this, out, "result")))
    return failure();
  if (!sameKind(in, out))
    return emitOpError() << "input and result must both be jagged or both "
                            "per-sample tensors";
  return verifyLinearChain(*this, rowWidth(in), getWeight(), getBias(),
                           rowWidth(out));
}

LogicalResult FusedLinearOp::verify() {
  Type in = getInput().getType();
  if (failed(verifyVectorRows(*this, in, "input")))
    return failure();
  if (getGate() && getGate().getType() != in)
    return emitOpError() << "gate must have the input's type " << in;
  bool norm = getLayout() || getGamma() || getBeta();
  if (norm && !(getLayout() && getGamma() && getBeta()))
    return emitOpError() << "norm needs a layout, gamma and beta";
  if (norm != getEps().has_value())
    return emitOpError() << (norm ? "norm needs eps" : "eps without norm");
  if (norm) {
    if (!isa<JaggedType>(in))
      return emitOpError() << "norm needs jagged rows (token groups)";
    if (!(getEps()->convertToDouble() > 0.0))
      return emitOpError() << "eps must be positive";
    if (failed(verifyGroupNormParams(*this, getGamma(), getBeta(), rowWidth(in), "fused_linear")))
      return failure();
  }
  auto w = cast<RankedTensorType>(getWeight().getType());
  int64_t out = w.getDimSize(0);
  if (getResults().empty())
    return emitOpError() << "needs at least one result";
  SmallVector<int64_t> widths;
  if (getSplits())
    widths.assign(getSplits()->begin(), getSplits()->end());
  else
    widths.push_back(out);
  ResultRange pieces = getResults();
  if (getPreactivation()) {
    if (!getSilu())
      return emitOpError() << "preactivation needs silu";
    if (pieces.empty() || rowWidth(pieces[0].getType()) != out ||
        !sameKind(in, pieces[0].getType()))
      return emitOpError() << "preactivation needs a first result of rows of width " << out;
    pieces = pieces.drop_front();
  }
  if (widths.size() != pieces.size())
    return emitOpError() << "has " << pieces.size() << " results for " << widths.size()
                         << " column pieces";
  int64_t total = 0;
  for (auto [width, r] : llvm::zip(widths, pieces)) {
    if (width <= 0)
      return emitOpError() << "column pieces must be positive, got " << width;
    if (failed(verifyVectorRows(*this, r.getType(), "result")))
      return failure();
    if (!sameKind(in, r.getType()))
      return emitOpError() << "input and results must all be jagged or all per-sample tensors";
    if (rowWidth(r.getType()) != width)
      return emitOpError() << "result of width " << rowWidth(r.getType()) << " for a piece of "
                           << width << " columns";
    total += width;
  }
  if (total != out)
    return emitOpError() << "column pieces cover " << total << " of " << out << " outputs";
  if (getResidual() && (pieces.size() != 1 || getResidual().getType() != pieces[0].getType()))
    return emitOpError() << "residual needs one result of its type";
  return verifyLinearChain(*this, rowWidth(in), getWeight(), getBias(), out);
}

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must be in [0, 1), got " << rate;
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  Type result = getResult().getType();
  for (Value v : getInputs())
    if (!sameKind(v.getType(), result))
      return emitOpError() << "inputs and result must all be jagged or all "
                              "per-sample tensors";
  int64_t total = totalWidth(*this, getInputs());
  if (total < 0 || failed(verifyVectorRows(*this, result, "result")))
    return failure();
  if (rowWidth(result) != total)
    return emitOpError() << "result width " << rowWidth(result)
                         << " is not the sum of the input widths " << total;
  return success();
}

LogicalResult ConcatSiluBackwardOp::verify() {
  if (getPieces().empty())
    return emitOpError() << "needs at least one piece";
  if (failed(verifyVectorRows(*this, getInput().getType(), "input")))
    return failure();
  int64_t total = totalWidth(*this, getPieces());
  if (total < 0)
    return failure();
  if (rowWidth(getInput().getType()) != total)
    return emitOpError() << "input width " << rowWidth(getInput().getType())
                         << " is not the sum of the piece widths " << total;
  return success();
}

LogicalResult StackOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  Type first = getInputs().front().getType();
  if (failed(verifyVectorRows(*this, first, "input")))
    return failure();
  for (Value v : getInputs())
    if (v.getType() != first)
      return emitOpError() << "inputs must all have type " << first;
  auto expected = RankedTensorType::get(
      {ShapedType::kDynamic, static_cast<int64_t>(getInputs().size()),
       rowWidth(first)},
      Float32Type::get(getContext()));
  if (getResult().getType() != expected)
    return emitOpError() << "result must be " << expected;
  return success();
}

LogicalResult ColumnSliceOp::verify() {
  Type in = getInput().getType(), out = getResult().getType();
  if (failed(verifyVectorRows(*this, in, "input")) ||
      failed(verifyVectorRows(*this, out, "result")))
    return failure();
  int64_t width = rowWidth(in);
  int64_t offset = getOffsetAttr().getInt(), size = getSizeAttr().getInt();
  if (offset < 0 || size <= 0 || offset + size > width)
    return emitOpError() << "columns [" << offset << ", " << offset + size
                         << ") are not inside a row of width " << width;
  if (!sameKind(in, out) || rowWidth(out) != static_cast<int64_t>(getSize()))
    return emitOpError() << "result must be " << withRowShape(in, {static_cast<int64_t>(getSize())});
  return success();
}

LogicalResult MeanPoolOp::verify() {
  Type expected = RankedTensorType::get(
      {ShapedType::kDynamic, rowWidth(getInput().getType())},
      Float32Type::get(getContext()));
  if (failed(verifyVectorRows(*this, getInput().getType(), "input")))
    return failure();
  if (getResult().getType() != expected)
    return emitOpError() << "result must be " << expected;
  return success();
}

LogicalResult BroadcastRowsOp::verify() {
  if (getRowShape(getInput().getType()) != getRowShape(getResult().getType()))
    return emitOpError() << "result rows must have the input's row shape";
  return success();
}

LogicalResult AssembleTokensOp::verify() {
  auto user = cast<RankedTensorType>(getUser().getType());
  if (user.getRank() != 3)
    return emitOpError() << "user tokens must be tensor<?x nU x d_model x f32>, got "
                         << user;
  int64_t d = user.getDimSize(2);
  for (auto [name, v] : {std::pair<StringRef, Value>{"sequence", getSequence()},
                         {"realtime", getRealtime()},
                         {"candidate", getCandidate()},
                         {"result", getTokens()}})
    if (rowWidth(v.getType()) != d)
      return emitOpError() << name << " tokens have width "
                           << rowWidth(v.getType())
                           << " but user tokens have width " << d;
  return success();
}

LogicalResult AssemblePrefixOp::verify() {
  auto user = cast<RankedTensorType>(getUser().getType());
  if (user.getRank() != 3)
    return emitOpError() << "user tokens must be tensor<?x nU x d_model x f32>, got " << user;
  int64_t d = user.getDimSize(2);
  for (auto [name, v] :
       {std::pair<StringRef, Value>{"sequence", getSequence()}, {"result", getTokens()}})
    if (rowWidth(v.getType()) != d)
      return emitOpError() << name << " tokens have width " << rowWidth(v.getType())
                           << " but user tokens have width " << d;
  return success();
}

LogicalResult AssembleSuffixOp::verify() {
  if (getUsers() < 0)
    return emitOpError() << "users must be >= 0, got " << getUsers();
  int64_t d = rowWidth(getRealtime().getType());
  for (auto [name, v] :
       {std::pair<StringRef, Value>{"candidate", getCandidate()}, {"result", getTokens()}})
    if (rowWidth(v.getType()) != d)
      return emitOpError() << name << " tokens have width " << rowWidth(v.getType())
                           << " but realtime tokens have width " << d;
  return success();
}

LogicalResult JoinGroupsOp::verify() {
  if (getPrefix() && getPrefix().getType() != getSuffix().getType())
    return emitOpError() << "prefix rows " << getPrefix().getType()
                         << " differ from the suffix rows " << getSuffix().getType();
  return success();
}

LogicalResult BuildMaskOp::verify() {
  if (getKind() == MaskKind::intervals)
    return emitOpError()
           << "the intervals mask comes from the batch; it is not built";
  return success();
}

LogicalResult GroupLayerNormOp::verify() {
  if (!(getEps().convertToDouble() > 0.0))
    return emitOpError() << "eps must be positive";
  if (failed(verifyVectorRows(*this, getInput().getType(), "input")))
    return failure();
  return verifyGroupNormParams(*this, getGamma(), getBeta(),
                               rowWidth(getInput().getType()), "group_layer_norm");
}

LogicalResult HstuAttentionOp::verify() {
  int64_t heads = getHeadsAttr().getInt();
  if (heads <= 0)
    return emitOpError() << "heads must be positive, got " << heads;
  for (Value v : {getQ(), getK(), getV(), getResult()})
    if (failed(verifyVectorRows(*this, v.getType(), "q/k/v/result")))
      return failure();
  int64_t q = rowWidth(getQ().getType()), k = rowWidth(getK().getType());
  int64_t v = rowWidth(getV().getType());
  if (q != k)
    return emitOpError() << "q has width " << q << " but k has width " << k;
  if (q % heads != 0 || v % heads != 0)
    return emitOpError() << "q/k width " << q << " and v width " << v
                         << " must be multiples of heads = " << heads;
  if (rowWidth(getResult().getType()) != v)
    return emitOpError() << "result width must equal v width " << v;
  if (!std::isfinite(getAlpha().convertToDouble()))
    return emitOpError() << "alpha must be finite";
  if (failed(verifyNNorm(*this, getNNorm(), getNNormConstant())))
    return failure();
  return verifyRab(*this, getRabPos(), getRabTime());
}

//===----------------------------------------------------------------------===//
// Model-level ops
//===----------------------------------------------------------------------===//

LogicalResult MlpOp::verify() {
  Type in = getInput().getType(), out = getResult().getType();
  if (failed(verifyVectorRows(*this, in, "input")) ||
      failed(verifyVectorRows(*this, out, "result")))
    return failure();
  if (!sameKind(in, out))
    return emitOpError() << "input and result must both be jagged or both "
                            "per-sample tensors";
  return verifyLinearChain(*this, rowWidth(in), getWeights(), getBiases(),
                           rowWidth(out));
}

LogicalResult ProfileTokensOp::verify() {
  auto result = cast<RankedTensorType>(getResult().getType());
  size_t n = getFeatures().size();
  if (n == 0)
    return emitOpError() << "needs at least one user feature";
  if (getWeights().size() != n || getBiases().size() != n)
    return emitOpError() << "needs one weight and one bias per feature (" << n
                         << " features, " << getWeights().size()
                         << " weights, " << getBiases().size() << " biases)";
  if (result.getRank() != 3 || result.getDimSize(1) != static_cast<int64_t>(n))
    return emitOpError() << "result must be tensor<?x" << n
                         << "xDxf32> (one token per feature), got " << result;
  for (size_t i = 0; i < n; ++i) {
    int64_t width = rowWidth(getFeatures()[i].getType());
    if (width < 0)
      return emitOpError() << "feature " << i << " must be tensor<?xNxf32>";
    if (failed(verifyLinearChain(*this, width, getWeights().slice(i, 1),
                                 getBiases().slice(i, 1),
                                 result.getDimSize(2))))
      return failure();
  }
  return success();
}

LogicalResult SequenceTokensOp::verify() {
  if (getFeatures().empty())
    return emitOpError() << "needs at least one event feature";
  int64_t width = totalWidth(*this, getFeatures());
  if (width < 0 ||
      failed(verifyVectorRows(*this, getResult().getType(), "result")))
    return failure();
  return verifyLinearChain(*this, width, getWeights(), getBiases(),
                           rowWidth(getResult().getType()));
}

LogicalResult CandidateTokensOp::verify() {
  if (getItems().empty())
    return emitOpError() << "needs at least one item feature";
  int64_t width = 0;
  for (ValueRange group : {ValueRange(getItems()), ValueRange(getCross()),
                           ValueRange(getSampleFeatures())}) {
    int64_t w = totalWidth(*this, group);
    if (w < 0)
      return failure();
    width += w;
  }
  if (failed(verifyVectorRows(*this, getResult().getType(), "result")))
    return failure();
  return verifyLinearChain(*this, width, getWeights(), getBiases(),
                           rowWidth(getResult().getType()));
}

LogicalResult HstuLayerOp::verify() {
  int64_t h = getHeadsAttr().getInt(), dqk = getDqkAttr().getInt(),
          dv = getDvAttr().getInt();
  if (h <= 0 || dqk <= 0 || dv <= 0)
    return emitOpError() << "heads, dqk and dv must be positive";
  if (getInput().getType() != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  if (failed(verifyVectorRows(*this, getInput().getType(), "input")))
    return failure();
  int64_t d = rowWidth(getInput().getType());
  auto shape = [](Value v) { return cast<RankedTensorType>(v.getType()).getShape(); };
  if (failed(verifyGroupNormParams(*this, getGln1Gamma(), getGln1Beta(), d, "gln1")) ||
      failed(verifyGroupNormParams(*this, getGln2Gamma(), getGln2Beta(), h * dv, "gln2")))
    return failure();
  int64_t uvqk = 2 * h * dv + 2 * h * dqk;
  if (shape(getUvqkWeight()) != ArrayRef<int64_t>{uvqk, d} ||
      shape(getUvqkBias())[0] != uvqk)
    return emitOpError() << "uvqk weight must be [" << uvqk << ", " << d
                         << "] and its bias [" << uvqk
                         << "] (2*heads*dv + 2*heads*dqk outputs)";
  if (shape(getOutWeight()) != ArrayRef<int64_t>{d, h * dv} ||
      shape(getOutBias())[0] != d)
    return emitOpError() << "out weight must be [" << d << ", " << h * dv
                         << "] and its bias [" << d << "]";
  if ((getMask() == MaskKind::intervals) != static_cast<bool>(getIntervals()))
    return emitOpError() << "the intervals(...) operand is required with "
                            "mask<intervals> and only allowed there";
  double dropout = getDropout().convertToDouble();
  if (!(dropout >= 0.0 && dropout < 1.0))
    return emitOpError() << "dropout must be in [0, 1), got " << dropout;
  if (!std::isfinite(getAlpha().convertToDouble()))
    return emitOpError() << "alpha must be finite";
  if (failed(verifyNNorm(*this, getNNorm(), getNNormConstant())))
    return failure();
  return verifyRab(*this, getRabPos(), getRabTime());
}

LogicalResult TaskHeadOp::verify() {
  if (failed(verifyVectorRows(*this, getInput().getType(), "input")))
    return failure();
  if (getLogits().getType() !=
      JaggedType::get(getContext(), {1}, Float32Type::get(getContext())))
    return emitOpError() << "logits must be !mtgr.jagged<1xf32>";
  return verifyLinearChain(*this, rowWidth(getInput().getType()), getWeights(),
                           getBiases(), 1);
}

LogicalResult BceLossOp::verify() {
  Type logit = JaggedType::get(getContext(), {1}, Float32Type::get(getContext()));
  if (getLogits().empty())
    return emitOpError() << "needs at least one task";
  for (Value v : getOperands())
    if (v.getType() != logit)
      return emitOpError() << "logits and labels must be " << logit;
  if (getTaskWeights().size() != getLogits().size())
    return emitOpError() << "has " << getTaskWeights().size()
                         << " task weights for " << getLogits().size()
                         << " tasks";
  if (!(getNormalizer().convertToDouble() > 0.0))
    return emitOpError() << "normalizer (expected candidates per step) must "
                            "be positive";
  return success();
}

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

/// A linear's gradients: the weight maps the input's rows to the result
/// gradient's, the weight and bias gradients have the parameters' shapes.
static LogicalResult verifyLinearGradients(Operation *op, Type x, Type dy, Value weight,
                                           Value weightGrad, Value biasGrad) {
  ArrayRef<int64_t> w = cast<RankedTensorType>(weight.getType()).getShape();
  if (rowWidth(x) != w[1] || rowWidth(dy) != w[0])
    return op->emitOpError() << "weight [" << w[0] << ", " << w[1] << "] does not map width "
                             << rowWidth(x) << " to width " << rowWidth(dy);
  if (weightGrad.getType() != weight.getType() ||
      cast<RankedTensorType>(biasGrad.getType()).getDimSize(0) != w[0])
    return op->emitOpError() << "weight and bias gradients must have the parameters' shapes";
  return success();
}

LogicalResult LinearBackwardOp::verify() {
  Type x = getInput().getType(), dy = getResultGrad().getType();
  if (!sameKind(x, dy) || getInputGrad().getType() != x)
    return emitOpError() << "input, result gradient and input gradient must be rows of the "
                            "same kind, the input gradient of the input's type";
  return verifyLinearGradients(*this, x, dy, getWeight(), getWeightGrad(), getBiasGrad());
}

LogicalResult LinearNormBackwardOp::verify() {
  Type x = getInput().getType();
  if (failed(verifyLinearGradients(*this, x, getResultGrad().getType(), getWeight(),
                                   getWeightGrad(), getBiasGrad())))
    return failure();
  if (getResidualGrad() && getResidualGrad().getType() != x)
    return emitOpError() << "residual gradient must have the input's type " << x;
  if (!(getEps().convertToDouble() > 0.0))
    return emitOpError() << "eps must be positive";
  return verifyGroupNormParams(*this, getGamma(), getGamma(), rowWidth(x), "linear_norm_backward");
}

LogicalResult ColumnPadOp::verify() {
  int64_t in = rowWidth(getInput().getType()), out = rowWidth(getResult().getType());
  int64_t offset = getOffsetAttr().getInt(), width = getWidthAttr().getInt();
  if (in < 0 || out != width || offset < 0 || offset + in > width ||
      !sameKind(getInput().getType(), getResult().getType()))
    return emitOpError() << "cannot place rows of width " << in << " at column " << offset
                         << " of rows of width " << width;
  return success();
}

LogicalResult SegmentSumOp::verify() {
  if (getRowShape(getInput().getType()) != getRowShape(getResult().getType()))
    return emitOpError() << "result rows must have the input's row shape";
  return success();
}

LogicalResult MeanPoolBackwardOp::verify() {
  if (getRowShape(getResultGrad().getType()) != getRowShape(getInput().getType()) ||
      getInputGrad().getType() != getInput().getType())
    return emitOpError() << "gradient rows must match the pooled rows";
  return success();
}

LogicalResult BceLossBackwardOp::verify() {
  Type logit = JaggedType::get(getContext(), {1}, Float32Type::get(getContext()));
  if (getLogits().empty() || getTaskWeights().size() != getLogits().size() ||
      getLogitGrads().size() != getLogits().size())
    return emitOpError() << "needs one weight and one gradient per task";
  for (Value v : getOperation()->getOperands())
    if (v.getType() != logit)
      return emitOpError() << "logits and labels must be " << logit;
  for (Value v : getLogitGrads())
    if (v.getType() != logit)
      return emitOpError() << "gradients must be " << logit;
  return success();
}

LogicalResult UnstackOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  if (in.getRank() != 3 || in.getDimSize(1) != static_cast<int64_t>(getResults().size()))
    return emitOpError() << "input must be tensor<?x" << getResults().size() << "xDxf32>";
  for (Value r : getResults())
    if (rowWidth(r.getType()) != in.getDimSize(2))
      return emitOpError() << "results must be tensor<?x" << in.getDimSize(2) << "xf32>";
  return success();
}

LogicalResult ExtractUserOp::verify() {
  auto out = cast<RankedTensorType>(getResult().getType());
  if (out.getRank() != 3 || out.getDimSize(2) != rowWidth(getInput().getType()))
    return emitOpError() << "result must be tensor<?x nU x " << rowWidth(getInput().getType())
                         << " x f32>";
  return success();
}
