//===- CudaOptions.h - the CUDA back end's options in the unit tests ------===//
//
// The emulated GPU tests compile for the CUDA back end without device code
// ("none": the kernels' host build, which the emulator runs), choosing the
// GEMM, the attention and the activations' storage by name.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_TEST_UNIT_CUDAOPTIONS_H
#define MTGR_TEST_UNIT_CUDAOPTIONS_H

#include "codegen/common/TargetBackend.h"

#include <string>

namespace mlir::mtgr::test {
/// BackendOptions for --target=cuda: gemm, attention and dtype as
/// mtgr-compile's --gemm, --attention and --dtype ("" = the default), for
/// the architectures `archs` (--cuda-arch).
inline BackendOptions cudaOptions(std::string gemm = "", std::string attention = "",
                                  std::string dtype = "fp32", std::string archs = "none") {
  BackendOptions o;
  o.gpuArchs = std::move(archs);
  o.gemm = std::move(gemm);
  o.attention = std::move(attention);
  o.dtype = std::move(dtype);
  return o;
}
} // namespace mlir::mtgr::test

#endif
