//===- MTGROps.td - mtgr operations --------------------------*- tablegen -*-===//
//
// Model-level ops (tokenizers, mtgr.mlp, mtgr.hstu_layer, mtgr.task_head) carry
// the trait MTGR_ModelLevel; mtgr-decompose-layers rewrites every one of them
// into kernel-level ops.
//
//===----------------------------------------------------------------------===//

#ifndef MTGR_OPS_TD
#define MTGR_OPS_TD

include "dialect/MTGRTypes.td"
include "dialect/MTGRInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class MTGR_Op<string mnemonic, list<Trait> traits = []>
    : Op<MTGR_Dialect, mnemonic, traits>;

def MTGR_ModelLevel : NativeOpTrait<"ModelLevel"> {
  let cppNamespace = "::mlir::mtgr";
}

// The profile family of a kernel-level op (abi/AbiKinds.h ProfileFamily):
// Projections, Attention, Masks, Norms, Elementwise, Tokens, Loss, Optimizer.
class MTGR_Profiled<string family>
    : ParamNativeOpTrait<"ProfiledAs", "::mtgr::ProfileFamily::" # family> {
  let cppNamespace = "::mlir::mtgr";
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// A plain constraint (not the TypeDef itself) so that assembly formats print
// the full `!mtgr.jagged<...>` rather than the stripped `<...>`.
def MTGR_AnyJagged : Type<MTGR_JaggedType.predicate, "jagged tensor">;
def MTGR_JaggedF32 : Type<And<[MTGR_JaggedType.predicate,
    CPred<"::llvm::cast<::mlir::mtgr::JaggedType>($_self).getElementType().isF32()">]>,
    "jagged f32 tensor">;
def MTGR_JaggedI64Scalar : Type<And<[MTGR_JaggedType.predicate,
    CPred<"::llvm::cast<::mlir::mtgr::JaggedType>($_self).getRowShape().empty()">,
    CPred<"::llvm::cast<::mlir::mtgr::JaggedType>($_self).getElementType().isInteger(64)">]>,
    "jagged i64 scalars (ids or timestamps)">;
def MTGR_Intervals : Type<And<[MTGR_JaggedType.predicate,
    CPred<"::llvm::cast<::mlir::mtgr::JaggedType>($_self).getRowShape() == ::llvm::ArrayRef<int64_t>{3, 2}">,
    CPred<"::llvm::cast<::mlir::mtgr::JaggedType>($_self).getElementType().isInteger(32)">]>,
    "per-row attention intervals !mtgr.jagged<3x2xi32>">;
// Per-sample rows: tensor<? x ... x f32> with a dynamic leading (sample) dimension.
def MTGR_SampleRowsF32 : Type<And<[RankedTensorOf<[F32]>.predicate,
    CPred<"::llvm::cast<::mlir::RankedTensorType>($_self).getRank() >= 1">]>,
    "per-sample f32 tensor">;
def MTGR_RowsF32 : AnyTypeOf<[MTGR_JaggedF32, MTGR_SampleRowsF32]>;
def MTGR_IdsI64 : AnyTypeOf<[MTGR_JaggedI64Scalar, 1DTensorOf<[I64]>]>;
def MTGR_Matrix : 2DTensorOf<[F32]>;
def MTGR_Vector : 1DTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// Parameters and embedding tables
//===----------------------------------------------------------------------===//

