//===- LowerTokens.cpp - token assembly, groups, slices, pooling to loops --===//
//
// The data movement of the token sequence: assembling U|S|R|C per sample
// into one jagged buffer with its layout, taking groups out and back, column
// slices and pads, stacking, pooling and broadcasting per sample. Shared by
// the back ends: the independent iterations are LoopBuilder::forEach, the
// scans over samples LoopBuilder::serial (loops on the CPU, kernels on a
// GPU).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringSupport.h"
#include "codegen/common/RowMath.h"

using namespace mlir;
using namespace mlir::mtgr;

namespace {
using Results = FailureOr<SmallVector<SmallVector<Value>>>;
using Buffers = SmallVector<SmallVector<Value>>;

struct LowerJaggedValues : LoopPattern<JaggedValuesOp> {
  using LoopPattern::LoopPattern;
  Results lower(JaggedValuesOp op, Adaptor a, LoopBuilder &) const override {
    return Buffers{{JaggedBuffers(a.getInput()).values}};
  }
};

struct LowerConcat : LoopPattern<ConcatOp> {
  using LoopPattern::LoopPattern;
  Results lower(ConcatOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers first(a.getInputs()[0]);
    Value rows = l.rows(first.values);
    Value y = l.alloc(l.act(), {getRowShape(op.getType())[0]}, rows);
    int64_t offset = 0;
    for (auto [in, buffers] : llvm::zip(op.getInputs(), a.getInputs())) {
      int64_t w = getRowShape(in.getType())[0];
      Value src = buffers[0];
      l.forEach2(rows, l.idx(w), [&](Value r, Value k) {
        l.store(l.load(src, {r, k}), y, {r, l.add(k, l.idx(offset))});
      });
      offset += w;
    }
    return Buffers{rowsLike(first, y)};
  }
};

struct LowerColumnSlice : LoopPattern<ColumnSliceOp> {
  using LoopPattern::LoopPattern;
  Results lower(ColumnSliceOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    int64_t size = op.getSizeAttr().getInt(), offset = op.getOffsetAttr().getInt();
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.act(), {size}, rows);
    l.forEach2(rows, l.idx(size), [&](Value r, Value k) {
      l.store(l.load(x.values, {r, l.add(k, l.idx(offset))}), y, {r, k});
    });
    return Buffers{rowsLike(x, y)};
  }
};

struct LowerColumnPad : LoopPattern<ColumnPadOp> {
  using LoopPattern::LoopPattern;
  Results lower(ColumnPadOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    int64_t in = getRowShape(op.getInput().getType())[0], width = op.getWidthAttr().getInt();
    int64_t offset = op.getOffsetAttr().getInt();
    Value rows = l.rows(x.values);
    Value y = l.alloc(l.act(), {width}, rows);
    l.forEach(rows, [&](Value r) {
      l.loop(l.idx(0), l.idx(width), [&](Value k) { l.store(l.cf32(0.0), y, {r, k}); });
      l.loop(l.idx(0), l.idx(in), [&](Value k) {
        l.store(l.load(x.values, {r, k}), y, {r, l.add(k, l.idx(offset))});
      });
    });
    return Buffers{rowsLike(x, y)};
  }
};

struct LowerStack : LoopPattern<StackOp> {
  using LoopPattern::LoopPattern;
  Results lower(StackOp op, Adaptor a, LoopBuilder &l) const override {
    int64_t n = op.getInputs().size(), width = getRowShape(op.getInputs().front().getType())[0];
    Value rows = l.rows(a.getInputs()[0][0]);
    Value y = l.alloc(l.act(), {n, width}, rows);
    for (auto [t, in] : llvm::enumerate(a.getInputs())) {
      Value src = in[0], ti = l.idx(t);
      l.forEach2(rows, l.idx(width),
                 [&](Value r, Value k) { l.store(l.load(src, {r, k}), y, {r, ti, k}); });
    }
    return Buffers{{y}};
  }
};

struct LowerUnstack : LoopPattern<UnstackOp> {
  using LoopPattern::LoopPattern;
  Results lower(UnstackOp op, Adaptor a, LoopBuilder &l) const override {
    Value x = a.getInput()[0];
    int64_t width = getRowShape(op.getResults()[0].getType())[0];
    Value rows = l.rows(x);
    Buffers out;
    for (size_t t = 0; t < op.getResults().size(); ++t) {
      Value y = l.alloc(l.act(), {width}, rows), ti = l.idx(t);
      l.forEach2(rows, l.idx(width),
                 [&](Value s, Value k) { l.store(l.load(x, {s, ti, k}), y, {s, k}); });
      out.push_back({y});
    }
    return out;
  }
};

