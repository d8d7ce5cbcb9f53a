//===- LoweringSupport.h - the leaf every op-family lowering shares -*- C++ -*-===//
//
// Builder helpers for loop-level code (scf/memref/arith/math) and the buffer
// view of the mtgr types. The per-op-family pattern files (Lower*.cpp) include
// this and nothing else of each other: a jagged value is (values, offsets), a
// token layout is (offsets, segment starts, group, time, pos), a tensor is one
// memref (TypeConverter in LowerToLoops.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_CODEGEN_COMMON_LOWERINGSUPPORT_H
#define MTGR_CODEGEN_COMMON_LOWERINGSUPPORT_H

#include "abi/AbiKinds.h"
#include "dialect/MTGRDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::mtgr {

/// A jagged value's buffers: values [rows, ...] and offsets [B + 1].
struct JaggedBuffers {
  Value values, offsets;
  explicit JaggedBuffers(ValueRange r) : values(r[0]), offsets(r.size() > 1 ? r[1] : Value()) {}
  JaggedBuffers(Value values, Value offsets) : values(values), offsets(offsets) {}
};

/// A token layout's buffers: token offsets [B + 1], segment starts [B, 4]
/// (absolute first row of U, S, R, C) and per token: group (index), time
/// (i64), position (index).
struct LayoutBuffers {
  Value offsets, segStarts, group, time, pos;
  explicit LayoutBuffers(ValueRange r)
      : offsets(r[0]), segStarts(r[1]), group(r[2]), time(r[3]), pos(r[4]) {}
  LayoutBuffers(Value o, Value s, Value g, Value t, Value p)
      : offsets(o), segStarts(s), group(g), time(t), pos(p) {}
  SmallVector<Value> range() const { return {offsets, segStarts, group, time, pos}; }
};

/// A tile list's buffers (mtgr.attention_tiles): first row block of each
/// sample [B + 1], first entry of each row block [blocks + 1], the entries
/// (i32: 2 * column tile + full) and the work counts {computed, visible} (i64).
struct TileListBuffers {
  Value blockStart, tileStart, tiles, work;
  explicit TileListBuffers(ValueRange r)
      : blockStart(r[0]), tileStart(r[1]), tiles(r[2]), work(r[3]) {}
};

/// Converts mtgr and tensor types to the buffers above. `storage` is the
/// element type activations are kept in (`--dtype`): the f32 values of
/// jagged values and per-sample rows (a dynamic leading dimension) become
/// buffers of it; parameters (static shapes), their gradients and optimiser
/// state stay f32 (the master copy). Null: f32, as the IR says. The
/// arithmetic is f32 either way: LoopBuilder::load widens, store rounds.
class BufferTypeConverter : public TypeConverter {
public:
  explicit BufferTypeConverter(Type storage = {});
  /// The storage type when it is not f32 (else null): LoopBuilder::storage.
  Type narrowStorage() const { return storage; }

private:
  Type storage;
};
/// The activation storage a `--dtype` names: f32 for "fp32" (or ""), bf16,
/// f16; null for any other name.
Type storageTypeNamed(MLIRContext *ctx, StringRef dtype);
constexpr llvm::StringLiteral kStorageDtypes = "fp32, bf16 or f16";

class LoopBuilder;

/// How a back end runs the work an op lowering marks as independent
/// iterations (LoopBuilder::forEach) or as one serial piece of device work
/// (LoopBuilder::serial). Without one (the CPU), forEach is a loop and serial
/// is inline code; the CUDA back end makes each a kernel
/// (codegen/cuda/GpuSupport.h). So an op's lowering is written once for
/// both.
class ParallelLoops {
public:
  virtual ~ParallelLoops();
  virtual void forEach(LoopBuilder &l, Value count, function_ref<void(Value)> body) const = 0;
  /// body(i, j) over [0, n) x [0, m): by default one forEach over n x m.
  virtual void forEach2(LoopBuilder &l, Value n, Value m,
                        function_ref<void(Value, Value)> body) const;
  virtual void serial(LoopBuilder &l, function_ref<void()> body) const = 0;
  /// Whether each iteration is a thread of its own (a GPU), so that code
  /// inside one is scalar; false where threads take ranges of iterations
  /// and the body may use vectors (the CPU).
  virtual bool threadPerIteration() const { return true; }
};

