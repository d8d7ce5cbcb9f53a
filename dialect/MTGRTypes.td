//===- MTGRTypes.td - jagged tensors and token layouts ------*- tablegen -*-===//

#ifndef MTGR_TYPES_TD
#define MTGR_TYPES_TD

include "dialect/MTGRBase.td"

class MTGR_Type<string name, string typeMnemonic> : TypeDef<MTGR_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def MTGR_JaggedType : MTGR_Type<"Jagged", "jagged"> {
  let summary = "jagged tensor: rows of a fixed shape, a run-time number of rows per sample";
  let description = [{
    `!mtgr.jagged<16xf32>` holds, for a batch of B samples, `values` of shape
    `[sum_b n_b, 16]` and `offsets` of shape `[B + 1]` (monotone, `offsets[0] =
    0`): sample b owns rows `[offsets[b], offsets[b+1])`. The row shape is static
    (fixed when compiling); B and every n_b are run-time values. A row may be a
    scalar (`!mtgr.jagged<i64>`, e.g. ids or timestamps) or a matrix
    (`!mtgr.jagged<3x2xi32>`, e.g. a row's attention intervals).
  }];
  let parameters = (ins ArrayRefParameter<"int64_t", "row shape">:$rowShape,
                        "::mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of scalars in one row (1 for scalar rows).
    int64_t getRowSize() const;
  }];
}

def MTGR_LayoutType : MTGR_Type<"Layout", "layout"> {
  let summary = "token layout of a batch: per-sample [U|S|R|C] boundaries and timestamps";
  let description = [{
    Produced by `mtgr.assemble_tokens`. It carries, for every sample, where
    its U, S, R and C tokens begin and end inside the assembled sequence, and
    every token's int64 timestamp (U tokens have none). Group layer norm reads
    the token groups from it, masks and relative attention bias read the
    timestamps and positions. Lowering turns it into plain buffers.
  }];
}

def MTGR_TileListType : MTGR_Type<"TileList", "tile_list"> {
  let summary = "per row block of attention, the column tiles that hold a visible pair";
  let description = [{
    `!mtgr.tile_list<16, 16>`: produced by `mtgr.attention_tiles` from an
    interval mask, for row blocks of 16 query rows and column tiles of 16 key
    columns. Every sample of n tokens has ceil(n / row_block) row blocks; each
    block lists the column tiles in which at least one of its rows sees a
    column, each marked full (every row sees every column: no mask test) or
    partial. Lowered to four buffers: the first row block of each sample
    `[B + 1]`, the first entry of each row block `[blocks + 1]`, the entries
    (`2 * tile + full`, i32) and the work counts `{pairs computed, visible
    pairs}` (i64). The attention ops walk it, so empty tiles are never visited.
  }];
  let parameters = (ins "int64_t":$rowBlock, "int64_t":$colTile);
  let assemblyFormat = "`<` $rowBlock `,` $colTile `>`";
  let genVerifyDecl = 1;
}

#endif // MTGR_TYPES_TD