/// Per sample s of a jagged x: body(s, first row, end row); the samples
/// are independent.
void forEachSample(LoopBuilder &l, const JaggedBuffers &x, function_ref<void(Value, Value, Value)> body) {
  l.forEach(l.samples(x), [&](Value s) {
    body(s, l.load(x.offsets, {s}), l.load(x.offsets, {l.add(s, l.idx(1))}));
  });
}

struct LowerMeanPool : LoopPattern<MeanPoolOp> {
  using LoopPattern::LoopPattern;
  Results lower(MeanPoolOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    int64_t width = getRowShape(op.getInput().getType())[0];
    Value y = l.alloc(l.act(), {width}, l.samples(x));
    forEachSample(l, x, [&](Value s, Value lo, Value hi) {
      // An empty history pools to zeros (max(1, n) avoids 0/0).
      Value n = l.toF32(l.maxI(l.sub(hi, lo), l.idx(1)));
      l.loop(l.idx(0), l.idx(width), [&](Value k) {
        Value sum = l.loopAcc(lo, hi, l.cf32(0.0), [&](Value r, Value acc) {
          return arith::AddFOp::create(l.b, acc, l.load(x.values, {r, k}));
        });
        l.store(l.fdiv(sum, n), y, {s, k});
      });
    });
    return Buffers{{y}};
  }
};

struct LowerMeanPoolBackward : LoopPattern<MeanPoolBackwardOp> {
  using LoopPattern::LoopPattern;
  Results lower(MeanPoolBackwardOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    Value dm = a.getResultGrad()[0];
    int64_t width = getRowShape(op.getInput().getType())[0];
    Value dx = l.alloc(l.act(), {width}, l.rows(x.values));
    forEachSample(l, x, [&](Value s, Value lo, Value hi) {
      Value n = l.toF32(l.maxI(l.sub(hi, lo), l.idx(1)));
      l.loop(lo, hi, [&](Value r) {
        l.loop(l.idx(0), l.idx(width), [&](Value k) { l.store(l.fdiv(l.load(dm, {s, k}), n), dx, {r, k}); });
      });
    });
    return Buffers{rowsLike(x, dx)};
  }
};

struct LowerSegmentSum : LoopPattern<SegmentSumOp> {
  using LoopPattern::LoopPattern;
  Results lower(SegmentSumOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    int64_t width = getRowShape(op.getInput().getType())[0];
    Value y = l.alloc(l.act(), {width}, l.samples(x));
    forEachSample(l, x, [&](Value s, Value lo, Value hi) {
      l.loop(l.idx(0), l.idx(width), [&](Value k) {
        l.store(l.loopAcc(lo, hi, l.cf32(0.0),
                          [&](Value r, Value acc) {
                            return arith::AddFOp::create(l.b, acc, l.load(x.values, {r, k}));
                          }),
                y, {s, k});
      });
    });
    return Buffers{{y}};
  }
};

struct LowerBroadcastRows : LoopPattern<BroadcastRowsOp> {
  using LoopPattern::LoopPattern;
  Results lower(BroadcastRowsOp op, Adaptor a, LoopBuilder &l) const override {
    Value ctx = a.getInput()[0];
    JaggedBuffers like(a.getLike());
    int64_t width = getRowShape(op.getInput().getType())[0];
    Value y = l.alloc(l.act(), {width}, l.load(like.offsets, {l.samples(like)}));
    forEachSample(l, like, [&](Value s, Value lo, Value hi) {
      l.loop(lo, hi, [&](Value r) {
        l.loop(l.idx(0), l.idx(width), [&](Value k) { l.store(l.load(ctx, {s, k}), y, {r, k}); });
      });
    });
    return Buffers{{y, like.offsets}};
  }
};

/// One token group's share of a sequence: its rows per sample (`offsets`;
/// null: none), the rows to copy (`values`; null: counted only) and their
/// timestamps.
struct TokenPart {
  Value values, offsets, times;
};

