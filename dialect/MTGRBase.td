//===- MTGRBase.td - the mtgr dialect and its enums ---------*- tablegen -*-===//
//
// The dialect of generative recommenders of the MTGR/HSTU family. Semantics:
// ../shared/DESIGN.md section 1. The IR is target-neutral: nothing here names a
// device, a memory layout beyond "values + offsets", or a loop order.
//
//===----------------------------------------------------------------------===//

#ifndef MTGR_BASE_TD
#define MTGR_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def MTGR_Dialect : Dialect {
  let name = "mtgr";
  let cppNamespace = "::mlir::mtgr";
  let summary = "Generative recommenders (MTGR / HSTU): jagged token sequences, "
                "tokenizers, HSTU layers, masks, heads and losses";
  let description = [{
    A sample is one user request group: the tokens `[U | S | R | C]` (user
    profile features, long behaviour sequence, real-time sequence, candidates)
    of one user. Samples have different lengths, so sequences are *jagged*
    tensors: `values` of shape `[sum_b n_b, row...]` plus `offsets` `[B + 1]`.

    The dialect has two levels. Model-level ops (`mtgr.hstu_layer`, the
    tokenizers, `mtgr.mlp`, `mtgr.task_head`) say what the model computes in the
    words of the paper; the pass `mtgr-decompose-layers` rewrites them into
    kernel-level ops (`mtgr.group_layer_norm`, `mtgr.linear`, `mtgr.silu`,
    `mtgr.hstu_attention`, elementwise ops) that code generation lowers.
    Parameters live as `mtgr.parameter` symbols at module level, named as a
    PyTorch module would name them, and embedding tables as `mtgr.table`.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // The typed ABI (mtgr.role, mtgr.input, mtgr.output) on entry point
  // arguments and results, and the bound ABI (mtgr.abi) on the functions
  // binding builds, are checked where they are attached.
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerTypes();
  }];
}

class MTGR_I32Enum<string name, string summary, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = "::mlir::mtgr";
  let genSpecializedAttr = 0;
}

class MTGR_EnumAttr<EnumAttrInfo info, string mnemonic>
    : EnumAttr<MTGR_Dialect, info, mnemonic> {
  let assemblyFormat = "$value";
}

def MTGR_TokenGroup : MTGR_I32Enum<"TokenGroup",
    "token group of a sample: user profile, behaviour sequence, real-time sequence, candidate", [
  I32EnumAttrCase<"user", 0>, I32EnumAttrCase<"sequence", 1>,
  I32EnumAttrCase<"realtime", 2>, I32EnumAttrCase<"candidate", 3>]>;
def MTGR_TokenGroupAttr : MTGR_EnumAttr<MTGR_TokenGroup, "group">;

def MTGR_MaskKind : MTGR_I32Enum<"MaskKind", "attention mask (DESIGN 1.5)", [
  I32EnumAttrCase<"dynamic", 0>, I32EnumAttrCase<"causal", 1>,
  I32EnumAttrCase<"causal_targets", 2>, I32EnumAttrCase<"contextual", 3>,
  I32EnumAttrCase<"intervals", 4>]>;
def MTGR_MaskKindAttr : MTGR_EnumAttr<MTGR_MaskKind, "mask">;

def MTGR_NNorm : MTGR_I32Enum<"NNorm",
    "attention normaliser n_norm(i): sample length, attended columns, or a constant", [
  I32EnumAttrCase<"total", 0>, I32EnumAttrCase<"visible", 1>,
  I32EnumAttrCase<"constant", 2>]>;
def MTGR_NNormAttr : MTGR_EnumAttr<MTGR_NNorm, "n_norm">;

def MTGR_NormOrder : MTGR_I32Enum<"NormOrder",
    "where the output gate sits relative to GLN_2", [
  I32EnumAttrCase<"gate_then_norm", 0>, I32EnumAttrCase<"norm_then_gate", 1>]>;
def MTGR_NormOrderAttr : MTGR_EnumAttr<MTGR_NormOrder, "norm_order">;

def MTGR_TableKind : MTGR_I32Enum<"TableKind", "embedding table kind (DESIGN 1.2)", [
  I32EnumAttrCase<"fixed", 0>, I32EnumAttrCase<"hashed", 1>,
  I32EnumAttrCase<"dynamic", 2>]>;
def MTGR_TableKindAttr : MTGR_EnumAttr<MTGR_TableKind, "table_kind">;

def MTGR_Eviction : MTGR_I32Enum<"Eviction", "eviction policy of a dynamic table", [
  I32EnumAttrCase<"lru", 0>, I32EnumAttrCase<"lfu", 1>]>;
