//===- GpuSupport.h - what every GPU op family's kernels share -*- C++ -*-===//
#ifndef MTGR_CODEGEN_CUDA_GPUSUPPORT_H
#define MTGR_CODEGEN_CUDA_GPUSUPPORT_H

#include "codegen/common/LoweringSupport.h"

namespace mlir::mtgr {

class BufferTypeConverter;

/// A kernel with one thread per element of `like` (a rows buffer [rows, ...]
/// or a static tensor): a gpu.launch of ceil(elements / blockSize) blocks of
/// blockSize threads, the grid computed on the host from the buffer's size;
/// `body` gets the element's indices (threads past the end do nothing).
void launchPerElement(LoopBuilder &l, Value like, int64_t blockSize,
                      function_ref<void(ValueRange)> body);

void populateGpuElementwisePatterns(BufferTypeConverter &converter, RewritePatternSet &patterns,
                                    int64_t blockSize);

} // namespace mlir::mtgr

#endif
