//===- GpuSupport.h - what every GPU op family's kernels share -*- C++ -*-===//
#ifndef MTGR_CODEGEN_CUDA_GPUSUPPORT_H
#define MTGR_CODEGEN_CUDA_GPUSUPPORT_H

#include "codegen/common/LoweringSupport.h"

namespace mlir::mtgr {

class BufferTypeConverter;

/// Names the kernel a gpu.launch becomes after its entry point and the op
/// being lowered (l.origin): "mtgr_forward__fused_linear", and notes the
/// op's profile family and HSTU layer on the launch (kKernelProfileAttr).
void nameKernel(LoopBuilder &l, Operation *launch);

/// After the conversion: every named launch gets a unique kernel name
/// ("mtgr_forward__fused_linear_2" for the third), kept by outlining, and
/// the module the dictionary kGpuKernelProfilesAttr {name = [family,
/// layer]} that the launch metadata carries (per-family kernel times).
void finishKernelNames(ModuleOp module);
inline constexpr llvm::StringLiteral kKernelProfileAttr = "mtgr.kernel_profile";
inline constexpr llvm::StringLiteral kGpuKernelProfilesAttr = "mtgr.gpu_kernel_profiles";

/// A kernel of `count` threads (an index computed on the host), in blocks
/// of blockSize: body(i) for i in [0, count); threads past the end do
/// nothing.
void launchThreads(LoopBuilder &l, Value count, int64_t blockSize, function_ref<void(Value)> body);

/// A kernel with one thread per element of `like` (a rows buffer [rows, ...]
/// or a static tensor): a gpu.launch of ceil(elements / blockSize) blocks of
/// blockSize threads, the grid computed on the host from the buffer's size;
/// `body` gets the element's indices (threads past the end do nothing).
void launchPerElement(LoopBuilder &l, Value like, int64_t blockSize,
                      function_ref<void(ValueRange)> body);

/// LoopBuilder::forEach as a kernel of a thread per iteration (blockSize
/// per block, grid from the count on the host), serial as a kernel of one
/// thread; inside a kernel, both are plain loops. With it the shared op
/// lowerings (codegen/common/Lower*.cpp) generate kernels.
class GpuParallelLoops final : public ParallelLoops {
public:
  explicit GpuParallelLoops(int64_t blockSize) : blockSize(blockSize) {}
  void forEach(LoopBuilder &l, Value count, function_ref<void(Value)> body) const override;
  void serial(LoopBuilder &l, function_ref<void()> body) const override;

private:
  int64_t blockSize;
};

void populateGpuElementwisePatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                    int64_t blockSize);
/// How the attention and its gradient run: SIMT threads over the tile
/// list (fp32), or fused passes on tensor cores (forward, dQ, dK, dV: bf16
/// operands, f32 sums; tile lists of 64 x 64; the relative-bias gradients
/// stay SIMT).
/// Wgmma: the forward on sm_90a's warpgroup MMA fed by TMA where the heads
/// allow it (multiples of 16 up to 256), the backward as TensorCore.
enum class GpuAttentionKind { Simt, TensorCore, Wgmma };
/// The kind `--attention` / the pass option names: "generated",
/// "tensor-core", "wgmma" (kGpuAttentionKinds lists them for messages).
std::optional<GpuAttentionKind> parseGpuAttentionKind(StringRef name);
inline constexpr llvm::StringLiteral kGpuAttentionKinds = "generated, tensor-core or wgmma";
void populateGpuAttentionPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                  int64_t blockSize, GpuAttentionKind kind);
/// The buffers a GEMM library call takes (kGpuGemmBuffersImport): any
/// 2-D f32 memref, cast to memref<?x?xf32, strided<[?, ?], offset: ?>>.
MemRefType gemmBufferType(MLIRContext *ctx);

/// The products' kernels: mtgr's tiled GEMM, or (library) calls of the
/// runtime's GEMM with mtgr's prologue and epilogue kernels around them.
/// How products run: mtgr's SIMT tiled GEMM (fp32), mtgr's tensor-core
/// GEMM (bf16 operands, f32 sums) on mma.sync (sm_80 and later) or on
/// wgmma (sm_90a only), or the runtime's GEMM library.
enum class GpuGemmKind { Simt, TensorCore, Wgmma, Library };
/// The kind `--gemm` / the pass option names: "generated", "tensor-core",
/// "wgmma", "cublaslt" (kGpuGemmKinds lists them for messages).
std::optional<GpuGemmKind> parseGpuGemmKind(StringRef name);
inline constexpr llvm::StringLiteral kGpuGemmKinds = "generated, tensor-core, wgmma or cublaslt";
struct GpuLinearOptions {
  int64_t blockSize = 256;
  GpuGemmKind gemm = GpuGemmKind::Simt;
};
void populateGpuLinearPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                               GpuLinearOptions options);
void populateGpuNormPatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                             int64_t blockSize);

/// Patterns whose kernels take the pass's block size.
template <typename Op> struct GpuPattern : LoopPattern<Op> {
  GpuPattern(BufferTypeConverter &c, MLIRContext *ctx, int64_t blockSize)
      : LoopPattern<Op>(c, ctx), blockSize(blockSize) {}
  int64_t blockSize;
};

} // namespace mlir::mtgr

#endif
