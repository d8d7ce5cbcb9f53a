//===- Passes.td - rewrites on mtgr IR -----------------------*- tablegen -*-===//
#ifndef MTGR_PASSES_TD
#define MTGR_PASSES_TD

include "mlir/Pass/PassBase.td"

def MTGRDecomposeLayersPass : Pass<"mtgr-decompose-layers", "::mlir::ModuleOp"> {
  let summary = "Rewrite model-level ops into kernel-level ops";
  let description = [{
    Every op with the ModelLevel trait becomes kernel-level ops, following
    DESIGN 1.2-1.3 to the letter:

    - `mtgr.mlp`: `mtgr.linear`, with `mtgr.silu` between layers;
    - `mtgr.profile_tokens`: one `mtgr.linear` per feature, then `mtgr.stack`;
    - `mtgr.sequence_tokens` / `mtgr.candidate_tokens`: `mtgr.concat` of the
      features (context rows repeated per candidate by `mtgr.broadcast_rows`),
      then the MLP;
    - `mtgr.hstu_layer`: `mtgr.group_layer_norm`, the uvqk `mtgr.linear` and
      `mtgr.silu`, `mtgr.column_slice` into U, V, Q, K, `mtgr.build_mask`,
      `mtgr.hstu_attention`, the gate (`mtgr.mul`) and GLN_2 in the layer's
      norm order, `mtgr.dropout` (when the rate is non-zero), the output
      `mtgr.linear` and the residual `mtgr.add`;
    - `mtgr.task_head`: its MLP.

    Before:
    ```mlir
    %y = mtgr.mlp %x weights(%w0, %w1) biases(%b0, %b1) : (...) -> !mtgr.jagged<8xf32>
    ```
    After:
    ```mlir
    %h = mtgr.linear %x, %w0, %b0 : ... -> !mtgr.jagged<16xf32>
    %a = mtgr.silu %h : !mtgr.jagged<16xf32>
    %y = mtgr.linear %a, %w1, %b1 : ... -> !mtgr.jagged<8xf32>
    ```
    The pass fails if a model-level op is left.
  }];
}

def MTGRSplitPrefixPass : Pass<"mtgr-split-prefix", "::mlir::ModuleOp"> {
  let summary = "Split kernel-level @forward into @encode_prefix and @score_candidates";
  let description = [{
    What a repeat user may skip (DESIGN 1.6, docs/serving.md): when no U or S
    row sees an R or C token and no row's n_norm counts them, each layer's U
    and S rows depend on U and S alone. The pass adds

    - `@encode_prefix(U and S inputs)`: the forward on `[U | S]`
      (`mtgr.assemble_prefix`), returning every layer's K and V of those rows
      (results `prefix.layers.<l>.k` / `.v`, role `prefix_keys` /
      `prefix_values`, group `prefix`, index l);
    - `@score_candidates(R and C inputs, S timestamps, the cached K and V)`:
      the per-row ops on the R and C rows only (`mtgr.assemble_suffix`), the
      attention over the whole sample's layout with K and V = the cached U
      and S rows plus the request's (`mtgr.scatter_group` ... `through`), a
      mask whose U and S rows see nothing (`build_mask {suffix_rows}`), and
      the result's R and C rows taken out (`mtgr.extract_group` ...
      `through`). Inputs nothing reads any more are dropped.

    Exact, not approximate: the same ops on the same rows. Refused, with
    the reason, for a model without HSTU layers, the `intervals` mask (it
    comes with each request), the `contextual` mask (U rows see R) and
    `n_norm: total` (every row divides by a length that counts R and C).
    @forward stays as it was.
  }];
}

def MTGRGenerateTrainStepPass : Pass<"mtgr-generate-train-step", "::mlir::ModuleOp"> {
  let summary = "Generate @train_step: forward, loss, gradients and the optimiser update";
  let description = [{
    From kernel-level `@forward` and `@loss`, builds `@train_step(inputs...,
    labels...)` returning the loss (DESIGN 1.6), the gradient of every
    parameter (result attribute `mtgr.output = "grad:<name>"`) and, for every
    embedding lookup, the gradient of each gathered row
    (`"embedding_grad:<input>"`). The reverse sweep calls each op's gradient
    rule (DifferentiableOpInterface, dialect/MTGRGradients.cpp) and adds the
    gradients of values used more than once.

    With an `mtgr.optimizer` declaration in the module (the frontend always
    emits one), the pass also builds `@apply_update`, whose inputs are
    train_step's gradient outputs by name (and each lookup's ids): one
    `mtgr.adam_update` per dense parameter (weight decay 0 where the
    parameter says `no_decay`) and one `mtgr.sparse_update` per embedding
    table over all of its lookups, updating the parameters in place (DESIGN
    1.8). The runtime calls it once per step, after summing the gradients of
    its train_step calls (one per thread).

    Every kernel-level op has a rule; an op without one is reported.
    Dropout draws the same counter-based stream in the backward pass, keyed
    by the step and seed the runtime passes in (input `training.rng`).
  }];
}