/// Loop-building helpers on an implicit location. Ops are created through
/// the rewriter passed in, so the conversion driver sees them.
class LoopBuilder {
public:
  LoopBuilder(OpBuilder &builder, Location loc, const ParallelLoops *parallel = nullptr)
      : b(loc, builder), parallel(parallel) {}
  ImplicitLocOpBuilder b;
  /// The back end's way to run independent iterations (nullptr: loops).
  const ParallelLoops *parallel;
  /// The op being lowered: a GPU kernel is named after it and profiled in
  /// its family (codegen/cuda/GpuSupport.h nameKernel).
  Operation *origin = nullptr;
  /// The element type activations are stored in (BufferTypeConverter;
  /// null: f32). Results an op lowering allocates for activations use it.
  Type storage;

  /// body(i) for i in [0, count): iterations that touch disjoint outputs
  /// (ranges of them per thread on the CPU, a thread each on a GPU; a loop
  /// without a ParallelLoops).
  void forEach(Value count, function_ref<void(Value)> body) {
    if (parallel)
      parallel->forEach(*this, count, body);
    else
      loop(idx(0), count, body);
  }
  /// body(i, j) over [0, n) x [0, m), all independent: nested loops on the
  /// CPU, a thread per pair on a GPU.
  void forEach2(Value n, Value m, function_ref<void(Value, Value)> body) {
    if (parallel)
      parallel->forEach2(*this, n, m, body);
    else
      loop(idx(0), n, [&](Value i) { loop(idx(0), m, [&](Value j) { body(i, j); }); });
  }
  /// A GPU thread per forEach iteration (its body scalar code).
  bool threadPerIteration() const { return parallel && parallel->threadPerIteration(); }
  /// Work on the device's buffers that runs as one thread (a GPU kernel of
  /// one thread; inline on the CPU): small scans over samples.
  void serial(function_ref<void()> body) {
    if (parallel)
      parallel->serial(*this, body);
    else
      body();
  }

