//===- CublasLt.h - cuBLASLt, loaded at run time ------------------*- C++ -*-===//
//
// The GEMM library of the CUDA device (`mtgr-compile --gemm=cublaslt`, and
// the ceilings `mtgr-run devices --ceilings` measures): libcublasLt.so.13
// opened with dlopen when first needed, never linked, so mtgr starts where
// there is no CUDA. MTGR_LIBCUBLASLT names another file (tests load a
// stand-in through it).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CUDA_CUBLASLT_H
#define MTGR_RUNTIME_CUDA_CUBLASLT_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

namespace mtgr {

/// One call of the environment's gpu_gemm (abi/GpuLaunch.h): fp32,
/// row-major C[m x n] = op(A) op(B) at device addresses.
struct GpuGemmCall {
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0;
  uint64_t a = 0;
  int64_t lda = 0;
  uint64_t b = 0;
  int64_t ldb = 0;
  uint64_t c = 0;
  int64_t ldc = 0;
  /// The bytes each operand spans from its address (row stride x rows).
  uint64_t aBytes() const;
  uint64_t bBytes() const;
  uint64_t cBytes() const;
};

/// Sizes and strides that describe matrices (m, n, k >= 0, each row stride
/// at least its row's length): what both GPU devices check before a GEMM.
llvm::Error checkGemmCall(const GpuGemmCall &call);

/// The reference host GEMM the emulator runs (sums in k order with fused
/// multiply-adds, as mtgr's tiled kernel); k = 0 writes zeros.
void hostGemm(const GpuGemmCall &call);

class CublasLt {
public:
  /// Opens the library and creates a handle; the error names the library
  /// and what is missing.
  static llvm::Expected<std::unique_ptr<CublasLt>> load();
  ~CublasLt();
  CublasLt(const CublasLt &) = delete;
  CublasLt &operator=(const CublasLt &) = delete;

  const std::string &path() const { return libraryPath; }

  /// Data types of cuBLASLt's matrices (cudaDataType values).
  enum class Type : int { F32 = 0, BF16 = 14 };
  /// Column-major D[m x n] = op(A) op(B) (cuBLASLt's own convention), fp32
  /// accumulation, on `stream`; `workspace` is device memory. The first
  /// call of a shape (types, transposes, sizes, strides, workspace) makes
  /// its descriptors and asks the heuristic for an algorithm; later calls
  /// reuse both (no host work beyond a map lookup before the launch).
  llvm::Error matmul(Type type, bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                     uint64_t a, int64_t lda, uint64_t b, int64_t ldb, uint64_t c, int64_t ldc,
                     void *stream, uint64_t workspace, uint64_t workspaceBytes);
  /// The row-major fp32 GEMM of abi/GpuLaunch.h as a column-major one
  /// (C^T = op(B)^T op(A)^T). k = 0 is the caller's (cuBLASLt refuses it).
  llvm::Error gemm(const GpuGemmCall &call, void *stream, uint64_t workspace,
                   uint64_t workspaceBytes);

  /// Shapes planned so far, and how many of them got an algorithm from
  /// the heuristic (tests; the rest let cuBLASLt choose in each call).
  size_t plansMade() const;
  size_t plansWithAlgorithm() const;

private:
  CublasLt() = default;
  struct Api;
  /// A shape's descriptors and the heuristic's algorithm
  /// (cublasLtMatmulAlgo_t), made on its first call.
  struct Plan {
    void *desc = nullptr, *a = nullptr, *b = nullptr, *c = nullptr;
    bool hasAlgo = false;
    uint64_t algo[8] = {};
  };
  using PlanKey =
      std::tuple<int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, uint64_t>;
  llvm::Expected<const Plan *> plan(Type type, bool transA, bool transB, int64_t m, int64_t n,
                                    int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                                    uint64_t workspaceBytes);
  void destroy(Plan &plan);
  std::unique_ptr<Api> api;
  std::map<PlanKey, Plan> plans;
  void *library = nullptr;
  void *handle = nullptr;
  std::string libraryPath;
  std::string statusName(int status) const;
};

} // namespace mtgr

#endif