def MTGR_EvictionAttr : MTGR_EnumAttr<MTGR_Eviction, "eviction">;

def MTGR_Init : MTGR_I32Enum<"Init", "parameter initialiser (DESIGN 1.7)", [
  I32EnumAttrCase<"xavier_uniform", 0>, I32EnumAttrCase<"zeros", 1>,
  I32EnumAttrCase<"ones", 2>, I32EnumAttrCase<"normal", 3>]>;
def MTGR_InitAttr : MTGR_EnumAttr<MTGR_Init, "init">;

def MTGR_DenseOptimizer : MTGR_I32Enum<"DenseOptimizer",
    "optimiser of dense parameters (DESIGN 1.8, PyTorch's definitions)", [
  I32EnumAttrCase<"adam", 0>, I32EnumAttrCase<"adamw", 1>]>;

def MTGR_SparseOptimizer : MTGR_I32Enum<"SparseOptimizer",
    "optimiser of the embedding rows a step touched (DESIGN 1.8)", [
  I32EnumAttrCase<"rowwise_adagrad", 0>, I32EnumAttrCase<"adam", 1>]>;

//===----------------------------------------------------------------------===//
// The typed ABI. Its enums are the ABI leaf's (abi/AbiKinds.h), spelled by the
// leaf's one table, so the IR, the artifact's manifest and the runtime share
// one vocabulary.
//===----------------------------------------------------------------------===//

def MTGR_RoleAttr : AttrDef<MTGR_Dialect, "Role"> {
  let mnemonic = "role";
  let summary = "what an entry point's argument or result is (DESIGN 2)";
  let description = [{
    The role of a value the caller passes or receives: a kind plus the token
    group and the index within that group (feature of the group's schema, or
    task) it stands for, or the parameter a gradient belongs to. Code
    generation and the runtime bind buffers by role, never by parsing names;
    `mtgr.input` / `mtgr.output` names are for people.

    | kind | fields |
    |---|---|
    | `feature` | group, index |
    | `time` | group |
    | `intervals` | group (`tokens`) |
    | `labels`, `logits`, `output` | index; group optional (`candidate`) |
    | `loss` | none |
    | `grad` | param (a `train_step` result, an `apply_update` input) |
    | `embedding_grad` | group, index |

    ```mlir
    func.func @forward(%ids: !mtgr.jagged<i64> {mtgr.input = "candidate.item",
        mtgr.role = #mtgr.role<feature, group = candidate, index = 0>}) -> ...
    ```
  }];
  let parameters = (ins
    AttrParameter<"::mtgr::RoleKind", "what the value is">:$kind,
    DefaultValuedParameter<"::mtgr::Group", "::mtgr::Group::None", "its token group">:$group,
    DefaultValuedParameter<"int64_t", "-1",
                           "feature index in the group's schema, or task index">:$index,
    StringRefParameter<"the parameter a gradient belongs to", "\"\"">:$param);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def MTGR_AbiArgAttr : AttrDef<MTGR_Dialect, "AbiArg"> {
  let mnemonic = "abi";
  let summary = "one buffer of a bound entry point (mtgr-bind-entry-points)";
  let description = [{
    The function attribute `mtgr.abi` of `@mtgr_<entry>` lists one of these per
    argument, in order: the buffer's kind, a name for people, and the group,
    index, parameter, table or optimizer slot it stands for. The compiler copies
    them into the artifact's manifest; the runtime binds buffers by them.

    ```mlir
    func.func @mtgr_forward(...) attributes {mtgr.abi = [
        #mtgr.abi<input "candidate.c", group = candidate, index = 1>,
        #mtgr.abi<offsets "candidate.c", group = candidate>,
        #mtgr.abi<embedding "candidate.item", group = candidate, index = 0, table = "item">,
        #mtgr.abi<param "w">, #mtgr.abi<output "ctr", index = 0>]}
    ```
  }];
  let parameters = (ins
    AttrParameter<"::mtgr::ArgKind", "what the buffer holds">:$kind,
    StringRefParameter<"input, parameter or task name, for people">:$name,
    DefaultValuedParameter<"::mtgr::Group", "::mtgr::Group::None", "its token group">:$group,
    DefaultValuedParameter<"int64_t", "-1",
                           "feature index in the group's schema, or task index">:$index,
    StringRefParameter<"grad_input: the parameter", "\"\"">:$param,
    StringRefParameter<"embedding, unique_rows, row_index: the table", "\"\"">:$table,
    StringRefParameter<"state: the optimizer slot (m, v, acc)", "\"\"">:$slot);
  let hasCustomAssemblyFormat = 1;
}

#endif // MTGR_BASE_TD