/// Lays out per sample [U | S | R | C] (nU user tokens, copied from `u`
/// [B, nU, d] unless null) with its layout buffers (offsets, segment starts,
/// group, time, pos); copies the parts' values. Returns {tokens, offsets}
/// (tokens null when nothing is copied) and the layout.
std::pair<SmallVector<Value>, SmallVector<Value>> assembleTokens(LoopBuilder &l, Value B,
                                                                 int64_t nU, Value u, int64_t d,
                                                                 TokenPart S, TokenPart R,
                                                                 TokenPart C) {
  Value tokOff = l.alloc(l.b.getIndexType(), {}, l.add(B, l.idx(1)));
  Value seg = l.alloc(l.b.getIndexType(), {4}, B);
  auto count = [&](const TokenPart &x, Value s) {
    if (!x.offsets)
      return l.idx(0);
    return l.sub(l.load(x.offsets, {l.add(s, l.idx(1))}), l.load(x.offsets, {s}));
  };
  // The token offsets and segment starts: a scan over the samples.
  l.serial([&] {
    l.store(l.idx(0), tokOff, {l.idx(0)});
    l.loop(l.idx(0), B, [&](Value s) {
      Value start = l.load(tokOff, {s});
      Value sStart = l.add(start, l.idx(nU)), rStart = l.add(sStart, count(S, s)),
            cStart = l.add(rStart, count(R, s));
      l.store(start, seg, {s, l.idx(0)});
      l.store(sStart, seg, {s, l.idx(1)});
      l.store(rStart, seg, {s, l.idx(2)});
      l.store(cStart, seg, {s, l.idx(3)});
      l.store(l.add(cStart, count(C, s)), tokOff, {l.add(s, l.idx(1))});
    });
  });
  Value N = l.load(tokOff, {B});
  bool copies = u || S.values || R.values || C.values;
  Value x = copies ? l.alloc(l.act(), {d}, N) : Value();
  Value group = l.alloc(l.b.getIndexType(), {}, N), time = l.alloc(l.i64(), {}, N),
        pos = l.alloc(l.b.getIndexType(), {}, N);
  Value zero64 = l.ci64(0);
  l.forEach(B, [&](Value s) {
    Value start = l.load(seg, {s, l.idx(0)});
    // U: one token per feature, no timestamp.
    l.loop(l.idx(0), l.idx(nU), [&](Value f) {
      Value row = l.add(start, f);
      if (u)
        l.loop(l.idx(0), l.idx(d), [&](Value k) { l.store(l.load(u, {s, f, k}), x, {row, k}); });
      l.store(l.idx(0), group, {row});
      l.store(zero64, time, {row});
      l.store(f, pos, {row});
    });
    // S, R, C rows in order; pos is the index within U|S|R, and a candidate
    // takes nU + nS + #{R_j : t_j < t_c} (DESIGN 1.3).
    struct Part {
      const TokenPart &rows;
      int64_t groupId;
    };
    for (Part p : {Part{S, 1}, Part{R, 2}, Part{C, 3}}) {
      if (!p.rows.offsets)
        continue;
      Value lo = l.load(p.rows.offsets, {s}), hi = l.load(p.rows.offsets, {l.add(s, l.idx(1))});
      Value base = l.load(seg, {s, l.idx(p.groupId)});
      l.loop(lo, hi, [&](Value r) {
        Value row = l.add(base, l.sub(r, lo));
        if (p.rows.values)
          l.loop(l.idx(0), l.idx(d), [&](Value k) {
            l.store(l.load(p.rows.values, {r, k}), x, {row, k});
          });
        l.store(l.idx(p.groupId), group, {row});
        Value t = l.load(p.rows.times, {r});
        l.store(t, time, {row});
        Value local = l.sub(row, start);
        if (p.groupId != 3) {
          l.store(local, pos, {row});
          return;
        }
        Value before = l.idx(0);
        if (R.offsets) {
          Value r0 = l.load(R.offsets, {s}), r1 = l.load(R.offsets, {l.add(s, l.idx(1))});
          before = l.loopAcc(r0, r1, l.idx(0), [&](Value j, Value acc) {
            Value earlier = l.cmp(arith::CmpIPredicate::slt, l.load(R.times, {j}), t);
            return l.add(acc, l.select(earlier, l.idx(1), l.idx(0)));
          });
        }
        l.store(l.add(l.idx(nU), l.add(count(S, s), before)), pos, {row});
      });
    }
  });
  return {{x, tokOff}, {tokOff, seg, group, time, pos}};
}

struct LowerAssembleTokens : LoopPattern<AssembleTokensOp> {
  using LoopPattern::LoopPattern;
  Results lower(AssembleTokensOp op, Adaptor a, LoopBuilder &l) const override {
    Value u = a.getUser()[0];
    JaggedBuffers S(a.getSequence()), R(a.getRealtime()), C(a.getCandidate());
    auto ut = cast<MemRefType>(u.getType());
    auto [tokens, layout] = assembleTokens(l, l.samples(C), ut.getDimSize(1), u, ut.getDimSize(2),
                                           {S.values, S.offsets, a.getSequenceTimes()[0]},
                                           {R.values, R.offsets, a.getRealtimeTimes()[0]},
                                           {C.values, C.offsets, a.getCandidateTimes()[0]});
    return Buffers{tokens, layout};
  }
};