  Type f32() { return b.getF32Type(); }
  /// The element type of activation buffers (f32, or --dtype's bf16/f16).
  Type act() { return storage ? storage : f32(); }
  Type f64() { return b.getF64Type(); }
  Type i64() { return b.getI64Type(); }
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value cf32(double v) { return arith::ConstantOp::create(b, b.getF32FloatAttr(v)); }
  Value cf64(double v) { return arith::ConstantOp::create(b, b.getF64FloatAttr(v)); }
  Value ci64(int64_t v) { return arith::ConstantIntOp::create(b, i64(), v); }
  Value dim(Value m, int64_t d) { return memref::DimOp::create(b, m, d); }
  /// A load; 16-bit float storage (bf16, f16) is widened to f32, the type
  /// all arithmetic runs in.
  Value load(Value m, ValueRange i) { return widen(memref::LoadOp::create(b, m, i)); }
  /// A store; an f32 value into 16-bit float storage is rounded to nearest
  /// even first.
  void store(Value v, Value m, ValueRange i) {
    memref::StoreOp::create(b, narrowTo(v, cast<MemRefType>(m.getType()).getElementType()), m, i);
  }
  /// Asks for the cache line of m[i] ahead of a read (memref.prefetch: read,
  /// data cache, locality 3).
  void prefetch(Value m, ValueRange i) {
    memref::PrefetchOp::create(b, m, i, /*isWrite=*/false, /*localityHint=*/3,
                               /*isDataCache=*/true);
  }
  /// x (a scalar or vector of bf16/f16) as f32; anything else unchanged.
  Value widen(Value x);
  /// x (f32, scalar or vector) rounded to `storage` when that is a 16-bit
  /// float; anything else unchanged.
  Value narrowTo(Value x, Type storage);
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y, fast()); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y, fast()); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fdiv(Value x, Value y) { return arith::DivFOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) { return arith::CmpIOp::create(b, p, x, y); }
  Value select(Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y); }
  Value minI(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value maxI(Value x, Value y) { return arith::MaxSIOp::create(b, x, y); }
  Value toIndex(Value v) { return arith::IndexCastOp::create(b, b.getIndexType(), v); }
  Value toF32(Value index) {
    return arith::SIToFPOp::create(b, f32(), arith::IndexCastOp::create(b, i64(), index));
  }
  /// Reassociation lets LLVM vectorise reductions; contraction gives FMAs.
  arith::FastMathFlagsAttr fast() {
    return arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::reassoc |
                                                             arith::FastMathFlags::contract);
  }
  /// An f32 constant of x's type (a scalar, or a vector of equal lanes).
  Value cf32Like(Value x, double v) {
    if (auto t = dyn_cast<VectorType>(x.getType()))
      return arith::ConstantOp::create(b, DenseElementsAttr::get(t, b.getF32FloatAttr(v)));
    return cf32(v);
  }
  Value sigmoid(Value x) { // 1 / (1 + exp(-x)), scalars or vectors
    Value one = cf32Like(x, 1.0);
    return fdiv(one, arith::AddFOp::create(b, one, math::ExpOp::create(b, arith::NegFOp::create(b, x))));
  }
  Value silu(Value x) { // x * sigmoid(x) = x / (1 + exp(-x)), scalars or vectors
    Value e = math::ExpOp::create(b, arith::NegFOp::create(b, x));
    return fdiv(x, arith::AddFOp::create(b, cf32Like(x, 1.0), e));
  }

  void loop(Value lb, Value ub, function_ref<void(Value)> body);
  Value loopAcc(Value lb, Value ub, Value init, function_ref<Value(Value, Value)> body);
  /// body(r0, n) over rows [0, rows): blocks of n = `block` rows, then the
  /// remaining rows one at a time (n = 1).
  void forRowBlocks(Value rows, int64_t block, function_ref<void(Value, int64_t)> body);
  void ifThen(Value cond, function_ref<void()> body);

  /// Threads: the number of parts a parallel op splits into, read from the
  /// runtime per call (`mtgr_threads`, runtime/Profile.h), and body(part) for
  /// part in [0, parts) as an scf.parallel (one OpenMP thread per part,
  /// codegen/host). A part's scratch buffers are its own (allocated in the
  /// body, freed at its end: allocScratch).
  /// `kind` names the region's function in the host code
  /// (mtgr_<kind>_<op location name>_<n>, codegen/cpu mtgr-cpu-outline-parallel: what perf shows).
  Value threads();
  void parallelParts(Value parts, StringRef kind, function_ref<void(Value part)> body);
  /// The last i in [0, n) with starts[i] <= x, for ascending starts (and
  /// starts[0] <= x): the sample holding row x of offsets [n + 1] (empty
  /// samples hold none). A binary search, in log2(n) loads.
  Value lastAtOrBelow(Value starts, Value n, Value x);
  /// [n part / parts, n (part + 1) / parts): part's even share of n units.
  std::pair<Value, Value> evenShare(Value n, Value part, Value parts);
  /// A static buffer private to the enclosing parallel part (or loop body),
  /// freed when `body` returns.
  void withScratch(ArrayRef<std::pair<Type, SmallVector<int64_t>>> shapes,
                   function_ref<void(ArrayRef<Value>)> body);

  /// A buffer of `rows` rows of `rowShape` (the leading dimension dynamic).
  Value alloc(Type elt, ArrayRef<int64_t> rowShape, Value rows);
  /// A buffer of a static shape.
  Value allocStatic(Type elt, ArrayRef<int64_t> shape);
  /// body(indices) for every element of a buffer (rows independent:
  /// forEach; the other dimensions loops).
  void forEachElement(Value m, function_ref<void(ValueRange)> body);
  /// Fills a buffer of rank 1-3 with `value`.
  void fill(Value m, Value value);
  /// A new buffer shaped like x with elements of type `elt`, x's values
  /// converted (f32 <-> bf16/f16 activation storage).
  Value convertedCopy(Value x, Type elt);
  /// Samples of a jagged value (offsets [B + 1]) or per-sample rows.
  Value samples(const JaggedBuffers &x) {
    return x.offsets ? sub(dim(x.offsets, 0), idx(1)) : dim(x.values, 0);
  }
  Value samples(const LayoutBuffers &l) { return sub(dim(l.offsets, 0), idx(1)); }
  Value rows(Value values) { return dim(values, 0); }
};

/// The bf16 bits (i16; round to nearest even, NaN stays NaN) of an f32.
Value toBf16Bits(LoopBuilder &l, Value x);

/// What every back end's lowering pass does around its conversion: the
/// bound entry points of `module` (functions with mtgr.abi; none when the
/// module is not bound), or failure after an error on an unbound entry point
/// or a model-level op left in one.
FailureOr<SmallVector<Operation *>> boundEntryPoints(ModuleOp module);
/// After the conversion: an error if a buffer cast is left; then the
/// model-level description is erased: everything at the top of `module`
/// but the entry points and what `keep` accepts.
LogicalResult keepLoweredCode(ModuleOp module, ArrayRef<Operation *> entries,
                              function_ref<bool(Operation *)> keep);