def MTGR_ParameterOp : MTGR_Op<"parameter", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "a trainable dense parameter, declared once per module";
  let description = [{
    Names follow PyTorch (`layers.0.uvqk.weight`) and Linear weights are
    `[out, in]`, so a PyTorch state_dict exchanges directly (DESIGN 1.7).
    `no_decay` marks parameters that AdamW's weight decay skips (biases, GLN
    gammas and betas).

    ```mlir
    mtgr.parameter @"layers.0.uvqk.weight" : tensor<128x32xf32> init(xavier_uniform)
    mtgr.parameter @"layers.0.uvqk.bias" : tensor<128xf32> init(zeros) {no_decay}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<AnyStaticShapeTensor>:$type,
                       EnumProp<MTGR_Init>:$init,
                       OptionalAttr<F64Attr>:$std,
                       UnitAttr:$no_decay);
  let assemblyFormat = "$sym_name `:` $type `init` `(` $init `)` attr-dict";
  let hasVerifier = 1;
}

def MTGR_ParamOp : MTGR_Op<"param", [MemoryEffects<[MemRead]>,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the value of a module-level mtgr.parameter";
  let description = [{
    A read of the parameter's storage: `mtgr.adam_update` writes it.

    ```mlir
    %w = mtgr.param @"layers.0.uvqk.weight" : tensor<128x32xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def MTGR_TableOp : MTGR_Op<"table", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "an embedding table: fixed, hashed, or dynamic (DESIGN 1.2)";
  let description = [{
    `fixed`: ids must lie in `[0, rows)`. `hashed`: row = splitmix64(id) mod
    rows. `dynamic`: a hash map from raw 64-bit ids to at most `rows` rows,
    grown during training (rows seen `admission_threshold` times are admitted,
    the `eviction` policy frees rows at capacity), with a trained OOV row at
    inference. Its weight is the parameter `tables.<name>.weight`.

    ```mlir
    mtgr.table @item fixed rows(1000) dim(16)
    mtgr.table @query dynamic rows(100000) dim(8) {admission_threshold = 2 : i64, eviction = #mtgr.eviction<lfu>}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, EnumProp<MTGR_TableKind>:$kind,
                       I64Attr:$rows, I64Attr:$dim,
                       OptionalAttr<I64Attr>:$admission_threshold,
                       OptionalAttr<MTGR_EvictionAttr>:$eviction);
  let assemblyFormat = "$sym_name $kind `rows` `(` $rows `)` `dim` `(` $dim `)` attr-dict";
  let hasVerifier = 1;
}

def MTGR_EmbeddingLookupOp : MTGR_Op<"embedding_lookup", [MTGR_Profiled<"Tokens">, Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "gather one embedding row per id";
  let description = [{
    Ids are a jagged tensor of i64 scalars (one id per event or candidate) or a
    1-D tensor (one id per sample, for user features); the result has the same
    kind with rows of the table's width.

    ```mlir
    %e = mtgr.embedding_lookup @item %ids : !mtgr.jagged<i64> -> !mtgr.jagged<16xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$table, MTGR_IdsI64:$ids);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = "$table $ids attr-dict `:` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Optimisers (train_step)
//===----------------------------------------------------------------------===//

def MTGR_OptimizerOp : MTGR_Op<"optimizer", [HasParent<"::mlir::ModuleOp">]> {
  let summary = "the optimisers a generated train_step applies (DESIGN 1.8)";
  let description = [{
    Declared once per module from the description's `training` section.
    `mtgr-generate-train-step` reads it and ends the step with one
    `mtgr.adam_update` per dense parameter and one `mtgr.sparse_update` per
    embedding table; without it the step returns gradients only.

    ```mlir
    mtgr.optimizer adamw lr(1.0e-03) betas(0.9, 0.999) eps(1.0e-08) weight_decay(0.01)
        sparse(rowwise_adagrad lr(0.01))
    ```
  }];
  let arguments = (ins EnumProp<MTGR_DenseOptimizer>:$dense, F64Attr:$lr, F64Attr:$beta1,
                       F64Attr:$beta2, F64Attr:$eps, F64Attr:$weight_decay,
                       EnumProp<MTGR_SparseOptimizer>:$sparse, F64Attr:$sparse_lr);
  let assemblyFormat = [{
    $dense `lr` `(` $lr `)` `betas` `(` $beta1 `,` $beta2 `)` `eps` `(` $eps `)`
    `weight_decay` `(` $weight_decay `)` `sparse` `(` $sparse `lr` `(` $sparse_lr `)` `)` attr-dict
  }];
  let hasVerifier = 1;
}

def MTGR_AdamUpdateOp : MTGR_Op<"adam_update", [MTGR_Profiled<"Optimizer">, MemoryEffects<[MemRead, MemWrite]>,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "one Adam / AdamW step of a dense parameter, in place";
  let description = [{
    Updates the parameter and its moments (state slots `m` and `v`, kept next
    to the parameter) with PyTorch's Adam (`weight_decay` added to the
    gradient, L2) or AdamW (`decoupled`: the weight shrinks by
    lr * weight_decay first). The step number t of the bias corrections is the
    train_step's training counter + 1 (the counter the dropout stream reads).
    Reads of the parameter after the update see the new value;
    `mtgr-generate-train-step` puts the updates in a function of their own,
    `@apply_update`, called after the gradients are complete.

    ```mlir
    mtgr.adam_update @"layers.0.uvqk.weight", %g {lr = 1.0e-03 : f64, beta1 = 0.9 : f64,
        beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<128x32xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$param, AnyStaticShapeTensor:$grad, F64Attr:$lr,
                       F64Attr:$beta1, F64Attr:$beta2, F64Attr:$eps, F64Attr:$weight_decay,
                       UnitAttr:$decoupled);
  let assemblyFormat = "$param `,` $grad attr-dict `:` type($grad)";
}

def MTGR_SparseUpdateOp : MTGR_Op<"sparse_update", [MTGR_Profiled<"Optimizer">, MemoryEffects<[MemRead, MemWrite]>,
    SameVariadicOperandSize, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "update the embedding rows a step touched, in place";
  let description = [{
    `ids` are every lookup of the table in the step, `grads` their gradients
    (one row per id). Ids are mapped to rows as the table's kind says, rows
    are deduplicated and their gradients summed, then each touched row gets
    one step of row-wise Adagrad (one accumulator per row, slot `acc`:
    G += mean(g^2); w -= lr g / (sqrt(G) + eps)) or of Adam restricted to the
    touched rows (PyTorch SparseAdam; slots `m`, `v`; t as in
    `mtgr.adam_update`).

    ```mlir
    mtgr.sparse_update @item rowwise_adagrad ids(%s, %c) grads(%gs, %gc) {lr = 0.01 : f64, eps = 1.0e-08 : f64}
        : (!mtgr.jagged<i64>, !mtgr.jagged<i64>), (!mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$table, EnumProp<MTGR_SparseOptimizer>:$optimizer,
                       Variadic<MTGR_IdsI64>:$ids, Variadic<MTGR_RowsF32>:$grads, F64Attr:$lr,
                       F64Attr:$eps, OptionalAttr<F64Attr>:$beta1, OptionalAttr<F64Attr>:$beta2);
  let assemblyFormat = [{
    $table $optimizer `ids` `(` $ids `)` `grads` `(` $grads `)` attr-dict
    `:` `(` type($ids) `)` `,` `(` type($grads) `)`
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Jagged tensors
//===----------------------------------------------------------------------===//

def MTGR_JaggedFromPartsOp : MTGR_Op<"jagged_from_parts", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "build a jagged tensor from values and offsets";
  let description = [{
    ```mlir
    %j = mtgr.jagged_from_parts %values, %offsets : tensor<?x16xf32>, tensor<?xindex> -> !mtgr.jagged<16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$values, 1DTensorOf<[Index]>:$offsets);
  let results = (outs MTGR_AnyJagged:$result);
  let assemblyFormat = "$values `,` $offsets attr-dict `:` type($values) `,` type($offsets) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_JaggedValuesOp : MTGR_Op<"jagged_values", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "the values [sum_b n_b, row...] of a jagged tensor";
  let description = [{
    ```mlir
    %v = mtgr.jagged_values %j : !mtgr.jagged<16xf32> -> tensor<?x16xf32>
    ```
  }];
  let arguments = (ins MTGR_AnyJagged:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_JaggedOffsetsOp : MTGR_Op<"jagged_offsets", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "the offsets [B + 1] of a jagged tensor";
  let description = [{
    ```mlir
    %o = mtgr.jagged_offsets %j : !mtgr.jagged<16xf32> -> tensor<?xindex>
    ```
  }];
  let arguments = (ins MTGR_AnyJagged:$input);
  let results = (outs 1DTensorOf<[Index]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Kernel-level ops
//===----------------------------------------------------------------------===//

def MTGR_LinearOp : MTGR_Op<"linear", [MTGR_Profiled<"Projections">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "y = x W^T + b on every row (W stored [out, in] as PyTorch)";
  let description = [{
    Works on jagged rows (the jagged linear of HSTU) and on per-sample rows.

    ```mlir
    %y = mtgr.linear %x, %w, %b : !mtgr.jagged<32xf32>, tensor<128x32xf32>, tensor<128xf32> -> !mtgr.jagged<128xf32>
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, MTGR_Matrix:$weight, MTGR_Vector:$bias);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight) `,`
    type($bias) `->` type($result)
  }];
  let hasVerifier = 1;
}

class MTGR_ElementwiseUnary<string mnemonic, string sum>
    : MTGR_Op<mnemonic, [MTGR_Profiled<"Elementwise">, Pure, SameOperandsAndResultType, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = sum;
  let arguments = (ins MTGR_RowsF32:$input);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def MTGR_SiluOp : MTGR_ElementwiseUnary<"silu", "x * sigmoid(x), elementwise"> {
  let description = [{
    ```mlir
    %y = mtgr.silu %x : !mtgr.jagged<128xf32>
    ```
  }];
}

class MTGR_ElementwiseBinary<string mnemonic, string sum>
    : MTGR_Op<mnemonic, [MTGR_Profiled<"Elementwise">, Pure, SameOperandsAndResultType, Commutative, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = sum;
  let arguments = (ins MTGR_RowsF32:$lhs, MTGR_RowsF32:$rhs);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def MTGR_AddOp : MTGR_ElementwiseBinary<"add", "elementwise sum (the residual)"> {
  let description = [{
    ```mlir
    %y = mtgr.add %x, %z : !mtgr.jagged<32xf32>
    ```

    Canonicalization: a tree of adds (inner adds used once) whose leaves are
    all `column_pad`s into disjoint column ranges is the pads' inputs side by
    side: each run of adjacent ranges becomes one `concat` (padded unless it
    covers every column). That is the gradient of a value split into column
    pieces (U, V, Q, K out of one projection): one copy instead of a zeroed
    full-width buffer per piece and a pass over memory per sum.
  }];
  let hasCanonicalizer = 1;
}
def MTGR_MulOp : MTGR_ElementwiseBinary<"mul", "elementwise product (the output gate)"> {
  let description = [{
    ```mlir
    %y = mtgr.mul %o, %u : !mtgr.jagged<64xf32>
    ```
  }];
}

def MTGR_DropoutOp : MTGR_Op<"dropout", [MTGR_Profiled<"Elementwise">, SameOperandsAndResultType, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "inverted dropout in training, identity at inference";
  let description = [{
    The random stream is keyed by (seed, step, `stream`, token, column), so the
    reference reproduces it (DESIGN 1.3); `stream` is the layer index.

    ```mlir
    %y = mtgr.dropout %x {rate = 1.000000e-01 : f64, stream = 0 : i64} : !mtgr.jagged<64xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, F64Attr:$rate, I64Attr:$stream);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def MTGR_ConcatOp : MTGR_Op<"concat", [MTGR_Profiled<"Tokens">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "concatenate rows along the feature dimension";
  let description = [{
    All inputs are jagged with the same offsets, or all per-sample tensors.

    ```mlir
    %c = mtgr.concat %a, %b : !mtgr.jagged<16xf32>, !mtgr.jagged<1xf32> -> !mtgr.jagged<17xf32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_RowsF32>:$inputs);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_StackOp : MTGR_Op<"stack", [MTGR_Profiled<"Tokens">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "stack per-sample rows [B, D] into tokens [B, n, D]";
  let description = [{
    Gathers the U tokens (one per user feature) of every sample.

    ```mlir
    %u = mtgr.stack %t0, %t1 : tensor<?x32xf32>, tensor<?x32xf32> -> tensor<?x2x32xf32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_SampleRowsF32>:$inputs);
  let results = (outs MTGR_SampleRowsF32:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_ColumnSliceOp : MTGR_Op<"column_slice", [MTGR_Profiled<"Tokens">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "columns [offset, offset + size) of every row";
  let description = [{
    Splits the U, V, Q, K blocks out of the uvqk projection.

    ```mlir
    %q = mtgr.column_slice %h [64, 32] : !mtgr.jagged<128xf32> -> !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, I64Attr:$offset, I64Attr:$size);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = "$input `[` $offset `,` $size `]` attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_MeanPoolOp : MTGR_Op<"mean_pool", [MTGR_Profiled<"Tokens">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "mean of each sample's rows (zeros for an empty sample)";
  let description = [{
    ```mlir
    %m = mtgr.mean_pool %s : !mtgr.jagged<16xf32> -> tensor<?x16xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input);
  let results = (outs MTGR_SampleRowsF32:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_BroadcastRowsOp : MTGR_Op<"broadcast_rows", [MTGR_Profiled<"Tokens">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "repeat each sample's row once per row of a jagged tensor";
  let description = [{
    Gives every candidate of a sample the sample's context (DLRM-style models).

    ```mlir
    %b = mtgr.broadcast_rows %ctx, %like : tensor<?x16xf32>, !mtgr.jagged<i64> -> !mtgr.jagged<16xf32>
    ```
  }];
  let arguments = (ins MTGR_SampleRowsF32:$input, MTGR_AnyJagged:$like);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = "$input `,` $like attr-dict `:` type($input) `,` type($like) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_AssembleTokensOp : MTGR_Op<"assemble_tokens", [MTGR_Profiled<"Tokens">, Pure, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "pack U, S, R and C tokens into one jagged sequence per sample";
  let description = [{
    tokens(b) = [U_1..U_nU | S_1..S_nS | R_1..R_nR | C_1..C_K] (DESIGN 1.1).
    The timestamps of S, R and C (int64 seconds) go into the layout. S and R
    must be sorted by (timestamp, input index) and max t_S <= min t_C; the
    runtime checks this on every batch.

    ```mlir
    %x, %layout = mtgr.assemble_tokens %u, %s, %r, %c times(%ts, %tr, %tc)
        : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
          !mtgr.jagged<i64>, !mtgr.jagged<i64>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
    ```
  }];
  let arguments = (ins MTGR_SampleRowsF32:$user, MTGR_JaggedF32:$sequence,
                       MTGR_JaggedF32:$realtime, MTGR_JaggedF32:$candidate,
                       MTGR_JaggedI64Scalar:$sequence_times,
                       MTGR_JaggedI64Scalar:$realtime_times,
                       MTGR_JaggedI64Scalar:$candidate_times);
  let results = (outs MTGR_JaggedF32:$tokens, MTGR_LayoutType:$layout);
  let assemblyFormat = [{
    $user `,` $sequence `,` $realtime `,` $candidate
    `times` `(` $sequence_times `,` $realtime_times `,` $candidate_times `)` attr-dict
    `:` type($user) `,` type($sequence) `,` type($realtime) `,` type($candidate) `,`
    type($sequence_times) `,` type($realtime_times) `,` type($candidate_times)
    `->` type($tokens) `,` type($layout)
  }];
  let hasVerifier = 1;
}

def MTGR_AssemblePrefixOp : MTGR_Op<"assemble_prefix", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "pack the U and S tokens of every sample (encode_prefix's rows)";
  let description = [{
    `mtgr.assemble_tokens` without R and C: tokens(b) = [U | S], the layout
    of those rows (as if the sample had no R and no C). Built by the prefix
    split (passes/SplitPrefix.cpp) for `@encode_prefix`.

    ```mlir
    %x, %layout = mtgr.assemble_prefix %u, %s times(%ts)
        : tensor<?x2x32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout
    ```
  }];
  let arguments = (ins MTGR_SampleRowsF32:$user, MTGR_JaggedF32:$sequence,
                       MTGR_JaggedI64Scalar:$sequence_times);
  let results = (outs MTGR_JaggedF32:$tokens, MTGR_LayoutType:$layout);
  let assemblyFormat = [{
    $user `,` $sequence `times` `(` $sequence_times `)` attr-dict
    `:` type($user) `,` type($sequence) `,` type($sequence_times) `->` type($tokens) `,` type($layout)
  }];
  let hasVerifier = 1;
}

def MTGR_AssembleSuffixOp : MTGR_Op<"assemble_suffix", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "pack the R and C tokens of every sample, with the layout of the whole sample";
  let description = [{
    score_candidates' rows (passes/SplitPrefix.cpp): tokens(b) = [R | C] with
    `layout` over those rows (the groups per-row ops read), and
    `full_layout`: the layout of [U | S | R | C] as mtgr.assemble_tokens
    builds it (`users` U tokens, S counted from its timestamps), which the
    attention reads: positions, times and the mask of the whole sample.

    ```mlir
    %x, %layout, %full = mtgr.assemble_suffix %r, %c times(%ts, %tr, %tc) {users = 2 : i64}
        : !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<i64>, !mtgr.jagged<i64>,
          !mtgr.jagged<i64> -> !mtgr.jagged<32xf32>, !mtgr.layout, !mtgr.layout
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$realtime, MTGR_JaggedF32:$candidate,
                       MTGR_JaggedI64Scalar:$sequence_times,
                       MTGR_JaggedI64Scalar:$realtime_times,
                       MTGR_JaggedI64Scalar:$candidate_times, I64Attr:$users);
  let results = (outs MTGR_JaggedF32:$tokens, MTGR_LayoutType:$layout,
                      MTGR_LayoutType:$full_layout);
  let assemblyFormat = [{
    $realtime `,` $candidate `times` `(` $sequence_times `,` $realtime_times `,` $candidate_times `)`
    attr-dict `:` type($realtime) `,` type($candidate) `,` type($sequence_times) `,`
    type($realtime_times) `,` type($candidate_times) `->` type($tokens) `,` type($layout) `,`
    type($full_layout)
  }];
  let hasVerifier = 1;
}

def MTGR_ExtractGroupOp : MTGR_Op<"extract_group", [MTGR_Profiled<"Tokens">, Pure, AllTypesMatch<["input", "result"]>, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "the rows of one token group (or of consecutive groups), as a jagged tensor over the same samples";
  let description = [{
    With `through`, the rows of groups `group` to `through` (in U, S, R, C
    order): the prefix split takes the R and C rows of the attention's result.

    ```mlir
    %c = mtgr.extract_group candidate %x, %layout : !mtgr.jagged<32xf32>
    %rc = mtgr.extract_group realtime %x, %full {through = #mtgr<group candidate>} : !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins EnumProp<MTGR_TokenGroup>:$group, MTGR_JaggedF32:$input,
                       MTGR_LayoutType:$layout, OptionalAttr<MTGR_TokenGroupAttr>:$through);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = "$group $input `,` $layout attr-dict `:` type($input)";
}

def MTGR_BuildMaskOp : MTGR_Op<"build_mask", [MTGR_Profiled<"Masks">, Pure]> {
  let summary = "per-row attention intervals of a named mask";
  let description = [{
    Every mask of DESIGN 1.5 is, per row, at most 3 half-open column intervals
    `[begin, end)` in sample-local indices (an empty interval has begin = end).
    The `intervals` mask is not built: it comes from the batch.

    With `suffix_rows`, the U and S rows get no columns (three empty
    intervals): score_candidates computes only the R and C rows, against
    keys whose U and S rows come from encode_prefix (passes/SplitPrefix.cpp).

    ```mlir
    %m = mtgr.build_mask dynamic %layout : !mtgr.jagged<3x2xi32>
    %s = mtgr.build_mask dynamic %full {suffix_rows} : !mtgr.jagged<3x2xi32>
    ```
  }];
  let arguments = (ins EnumProp<MTGR_MaskKind>:$kind, MTGR_LayoutType:$layout,
                       UnitAttr:$suffix_rows);
  let results = (outs MTGR_Intervals:$result);
  let assemblyFormat = "$kind $layout attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def MTGR_AttentionTilesOp : MTGR_Op<"attention_tiles", [MTGR_Profiled<"Masks">, Pure]> {
  let summary = "mask analysis: the column tiles of each row block that hold a visible pair";
  let description = [{
    From a row-interval mask (`mtgr.build_mask` or a batch's intervals) and
    the layout: per sample, its rows in blocks of `row_block` and columns in
    tiles of `col_tile`; every (block, tile) with a visible pair is listed,
    classed full (all rows see all columns, both sizes complete) or partial.
    Also counts the pairs the attention will compute (listed tiles times
    row_block x col_tile, the sizes in the result type) and the visible ones. Inserted by
    `mtgr-plan-attention`, one per mask, shared by every layer's attention
    and its gradient.

    ```mlir
    %t = mtgr.attention_tiles %mask, %layout : !mtgr.jagged<3x2xi32> -> !mtgr.tile_list<16, 16>
    ```
  }];
  let arguments = (ins MTGR_Intervals:$mask, MTGR_LayoutType:$layout);
  let results = (outs MTGR_TileListType:$result);
  let assemblyFormat = "$mask `,` $layout attr-dict `:` type($mask) `->` qualified(type($result))";
}

def MTGR_GroupLayerNormOp : MTGR_Op<"group_layer_norm", [MTGR_Profiled<"Norms">, Pure, AllTypesMatch<["input", "result"]>, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "layer norm with gamma and beta chosen by the token's group (DESIGN 1.4)";
  let description = [{
    Mean and biased variance over the row; gamma and beta are `[4, D]`,
    indexed by the token group (user, sequence, realtime, candidate), or
    `[1, D]`: one row for every token (`norm_groups: shared`, plain LayerNorm).

    ```mlir
    %y = mtgr.group_layer_norm %x, %layout, %gamma, %beta {eps = 1.000000e-05 : f64}
        : !mtgr.jagged<32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, MTGR_LayoutType:$layout,
                       MTGR_Matrix:$gamma, MTGR_Matrix:$beta,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$eps);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = [{
    $input `,` $layout `,` $gamma `,` $beta attr-dict `:` type($input) `,`
    type($gamma) `,` type($beta)
  }];
  let hasVerifier = 1;
}

def MTGR_HstuAttentionOp : MTGR_Op<"hstu_attention", [MTGR_Profiled<"Attention">, Pure, AttrSizedOperandSegments, DeclareOpInterfaceMethods<MTGR_DifferentiableOpInterface>]> {
  let summary = "pointwise (SiLU) attention over per-row column intervals";
  let description = [{
    For each head h and row i:
    `O_h[i] = sum_{j in mask(i)} SiLU(alpha <Q_h[i], K_h[j]> + rab[i,j]) / n_norm(i) * V_h[j]`.
    Masked pairs are not computed. Q and K are `[N, heads*dqk]`, V and the
    result `[N, heads*dv]`, head-major. `rab(%pos, %time)` adds relative
    position and time-bucket biases (position table `[2*Pmax+1]`, time table
    `[NB]`). No N x N matrix exists at this level or below.

    ```mlir
    %o = mtgr.hstu_attention %q, %k, %v, %mask, %layout rab(%p, %t)
        {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr.n_norm<total>}
        : !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>,
          !mtgr.jagged<3x2xi32>, tensor<33xf32>, tensor<16xf32> -> !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$q, MTGR_JaggedF32:$k, MTGR_JaggedF32:$v,
                       MTGR_Intervals:$mask, MTGR_LayoutType:$layout,
                       Optional<MTGR_Vector>:$rab_pos, Optional<MTGR_Vector>:$rab_time,
                       Optional<MTGR_TileListType>:$tiles,
                       I64Attr:$heads, F64Attr:$alpha, MTGR_NNormAttr:$n_norm,
                       OptionalAttr<F64Attr>:$n_norm_constant);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $mask `,` $layout (`rab` `(` $rab_pos^ `,` $rab_time `)`)?
    (`tiles` `(` $tiles^ `:` type($tiles) `)`)? attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($mask)
    (`,` type($rab_pos)^ `,` type($rab_time))? `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Gradient ops (built by the gradient rules; kernel level)
//===----------------------------------------------------------------------===//

def MTGR_LinearBackwardOp : MTGR_Op<"linear_backward", [MTGR_Profiled<"Projections">, Pure]> {
  let summary = "gradients of mtgr.linear: dx = dy W, dW = sum_r dy_r x_r^T, db = sum_r dy_r";
  let description = [{
    ```mlir
    %dx, %dw, %db = mtgr.linear_backward %x, %w, %dy
        : !mtgr.jagged<8xf32>, tensor<4x8xf32>, !mtgr.jagged<4xf32>
          -> !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4xf32>
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, MTGR_Matrix:$weight, MTGR_RowsF32:$result_grad);
  let results = (outs MTGR_RowsF32:$input_grad, MTGR_Matrix:$weight_grad, MTGR_Vector:$bias_grad);
  let assemblyFormat = [{
    $input `,` $weight `,` $result_grad attr-dict `:` type($input) `,` type($weight) `,`
    type($result_grad) `->` type($input_grad) `,` type($weight_grad) `,` type($bias_grad)
  }];
  let hasVerifier = 1;
}

def MTGR_FusedLinearOp : MTGR_Op<"fused_linear", [MTGR_Profiled<"Projections">, Pure, AttrSizedOperandSegments]> {
  let summary = "a Linear with its prologue and epilogue (mtgr-fuse-linear)";
  let description = [{
    One GEMM instead of a chain of passes over memory (DESIGN 2):

      a = input (* gate)                       prologue: the output gate
      a = group_layer_norm(a, layout, gamma, beta, eps)   prologue: GLN
      y = a W^T + bias
      y = silu(y)                              epilogue, with `silu`
      y = residual + y                         epilogue, with `residual`
      results = y's columns in pieces of `splits` widths (all of y without)

    With `preactivation` (and `silu`) the first result is a W^T + bias
    before SiLU, whole: a train step's `silu_backward` reads it, so the
    GEMM writes it beside the activated pieces (no separate SiLU and
    column-slice passes over memory).

    Made by mtgr-fuse-linear from ops whose intermediates have no other use
    (the pre-activation aside), so it needs no gradient: in a train step the
    saved activations keep most chains apart.

    ```mlir
    %u, %v, %q, %k = mtgr.fused_linear %x norm(%layout, %gamma, %beta) weight %w bias %b
        {eps = 1.000000e-05 : f64, silu, splits = array<i64: 32, 32, 32, 32>}
        : (!mtgr.jagged<32xf32>, !mtgr.layout, tensor<4x32xf32>, tensor<4x32xf32>,
           tensor<128x32xf32>, tensor<128xf32>)
          -> (!mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>, !mtgr.jagged<32xf32>)
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, Optional<MTGR_RowsF32>:$gate,
                       Optional<MTGR_LayoutType>:$layout, Optional<MTGR_Matrix>:$gamma,
                       Optional<MTGR_Matrix>:$beta, MTGR_Matrix:$weight, MTGR_Vector:$bias,
                       Optional<MTGR_RowsF32>:$residual, OptionalAttr<F64Attr>:$eps,
                       UnitAttr:$silu, OptionalAttr<DenseI64ArrayAttr>:$splits,
                       UnitAttr:$preactivation);
  let results = (outs Variadic<MTGR_RowsF32>:$results);
  let assemblyFormat = [{
    $input (`gate` $gate^)? (`norm` `(` $layout^ `,` $gamma `,` $beta `)`)? `weight` $weight
    `bias` $bias (`residual` $residual^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_LinearNormBackwardOp : MTGR_Op<"linear_norm_backward",
    [MTGR_Profiled<"Projections">, Pure,
     AllTypesMatch<["input", "norm_input", "norm_input_grad"]>,
     AllTypesMatch<["gamma", "gamma_grad", "beta_grad"]>]> {
  let summary = "linear_backward, then group_layer_norm_backward of its input gradient (mtgr-cpu-fuse-norm-backward)";
  let description = [{
    A linear's gradients where its input is a group layer norm's output
    (every HSTU projection in a train step), with the norm's gradients:

      dn = dy W                      the linear's input gradient
      dx, dgamma, dbeta = group_layer_norm_backward(norm_input, layout, gamma, dn, eps)
      dx = residual_grad + dx        with `residual_grad` (the layer's residual path)
      dW = dy^T input, db = sum_r dy_r     as mtgr.linear_backward

    The CPU back end runs the norm's per-row part on each block of dn's
    rows as soon as the GEMM has finished them, while they are in cache,
    and adds the residual gradient there (no separate pass over dn, no
    add); dgamma and dbeta stay a pass over columns, the rows in order.

    ```mlir
    %dx, %dw, %db, %dg, %dbeta = mtgr.linear_norm_backward %n, %w, %dy
        norm(%x, %layout, %gamma) residual(%dr : !mtgr.jagged<16xf32>) {eps = 1.0e-05 : f64}
        : !mtgr.jagged<16xf32>, tensor<64x16xf32>, !mtgr.jagged<64xf32>
          -> tensor<64x16xf32>, tensor<64xf32>, tensor<4x16xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, MTGR_Matrix:$weight, MTGR_JaggedF32:$result_grad,
                       MTGR_JaggedF32:$norm_input, MTGR_LayoutType:$layout, MTGR_Matrix:$gamma,
                       Optional<MTGR_JaggedF32>:$residual_grad,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$eps);
  let results = (outs MTGR_JaggedF32:$norm_input_grad, MTGR_Matrix:$weight_grad,
                      MTGR_Vector:$bias_grad, MTGR_Matrix:$gamma_grad, MTGR_Matrix:$beta_grad);
  let assemblyFormat = [{
    $input `,` $weight `,` $result_grad `norm` `(` $norm_input `,` $layout `,` $gamma `)`
    (`residual` `(` $residual_grad^ `:` type($residual_grad) `)`)? attr-dict `:`
    type($input) `,` type($weight) `,` type($result_grad) `->` type($weight_grad) `,`
    type($bias_grad) `,` type($gamma_grad)
  }];
  let hasVerifier = 1;
}

def MTGR_SiluBackwardOp : MTGR_Op<"silu_backward", [MTGR_Profiled<"Elementwise">, Pure, AllTypesMatch<["input", "result_grad", "input_grad"]>]> {
  let summary = "dx = dy * silu'(x)";
  let description = [{
    ```mlir
    %dx = mtgr.silu_backward %x, %dy : !mtgr.jagged<8xf32>
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, MTGR_RowsF32:$result_grad);
  let results = (outs MTGR_RowsF32:$input_grad);
  let assemblyFormat = "$input `,` $result_grad attr-dict `:` type($input)";
}

def MTGR_ConcatSiluBackwardOp : MTGR_Op<"concat_silu_backward",
    [MTGR_Profiled<"Elementwise">, Pure, AllTypesMatch<["input", "input_grad"]>]> {
  let summary = "silu_backward of a concat of gradients, read where they lie (mtgr-cpu-fuse-silu-backward)";
  let description = [{
    `mtgr.silu_backward %x, (mtgr.concat %pieces)` without the concat: the
    gradient's columns come from the pieces in order (their widths sum to
    x's), dx = piece[r, c - offset] * silu'(x[r, c]). In a train step the
    HSTU layer's U, V, Q and K gradients meet so before the U/V/Q/K
    projection's backward; the CPU back end reads them in one pass instead
    of copying them into one buffer first.

    ```mlir
    %dx = mtgr.concat_silu_backward %x, %du, %dv : !mtgr.jagged<8xf32>, !mtgr.jagged<4xf32>, !mtgr.jagged<4xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, Variadic<MTGR_JaggedF32>:$pieces);
  let results = (outs MTGR_JaggedF32:$input_grad);
  let assemblyFormat = "$input `,` $pieces attr-dict `:` type($input) `,` type($pieces)";
  let hasVerifier = 1;
}

def MTGR_ColumnPadOp : MTGR_Op<"column_pad", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "rows placed at columns [offset, offset + width) of zero rows of `width` (column_slice's gradient)";
  let description = [{
    ```mlir
    %d = mtgr.column_pad %dy [16, 64] : !mtgr.jagged<16xf32> -> !mtgr.jagged<64xf32>
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, I64Attr:$offset, I64Attr:$width);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = "$input `[` $offset `,` $width `]` attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_SegmentSumOp : MTGR_Op<"segment_sum", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "sum of each sample's rows (broadcast_rows' gradient)";
  let description = [{
    ```mlir
    %s = mtgr.segment_sum %dy : !mtgr.jagged<16xf32> -> tensor<?x16xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input);
  let results = (outs MTGR_SampleRowsF32:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_MeanPoolBackwardOp : MTGR_Op<"mean_pool_backward", [MTGR_Profiled<"Tokens">, Pure, AllTypesMatch<["input", "input_grad"]>]> {
  let summary = "each sample's row divided by its row count, repeated per row (mean_pool's gradient)";
  let description = [{
    ```mlir
    %d = mtgr.mean_pool_backward %dm, %x : tensor<?x16xf32>, !mtgr.jagged<16xf32>
    ```
  }];
  let arguments = (ins MTGR_SampleRowsF32:$result_grad, MTGR_JaggedF32:$input);
  let results = (outs MTGR_JaggedF32:$input_grad);
  let assemblyFormat = "$result_grad `,` $input attr-dict `:` type($result_grad) `,` type($input)";
  let hasVerifier = 1;
}

def MTGR_BceLossBackwardOp : MTGR_Op<"bce_loss_backward", [MTGR_Profiled<"Loss">, Pure, SameVariadicOperandSize]> {
  let summary = "d loss / d logit = w_t (sigmoid(logit) - y) / C_expected";
  let description = [{
    ```mlir
    %d0, %d1 = mtgr.bce_loss_backward (%ctr, %ctcvr) labels(%y0, %y1)
        {task_weights = [1.0, 1.0], normalizer = 256.0 : f64}
        : (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>)
          -> !mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_JaggedF32>:$logits, Variadic<MTGR_JaggedF32>:$labels,
                       F64ArrayAttr:$task_weights, F64Attr:$normalizer);
  let results = (outs Variadic<MTGR_JaggedF32>:$logit_grads);
  let assemblyFormat = [{
    `(` $logits `)` `labels` `(` $labels `)` attr-dict
    `:` `(` type($logits) `)` `,` `(` type($labels) `)` `->` type($logit_grads)
  }];
  let hasVerifier = 1;
}

def MTGR_UnstackOp : MTGR_Op<"unstack", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "split tokens [B, n, D] into n per-sample rows [B, D] (stack's gradient)";
  let description = [{
    ```mlir
    %a, %b = mtgr.unstack %u : tensor<?x2x16xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
    ```
  }];
  let arguments = (ins MTGR_SampleRowsF32:$input);
  let results = (outs Variadic<MTGR_SampleRowsF32>:$results);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($results)";
  let hasVerifier = 1;
}

def MTGR_ExtractUserOp : MTGR_Op<"extract_user", [MTGR_Profiled<"Tokens">, Pure]> {
  let summary = "the U tokens of every sample as [B, nU, D] (assemble_tokens' gradient for U)";
  let description = [{
    ```mlir
    %u = mtgr.extract_user %dx, %layout : !mtgr.jagged<16xf32> -> tensor<?x2x16xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, MTGR_LayoutType:$layout);
  let results = (outs MTGR_SampleRowsF32:$result);
  let assemblyFormat = "$input `,` $layout attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def MTGR_ScatterGroupOp : MTGR_Op<"scatter_group", [MTGR_Profiled<"Tokens">, Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "a token group's rows put back at their place among all tokens, zeros elsewhere";
  let description = [{
    The gradient of mtgr.extract_group; with `through`, the rows of groups
    `group` to `through` (the prefix split places cached U and S keys, and
    the request's R and C rows, among all of a sample's rows).

    ```mlir
    %d = mtgr.scatter_group candidate %dc, %layout : !mtgr.jagged<16xf32>
    %k = mtgr.scatter_group user %cached, %full {through = #mtgr<group sequence>} : !mtgr.jagged<16xf32>
    ```
  }];
  let arguments = (ins EnumProp<MTGR_TokenGroup>:$group, MTGR_JaggedF32:$input,
                       MTGR_LayoutType:$layout, OptionalAttr<MTGR_TokenGroupAttr>:$through);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = "$group $input `,` $layout attr-dict `:` type($input)";
}

def MTGR_JoinGroupsOp : MTGR_Op<"join_groups",
    [MTGR_Profiled<"Tokens">, Pure, AllTypesMatch<["suffix", "result"]>]> {
  let summary = "a sample's U and S rows from one value, its R and C rows from another, in one pass";
  let description = [{
    Every row of `layout` (a whole sample's, as mtgr.assemble_suffix's
    `full_layout`): the user and sequence rows from `prefix` (each sample's
    rows of those groups, packed), the realtime and candidate rows from
    `suffix` (each sample's rows of those groups, packed). Without `prefix`
    the user and sequence rows are zero. The prefix split's
    @score_candidates builds each layer's keys and values this way from the
    cached rows and the request's, and its queries from the request's rows
    alone: one write per row, where scatter_group + scatter_group + add
    wrote every row three times.

    ```mlir
    %k = mtgr.join_groups %request_k, %full prefix(%cached : !mtgr.jagged<16xf32>) : !mtgr.jagged<16xf32>
    %q = mtgr.join_groups %request_q, %full : !mtgr.jagged<16xf32>
    ```
  }];
  // (The optional operand last: ODS infers the result's type from the
  // suffix by operand position.)
  let arguments = (ins MTGR_JaggedF32:$suffix, MTGR_LayoutType:$layout,
                       Optional<MTGR_JaggedF32>:$prefix);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = [{
    $suffix `,` $layout (`prefix` `(` $prefix^ `:` type($prefix) `)`)? attr-dict `:` type($suffix)
  }];
  let hasVerifier = 1;
}

def MTGR_GroupLayerNormBackwardOp : MTGR_Op<"group_layer_norm_backward",
    [MTGR_Profiled<"Norms">, Pure, AllTypesMatch<["input", "result_grad", "input_grad"]>,
     AllTypesMatch<["gamma", "gamma_grad", "beta_grad"]>]> {
  let summary = "gradients of mtgr.group_layer_norm (input, and per-group gamma and beta)";
  let description = [{
    ```mlir
    %dx, %dg, %db = mtgr.group_layer_norm_backward %x, %layout, %gamma, %dy
        : !mtgr.jagged<16xf32>, tensor<4x16xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, MTGR_LayoutType:$layout, MTGR_Matrix:$gamma,
                       MTGR_JaggedF32:$result_grad, DefaultValuedAttr<F64Attr, "1.0e-5">:$eps);
  let results = (outs MTGR_JaggedF32:$input_grad, MTGR_Matrix:$gamma_grad, MTGR_Matrix:$beta_grad);
  let assemblyFormat = [{
    $input `,` $layout `,` $gamma `,` $result_grad attr-dict `:` type($input) `,` type($gamma)
  }];
}

def MTGR_HstuAttentionBackwardOp : MTGR_Op<"hstu_attention_backward",
    [MTGR_Profiled<"Attention">, Pure, AttrSizedOperandSegments]> {
  let summary = "gradients of mtgr.hstu_attention: dq, dk, dv (and the rab tables')";
  let description = [{
    Walks the same per-row column intervals as the forward op, recomputing each
    pair's score: no N x N buffer exists.

    ```mlir
    %dq, %dk, %dv = mtgr.hstu_attention_backward %q, %k, %v, %mask, %layout, %do
        {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm total>}
        : !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<3x2xi32>,
          !mtgr.jagged<16xf32> -> !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>
    %dq2, %dk2, %dv2, %dp, %dt = mtgr.hstu_attention_backward %q, %k, %v, %mask, %layout, %do rab(%p, %t)
        {heads = 2 : i64, alpha = 0.25 : f64, n_norm = #mtgr<n_norm total>}
        : !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<3x2xi32>,
          !mtgr.jagged<16xf32>, tensor<9xf32>, tensor<8xf32>
          -> !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, !mtgr.jagged<16xf32>, tensor<9xf32>, tensor<8xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$q, MTGR_JaggedF32:$k, MTGR_JaggedF32:$v,
                       MTGR_Intervals:$mask, MTGR_LayoutType:$layout,
                       Optional<MTGR_Vector>:$rab_pos, Optional<MTGR_Vector>:$rab_time,
                       MTGR_JaggedF32:$result_grad, Optional<MTGR_TileListType>:$tiles,
                       I64Attr:$heads, F64Attr:$alpha, MTGR_NNormAttr:$n_norm,
                       OptionalAttr<F64Attr>:$n_norm_constant);
  let results = (outs MTGR_JaggedF32:$q_grad, MTGR_JaggedF32:$k_grad, MTGR_JaggedF32:$v_grad,
                      Variadic<MTGR_Vector>:$rab_grads);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $mask `,` $layout `,` $result_grad (`rab` `(` $rab_pos^ `,` $rab_time `)`)?
    (`tiles` `(` $tiles^ `:` type($tiles) `)`)? attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($mask) `,` type($result_grad)
    (`,` type($rab_pos)^ `,` type($rab_time))?
    `->` type($q_grad) `,` type($k_grad) `,` type($v_grad) (`,` type($rab_grads)^)?
  }];
}

//===----------------------------------------------------------------------===//
// Model-level ops
//===----------------------------------------------------------------------===//

def MTGR_MlpOp : MTGR_Op<"mlp", [Pure, MTGR_ModelLevel, AttrSizedOperandSegments]> {
  let summary = "Linear layers with SiLU between them and nothing after the last";
  let description = [{
    ```mlir
    %y = mtgr.mlp %x weights(%w0, %w1) biases(%b0, %b1)
        : (!mtgr.jagged<17xf32>, tensor<64x17xf32>, tensor<32x64xf32>, tensor<64xf32>, tensor<32xf32>)
          -> !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins MTGR_RowsF32:$input, Variadic<MTGR_Matrix>:$weights,
                       Variadic<MTGR_Vector>:$biases);
  let results = (outs MTGR_RowsF32:$result);
  let assemblyFormat = [{
    $input `weights` `(` $weights `)` `biases` `(` $biases `)` attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_ProfileTokensOp : MTGR_Op<"profile_tokens",
    [Pure, MTGR_ModelLevel, AttrSizedOperandSegments]> {
  let summary = "U tokenizer: one Linear per user feature, one token per feature";
  let description = [{
    Feature f (an embedding `[B, E_f]` or dense values `[B, D_f]`) becomes
    token f = Linear_f(x_f) of width d_model; the result is `[B, nU, d_model]`.

    ```mlir
    %u = mtgr.profile_tokens (%e0, %x1) weights(%w0, %w1) biases(%b0, %b1)
        : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<32x8xf32>, tensor<32x1xf32>,
           tensor<32xf32>, tensor<32xf32>) -> tensor<?x2x32xf32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_SampleRowsF32>:$features,
                       Variadic<MTGR_Matrix>:$weights, Variadic<MTGR_Vector>:$biases);
  let results = (outs MTGR_SampleRowsF32:$result);
  let assemblyFormat = [{
    `(` $features `)` `weights` `(` $weights `)` `biases` `(` $biases `)` attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_SequenceTokensOp : MTGR_Op<"sequence_tokens",
    [Pure, MTGR_ModelLevel, AttrSizedOperandSegments]> {
  let summary = "S / R tokenizer: MLP_seq over the concatenated event features";
  let description = [{
    One token per event: MLP(concat(event embeddings, event dense features)).

    ```mlir
    %s = mtgr.sequence_tokens (%item, %dwell) weights(%w0, %w1) biases(%b0, %b1)
        : (!mtgr.jagged<16xf32>, !mtgr.jagged<1xf32>, tensor<64x17xf32>, tensor<32x64xf32>,
           tensor<64xf32>, tensor<32xf32>) -> !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_JaggedF32>:$features,
                       Variadic<MTGR_Matrix>:$weights, Variadic<MTGR_Vector>:$biases);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = [{
    `(` $features `)` `weights` `(` $weights `)` `biases` `(` $biases `)` attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_CandidateTokensOp : MTGR_Op<"candidate_tokens",
    [Pure, MTGR_ModelLevel, AttrSizedOperandSegments]> {
  let summary = "C tokenizer: MLP_cand over item features, cross features and optional context";
  let description = [{
    One token per candidate: MLP(concat(item embeddings, categorical cross
    embeddings, dense cross features, context)). `context` holds per-sample
    rows (DLRM-style models: the U embeddings and the mean-pooled S and R
    event embeddings) repeated for each of the sample's candidates.

    ```mlir
    %c = mtgr.candidate_tokens items(%item) cross(%ctr) context() weights(%w) biases(%b)
        : (!mtgr.jagged<16xf32>, !mtgr.jagged<1xf32>, tensor<32x17xf32>, tensor<32xf32>)
          -> !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_JaggedF32>:$items, Variadic<MTGR_JaggedF32>:$cross,
                       Variadic<MTGR_SampleRowsF32>:$sample_features,
                       Variadic<MTGR_Matrix>:$weights, Variadic<MTGR_Vector>:$biases);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = [{
    `items` `(` $items `)` `cross` `(` $cross `)` `context` `(` $sample_features `)`
    `weights` `(` $weights `)` `biases` `(` $biases `)` attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_HstuLayerOp : MTGR_Op<"hstu_layer",
    [Pure, MTGR_ModelLevel, AttrSizedOperandSegments]> {
  let summary = "one HSTU layer, MTGR variant (DESIGN 1.3)";
  let description = [{
    ```
    Xn      = GLN_1(X)
    H       = SiLU(Xn W_uvqk + b_uvqk)            blocks U, V, Q, K, head-major
    A_h     = M * SiLU(alpha Q_h K_h^T + rab) / n_norm
    O       = concat_h A_h V_h
    Y       = GLN_2(O * U)   (gate_then_norm)  or  GLN_2(O) * U   (norm_then_gate)
    X + Dropout(Y) W_o + b_o
    ```
    The mask is named by `mask`; the `intervals` mask takes its per-row
    intervals from the `intervals(...)` operand.

    ```mlir
    %y = mtgr.hstu_layer %x, %layout gln1(%g1, %b1) uvqk(%w, %b) gln2(%g2, %b2) out(%wo, %bo)
        {heads = 2 : i64, dqk = 16 : i64, dv = 16 : i64, alpha = 0.25 : f64,
         mask = #mtgr.mask<dynamic>, n_norm = #mtgr.n_norm<total>,
         norm_order = #mtgr.norm_order<gate_then_norm>, dropout = 0.0 : f64, layer = 0 : i64}
        : (...) -> !mtgr.jagged<32xf32>
    ```
  }];
  let arguments = (ins MTGR_JaggedF32:$input, MTGR_LayoutType:$layout,
                       MTGR_Matrix:$gln1_gamma, MTGR_Matrix:$gln1_beta,
                       MTGR_Matrix:$uvqk_weight, MTGR_Vector:$uvqk_bias,
                       MTGR_Matrix:$gln2_gamma, MTGR_Matrix:$gln2_beta,
                       MTGR_Matrix:$out_weight, MTGR_Vector:$out_bias,
                       Optional<MTGR_Vector>:$rab_pos, Optional<MTGR_Vector>:$rab_time,
                       Optional<MTGR_Intervals>:$intervals,
                       I64Attr:$heads, I64Attr:$dqk, I64Attr:$dv, F64Attr:$alpha,
                       MTGR_MaskKindAttr:$mask, MTGR_NNormAttr:$n_norm,
                       OptionalAttr<F64Attr>:$n_norm_constant,
                       MTGR_NormOrderAttr:$norm_order, F64Attr:$dropout, I64Attr:$layer);
  let results = (outs MTGR_JaggedF32:$result);
  let assemblyFormat = [{
    $input `,` $layout `gln1` `(` $gln1_gamma `,` $gln1_beta `)`
    `uvqk` `(` $uvqk_weight `,` $uvqk_bias `)` `gln2` `(` $gln2_gamma `,` $gln2_beta `)`
    `out` `(` $out_weight `,` $out_bias `)`
    (`rab` `(` $rab_pos^ `,` $rab_time `)`)? (`intervals` `(` $intervals^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_TaskHeadOp : MTGR_Op<"task_head", [Pure, MTGR_ModelLevel, AttrSizedOperandSegments]> {
  let summary = "a task's MLP on the candidate tokens: one logit per candidate";
  let description = [{
    ```mlir
    %logit = mtgr.task_head "ctr" %c weights(%w0, %w1) biases(%b0, %b1)
        : (!mtgr.jagged<32xf32>, tensor<16x32xf32>, tensor<1x16xf32>, tensor<16xf32>, tensor<1xf32>)
          -> !mtgr.jagged<1xf32>
    ```
  }];
  let arguments = (ins StrAttr:$task, MTGR_JaggedF32:$input,
                       Variadic<MTGR_Matrix>:$weights, Variadic<MTGR_Vector>:$biases);
  let results = (outs MTGR_JaggedF32:$logits);
  let assemblyFormat = [{
    $task $input `weights` `(` $weights `)` `biases` `(` $biases `)` attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def MTGR_BceLossOp : MTGR_Op<"bce_loss", [MTGR_Profiled<"Loss">, Pure, SameVariadicOperandSize]> {
  let summary = "sum_t w_t sum_c BCEWithLogits(logit_tc, y_tc) / C_expected (DESIGN 1.6)";
  let description = [{
    `normalizer` is C_expected, the fixed expected number of candidates per
    step: dividing by the batch's own count would bias the gradient of
    token-balanced batches.

    ```mlir
    %loss = mtgr.bce_loss (%ctr, %ctcvr) labels(%y0, %y1)
        {task_weights = [1.0, 1.0], normalizer = 256.0 : f64}
        : (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>), (!mtgr.jagged<1xf32>, !mtgr.jagged<1xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<MTGR_JaggedF32>:$logits, Variadic<MTGR_JaggedF32>:$labels,
                       F64ArrayAttr:$task_weights, F64Attr:$normalizer);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    `(` $logits `)` `labels` `(` $labels `)` attr-dict
    `:` `(` type($logits) `)` `,` `(` type($labels) `)` `->` type($loss)
  }];
  let hasVerifier = 1;
}

#endif // MTGR_OPS_TD