struct LowerAssemblePrefix : LoopPattern<AssemblePrefixOp> {
  using LoopPattern::LoopPattern;
  Results lower(AssemblePrefixOp op, Adaptor a, LoopBuilder &l) const override {
    Value u = a.getUser()[0];
    JaggedBuffers S(a.getSequence());
    auto ut = cast<MemRefType>(u.getType());
    auto [tokens, layout] = assembleTokens(l, l.samples(S), ut.getDimSize(1), u, ut.getDimSize(2),
                                           {S.values, S.offsets, a.getSequenceTimes()[0]}, {}, {});
    return Buffers{tokens, layout};
  }
};

struct LowerAssembleSuffix : LoopPattern<AssembleSuffixOp> {
  using LoopPattern::LoopPattern;
  Results lower(AssembleSuffixOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers R(a.getRealtime()), C(a.getCandidate()), tS(a.getSequenceTimes());
    Value tR = a.getRealtimeTimes()[0], tC = a.getCandidateTimes()[0];
    Value B = l.samples(C);
    // The rows computed: R and C only (as if the sample had no U and S).
    auto [tokens, layout] = assembleTokens(l, B, 0, {}, getRowShape(op.getTokens().getType())[0],
                                           {}, {R.values, R.offsets, tR}, {C.values, C.offsets, tC});
    // The whole sample's layout, for the attention: rows counted, none copied.
    auto full = assembleTokens(l, B, op.getUsers(), {}, 0, {{}, tS.offsets, tS.values},
                               {{}, R.offsets, tR}, {{}, C.offsets, tC})
                    .second;
    return Buffers{tokens, layout, full};
  }
};

/// to[toRow, :] = from[fromRow, :] for rows of d elements: in vectors on the
/// CPU, one element at a time in a GPU thread.
void copyRow(LoopBuilder &l, Value from, Value fromRow, Value to, Value toRow, int64_t d) {
  int64_t width = l.threadPerIteration() ? 1 : d % 16 == 0 ? 16 : d % 8 == 0 ? 8 : 1;
  Lanes v{l, width};
  v.each(d, [&](Value k) { v.store(v.load(from, {fromRow, k}), to, {toRow, k}); });
}

/// The last group of extract_group / scatter_group (`through`, else `group`).
int64_t lastGroup(TokenGroup group, std::optional<TokenGroup> through) {
  return static_cast<int64_t>(through.value_or(group));
}

/// Rows [first, end) of group g in sample s of a layout.
Value groupEnd(LoopBuilder &l, const LayoutBuffers &lay, int64_t g, Value s) {
  return g == 3 ? l.load(lay.offsets, {l.add(s, l.idx(1))}) : l.load(lay.segStarts, {s, l.idx(g + 1)});
}

struct LowerExtractGroup : LoopPattern<ExtractGroupOp> {
  using LoopPattern::LoopPattern;
  Results lower(ExtractGroupOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    int64_t g = static_cast<int64_t>(op.getGroup()), d = getRowShape(op.getType())[0];
    int64_t last = lastGroup(op.getGroup(), op.getThrough());
    Value B = l.samples(lay);
    Value off = l.alloc(l.b.getIndexType(), {}, l.add(B, l.idx(1)));
    l.serial([&] {
      l.store(l.idx(0), off, {l.idx(0)});
      l.loop(l.idx(0), B, [&](Value s) {
        Value n = l.sub(groupEnd(l, lay, last, s), l.load(lay.segStarts, {s, l.idx(g)}));
        l.store(l.add(l.load(off, {s}), n), off, {l.add(s, l.idx(1))});
      });
    });
    Value y = l.alloc(l.act(), {d}, l.load(off, {B}));
    l.forEach(B, [&](Value s) {
      Value lo = l.load(lay.segStarts, {s, l.idx(g)}), dstBase = l.load(off, {s});
      l.loop(lo, groupEnd(l, lay, last, s),
             [&](Value r) { copyRow(l, x.values, r, y, l.add(dstBase, l.sub(r, lo)), d); });
    });
    return Buffers{{y, off}};
  }
};