def MTGRFuseLinearPass : Pass<"mtgr-fuse-linear", "::mlir::func::FuncOp"> {
  let summary = "Fold norms, gates, activations, residuals and column splits into Linears";
  let description = [{
    Rewrites each `mtgr.linear` with its neighbours into one
    `mtgr.fused_linear` when the intermediate values have no other use:

    - prologue: `group_layer_norm` of the input (and a `mul` feeding that
      norm: the output gate), so the normalised rows are never stored;
    - epilogue: `silu` of the result, then an `add` with another value (the
      residual), then `column_slice`s that together cover the result's
      columns exactly once (the U/V/Q/K split: each piece is written by the
      GEMM to its own buffer, no copy).

    A value with another use stays, with one exception: a result that SiLU
    and later ops read (a train step's `silu_backward`) fuses with
    `preactivation`, the op's first result being the pre-activation the
    later ops then read. So in a train step the norm (whose output the
    weight gradient reads) stays, and SiLU, the U/V/Q/K split and the
    residual fuse. Target-neutral: the lowering decides how each piece runs
    (codegen/cpu/LowerLinear.cpp, codegen/cuda/GpuLinear.cpp).

    ```mlir
    %n = mtgr.group_layer_norm %x, %layout, %g, %b : ...
    %y = mtgr.linear %n, %w, %c : ...
    %s = mtgr.silu %y : !mtgr.jagged<128xf32>
    %u = mtgr.column_slice %s [0, 64] : ...
    %v = mtgr.column_slice %s [64, 64] : ...
    ```
    becomes
    ```mlir
    %u, %v = mtgr.fused_linear %x norm(%layout, %g, %b) weight %w bias %c
        {eps = 1.000000e-05 : f64, silu, splits = array<i64: 64, 64>} : ...
    ```
  }];
}

def MTGRPlanAttentionPass : Pass<"mtgr-plan-attention", "::mlir::ModuleOp"> {
  let summary = "Mask analysis: give every attention op the tile list of its mask";
  let description = [{
    For each mask an `mtgr.hstu_attention` or `mtgr.hstu_attention_backward`
    reads, inserts one `mtgr.attention_tiles` right after the mask is
    defined (shared by every layer and gradient that reads the mask) and
    passes it to the op as `tiles(...)`. The attention then visits only the
    listed column tiles of each row block, skipping the mask test on full
    ones. Tile sizes come from the target description (`row-block`,
    `col-tile`). Ops that already have tiles are left alone; a module
    without attention is unchanged.

    ```mlir
    %m = mtgr.build_mask dynamic %layout : !mtgr.jagged<3x2xi32>
    %t = mtgr.attention_tiles %m, %layout : !mtgr.jagged<3x2xi32> -> !mtgr.tile_list<16, 16>
    %o = mtgr.hstu_attention %q, %k, %v, %m, %layout tiles(%t) {...} : ...
    ```
  }];
  let options = [
    Option<"rowBlock", "row-block", "int64_t", "16", "query rows per block">,
    Option<"suffixRowBlock", "suffix-row-block", "int64_t", "0",
           "query rows per block where the mask's U and S rows see nothing (build_mask "
           "{suffix_rows}: score_candidates, whose few R and C rows face many columns); 0: "
           "row-block">,
    Option<"colTile", "col-tile", "int64_t", "16", "key columns per tile">,
  ];
}

def MTGRFreeBuffersPass : Pass<"mtgr-free-buffers", "::mlir::func::FuncOp"> {
  let summary = "Free every buffer right after its last use; bound the peak working memory";
  let description = [{
    For each `memref.alloc` in a function's body (the buffers of loop-level
    code), finds the last op of the body that reads or writes it or a view of
    it (ops nested in loops count as the loop) and inserts `memref.dealloc`
    right after: a buffer dies as soon as its last use has run, so the
    runtime's pool hands its memory to the next allocation. A buffer that
    escapes (returned, passed to a call other than one marked
    `mtgr.kernel_call`, stored as a value, or aliased by an op that is not a
    view) is an error.

    On functions with an `mtgr.abi` attribute it also records the peak of
    live buffers as `mtgr.memory = {fixed, per_row}`: the largest sum of
    static-size buffers live at any point, and the largest sum of bytes per
    row of the run-time-sized ones (a row being at most the call's tokens).
    The runtime refuses a batch whose estimate exceeds its memory limit.

    Before / after:
    ```mlir
    %a = memref.alloc(%n) : memref<?xf32>
    "use"(%a) : (memref<?xf32>) -> ()
    "other"() : () -> ()
    ```
    ```mlir
    %a = memref.alloc(%n) : memref<?xf32>
    "use"(%a) : (memref<?xf32>) -> ()
    memref.dealloc %a : memref<?xf32>
    "other"() : () -> ()
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // MTGR_PASSES_TD