/// The argument of the enclosing entry point that mtgr-bind-entry-points bound
/// to `op` under `key` (the op's `mtgr.bound` dictionary of argument numbers).
Value boundArgument(Operation *op, StringRef key);

/// Per-op-family conversion patterns to loops (one file each).
struct GemmTiles;
void populateLinearLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                    const GemmTiles &tiles);
void populateElementwiseLoweringPatterns(BufferTypeConverter &converter,
                                         RewritePatternSet &patterns,
                                         const ParallelLoops *parallel = nullptr);
void populateDropoutLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                     const ParallelLoops *parallel = nullptr);
void populateTokenLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                   const ParallelLoops *parallel = nullptr);
/// `lanes`: the vector width of the row statistics (1: scalar, in order).
void populateNormLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                  const ParallelLoops *parallel = nullptr, int64_t lanes = 1);
/// What the CPU attention's tiles follow from the target (codegen/cpu/Target.h).
struct AttentionMachine {
  int64_t vectorRegisters = 16; // its register tiles fit them
  /// The key columns' bytes of a sample past which its backward takes two
  /// passes (TargetDescription::attentionSweepBytes).
  int64_t sweepBytes = 8 << 20;
  /// L1 data bytes per core: the forward's group of tiles keeps its
  /// weights within a quarter of them.
  int64_t l1Bytes = 32 << 10;
  /// L2 bytes per core: a sample whose keys and values pass half of them
  /// takes the forward's super blocks, whose Q blocks and output rows stay
  /// within the other half.
  int64_t l2Bytes = 512 << 10;
};
void populateAttentionLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                       const AttentionMachine &machine = {});
void populateLossLoweringPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                  const ParallelLoops *parallel = nullptr);
void populateOptimizerLoweringPatterns(BufferTypeConverter &converter,
                                       RewritePatternSet &patterns,
                                       const ParallelLoops *parallel = nullptr);

/// The buffers of a "rows" result shaped like `x`: jagged results keep x's
/// offsets, per-sample rows have none.
inline SmallVector<Value> rowsLike(const JaggedBuffers &x, Value values) {
  if (x.offsets)
    return {values, x.offsets};
  return {values};
}
/// The row of a group norm's gamma and beta for token `r`: its token group
/// with one row per group ([4, D]), row 0 when the norm is shared ([1, D],
/// norm_groups: shared).
inline Value normRow(LoopBuilder &l, const LayoutBuffers &layout, Value gamma, Value r) {
  if (cast<MemRefType>(gamma.getType()).getDimSize(0) == 1)
    return l.idx(0);
  return l.load(layout.group, {r});
}
/// What the loop level imports from the runtime, declared as external
/// functions; a back end turns them into environment-table reads
/// (abi/Environment.h; the CPU's mtgr-cpu-packed-entry-points), together
/// with the allocation functions of MLIR's generic memref lowering.
constexpr llvm::StringLiteral kThreadsImport = "mtgr_threads";
constexpr llvm::StringLiteral kProfileClockImport = "mtgr_profile_clock";
constexpr llvm::StringLiteral kProfileRecordImport = "mtgr_profile_record";
/// A GPU kernel launch (abi/GpuLaunch.h; codegen/cuda's mtgr-lower-gpu-launches).
constexpr llvm::StringLiteral kGpuLaunchImport = "mtgr_gpu_launch";
/// mtgr_gpu_gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc), all i64
/// (abi/GpuLaunch.h): a GEMM by the device's library on its stream.
constexpr llvm::StringLiteral kGpuGemmImport = "mtgr_gpu_gemm";
/// Its form until mtgr-lower-gpu-launches: (transA, transB, m, n, k : i64,
/// A, B, C : memref<?x?xf32, strided<[?, ?], offset: ?>>), a kernel call, so
/// the buffers live until the GEMM has run.
constexpr llvm::StringLiteral kGpuGemmBuffersImport = "mtgr_gpu_gemm_buffers";
/// mtgr_gpu_upload(device, host, bytes), all i64 (abi/GpuLaunch.h): a copy
/// of a host buffer into device memory on the device's stream, ordered
/// before the launches after it.
constexpr llvm::StringLiteral kGpuUploadImport = "mtgr_gpu_upload";
/// Its form until mtgr-lower-gpu-launches: mtgr_gpu_upload_<element type>
/// (device, host : memref<*x element type>), from mtgr-plan-on-host.
constexpr llvm::StringLiteral kGpuUploadImportPrefix = "mtgr_gpu_upload_";
/// mtgr_gpu_tensor_map(base, rows, cols, row_bytes, box_rows, box_cols,
/// swizzle) -> the map's device address, all i64 (abi/Environment.h): a
/// tensor map for TMA copies of a bf16 matrix, valid until the call ends.
constexpr llvm::StringLiteral kGpuTensorMapImport = "mtgr_gpu_tensor_map";
/// Its form until mtgr-lower-gpu-launches: (matrix : memref<?x?xbf16,
/// strided<[?, 1], offset: ?>>, box_rows, box_cols, swizzle : i64) -> i64,
/// on the buffer itself (host code extracts no address before the kernels
/// are outlined, so none is shared with a kernel's).
constexpr llvm::StringLiteral kGpuTensorMapBuffersImport = "mtgr_gpu_tensor_map_buffer";
/// mtgr_gpu_multiprocessors() -> i64 (abi/Environment.h): the device's
/// multiprocessors, 0 when not known; persistent kernels' grids.
constexpr llvm::StringLiteral kGpuMultiprocessorsImport = "mtgr_gpu_multiprocessors";
/// mtgr_host_alloc(bytes) -> pointer: a host buffer of GPU code (64-byte
/// aligned), for the memref.allocs mtgr-plan-on-host marks kHostMemoryAttr;
/// the environment's free releases it.
constexpr llvm::StringLiteral kHostAllocImport = "mtgr_host_alloc";
constexpr llvm::StringLiteral kHostMemoryAttr = "mtgr.host_memory";