struct LowerScatterGroup : LoopPattern<ScatterGroupOp> {
  using LoopPattern::LoopPattern;
  Results lower(ScatterGroupOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    int64_t g = static_cast<int64_t>(op.getGroup()), d = getRowShape(op.getType())[0];
    int64_t last = lastGroup(op.getGroup(), op.getThrough());
    Value B = l.samples(lay), N = l.load(lay.offsets, {B});
    Value y = l.alloc(l.act(), {d}, N);
    l.fill(y, l.cf32(0.0));
    l.forEach(B, [&](Value s) {
      Value lo = l.load(lay.segStarts, {s, l.idx(g)});
      Value src0 = l.load(x.offsets, {s});
      l.loop(lo, groupEnd(l, lay, last, s),
             [&](Value r) { copyRow(l, x.values, l.add(src0, l.sub(r, lo)), y, r, d); });
    });
    return Buffers{{y, lay.offsets}};
  }
};

/// One pass over the layout's rows: U and S rows from the prefix (or zero),
/// R and C rows from the suffix. Each row is independent and finds its
/// sample by a search: a GPU thread per row, the CPU's threads blocks of rows.
struct LowerJoinGroups : LoopPattern<JoinGroupsOp> {
  using LoopPattern::LoopPattern;
  Results lower(JoinGroupsOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers suffix(a.getSuffix());
    std::optional<JaggedBuffers> prefix;
    if (op.getPrefix())
      prefix.emplace(a.getPrefix());
    LayoutBuffers lay(a.getLayout());
    int64_t d = getRowShape(op.getType())[0];
    Value B = l.samples(lay), N = l.load(lay.offsets, {B});
    Value y = l.alloc(l.act(), {d}, N);
    constexpr int64_t realtime = static_cast<int64_t>(TokenGroup::realtime);
    auto row = [&](Value s, Value r) {
      Value first = l.load(lay.offsets, {s}),
            firstSuffix = l.load(lay.segStarts, {s, l.idx(realtime)});
      Value inSuffix = l.cmp(arith::CmpIPredicate::uge, r, firstSuffix);
      auto choice = scf::IfOp::create(l.b, TypeRange{}, inSuffix, /*withElse=*/true);
      OpBuilder::InsertionGuard guard(l.b);
      l.b.setInsertionPointToStart(&choice.getThenRegion().front());
      copyRow(l, suffix.values, l.add(l.load(suffix.offsets, {s}), l.sub(r, firstSuffix)), y, r, d);
      l.b.setInsertionPointToStart(&choice.getElseRegion().front());
      if (!prefix) {
        Value zero = l.cf32(0.0);
        l.loop(l.idx(0), l.idx(d), [&](Value k) { l.store(zero, y, {r, k}); });
        return;
      }
      copyRow(l, prefix->values, l.add(l.load(prefix->offsets, {s}), l.sub(r, first)), y, r, d);
    };
    // Rows, not samples: a request is often one sample (the CPU's threads
    // take blocks of rows, a GPU a thread per row).
    l.forEach(N, [&](Value r) { row(l.lastAtOrBelow(lay.offsets, B, r), r); });
    return Buffers{{y, lay.offsets}};
  }
};

struct LowerExtractUser : LoopPattern<ExtractUserOp> {
  using LoopPattern::LoopPattern;
  Results lower(ExtractUserOp op, Adaptor a, LoopBuilder &l) const override {
    JaggedBuffers x(a.getInput());
    LayoutBuffers lay(a.getLayout());
    auto t = cast<RankedTensorType>(op.getType());
    int64_t nU = t.getDimSize(1), d = t.getDimSize(2);
    Value B = l.samples(lay);
    Value y = l.alloc(l.act(), {nU, d}, B);
    l.forEach(B, [&](Value s) {
      Value start = l.load(lay.segStarts, {s, l.idx(0)});
      l.loop(l.idx(0), l.idx(nU), [&](Value f) {
        l.loop(l.idx(0), l.idx(d), [&](Value k) {
          l.store(l.load(x.values, {l.add(start, f), k}), y, {s, f, k});
        });
      });
    });
    return Buffers{{y}};
  }
};
} // namespace

void mlir::mtgr::populateTokenLoweringPatterns(BufferTypeConverter &converter,
                                               RewritePatternSet &patterns,
                                               const ParallelLoops *parallel) {
  patterns.add<LowerJaggedValues, LowerConcat, LowerColumnSlice, LowerColumnPad, LowerStack,
               LowerUnstack, LowerMeanPool, LowerMeanPoolBackward, LowerSegmentSum,
               LowerBroadcastRows, LowerAssembleTokens, LowerAssemblePrefix, LowerAssembleSuffix,
               LowerExtractGroup, LowerScatterGroup, LowerJoinGroups, LowerExtractUser>(
      converter, patterns.getContext(), parallel);
}