/// The HSTU layer an op belongs to (its location `layers.<l>`, from the
/// frontend and decomposition), or -1.
int64_t hstuLayerOf(Operation *op);
/// With profiling on (the module's `mtgr.profile`), a call that reads the
/// clock before an op's code, and one that adds the time since to its family.
Value profileStart(OpBuilder &b, Operation *op);
void profileStop(OpBuilder &b, Operation *op, Value start);

/// A fresh buffer like `x`: rows of the same row shape, or the same static
/// shape (a whole tensor, e.g. a parameter gradient's sum).
Value allocLike(LoopBuilder &l, Value x);

/// A memref or other non-mtgr, non-tensor type: what lowering leaves.
bool isBufferType(Type t);
/// The casts mtgr-bind-entry-points puts between the ABI's buffers and the
/// mtgr values fold away in every back end's conversion: buffers -> value
/// becomes the buffers, value -> buffers the value's converted buffers;
/// where the element types differ (activations stored narrower than the
/// ABI's f32), a converted copy, run by `parallel`.
void populateBufferCastFolding(BufferTypeConverter &converter, RewritePatternSet &patterns,
                               const ParallelLoops *parallel = nullptr);

/// A conversion pattern whose body is written with the loop helpers:
/// `lower(op, adaptor, builder)` returns the buffers of every result.
template <typename Op>
struct LoopPattern : OpConversionPattern<Op> {
  LoopPattern(const TypeConverter &converter, MLIRContext *ctx,
              const ParallelLoops *parallel = nullptr)
      : OpConversionPattern<Op>(converter, ctx), parallel(parallel) {}
  /// The back end's independent iterations (LoopBuilder::forEach).
  const ParallelLoops *parallel;
  using Adaptor = typename OpConversionPattern<Op>::OneToNOpAdaptor;
  virtual FailureOr<SmallVector<SmallVector<Value>>> lower(Op op, Adaptor a,
                                                          LoopBuilder &l) const = 0;
  LogicalResult matchAndRewrite(Op op, Adaptor a,
                                ConversionPatternRewriter &rewriter) const final {
    LoopBuilder l(rewriter, op.getLoc(), parallel);
    l.origin = op;
    // (Every mtgr lowering pattern is built on a BufferTypeConverter.)
    l.storage = static_cast<const BufferTypeConverter *>(this->getTypeConverter())->narrowStorage();
    Value started = profileStart(rewriter, op);
    auto results = lower(op, a, l);
    if (failed(results))
      return failure();
    profileStop(rewriter, op, started);
    if (op->getNumResults() == 0)
      rewriter.eraseOp(op);
    else
      rewriter.replaceOpWithMultiple(op, std::move(*results));
    return success();
  }
};
} // namespace mlir::mtgr

#endif
