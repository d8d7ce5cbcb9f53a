//===- CublasLt.cpp - cuBLASLt, loaded at run time ------------------------===//
#include "runtime/cuda/CublasLt.h"
#include "model/Error.h"
#include "runtime/cuda/Symbols.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using namespace mtgr;

namespace {
// cublasLt.h / cublas_api.h values (the header is not needed to build).
constexpr int kComputeF32 = 68;         // CUBLAS_COMPUTE_32F
constexpr int kScaleF32 = 0;            // CUDA_R_32F
constexpr int kDescTransA = 3;          // CUBLASLT_MATMUL_DESC_TRANSA
constexpr int kDescTransB = 4;          // CUBLASLT_MATMUL_DESC_TRANSB
} // namespace

uint64_t GpuGemmCall::aBytes() const {
  int64_t rows = transA ? k : m, cols = transA ? m : k;
  return rows == 0 || cols == 0 ? 0 : uint64_t((rows - 1) * lda + cols) * 4;
}
uint64_t GpuGemmCall::bBytes() const {
  int64_t rows = transB ? n : k, cols = transB ? k : n;
  return rows == 0 || cols == 0 ? 0 : uint64_t((rows - 1) * ldb + cols) * 4;
}
uint64_t GpuGemmCall::cBytes() const {
  return m == 0 || n == 0 ? 0 : uint64_t((m - 1) * ldc + n) * 4;
}

llvm::Error mtgr::checkGemmCall(const GpuGemmCall &c) {
  auto bad = [&](const std::string &why) {
    return fail("a GEMM of " + std::to_string(c.m) + " x " + std::to_string(c.n) + " x " +
                std::to_string(c.k) + ": " + why);
  };
  if (c.m < 0 || c.n < 0 || c.k < 0)
    return bad("a negative size");
  if (c.lda < (c.transA ? c.m : c.k) || c.ldb < (c.transB ? c.k : c.n) || c.ldc < c.n)
    return bad("a row stride shorter than its row (lda " + std::to_string(c.lda) + ", ldb " +
               std::to_string(c.ldb) + ", ldc " + std::to_string(c.ldc) + ")");
  if (c.m > 0 && c.n > 0 && (!c.c || (c.k > 0 && (!c.a || !c.b))))
    return bad("a null operand");
  return llvm::Error::success();
}

void mtgr::hostGemm(const GpuGemmCall &c) {
  auto *a = reinterpret_cast<const float *>(c.a);
  auto *b = reinterpret_cast<const float *>(c.b);
  auto *out = reinterpret_cast<float *>(c.c);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      float acc = 0;
      for (int64_t p = 0; p < c.k; ++p) {
        float x = c.transA ? a[p * c.lda + i] : a[i * c.lda + p];
        float y = c.transB ? b[j * c.ldb + p] : b[p * c.ldb + j];
        acc = std::fma(x, y, acc);
      }
      out[i * c.ldc + j] = acc;
    }
}

struct CublasLt::Api {
  int (*create)(void **handle);
  int (*destroy)(void *handle);
  const char *(*getStatusName)(int status);
  int (*descCreate)(void **desc, int computeType, int scaleType);
  int (*descDestroy)(void *desc);
  int (*descSetAttribute)(void *desc, int attribute, const void *value, size_t bytes);
  int (*layoutCreate)(void **layout, int type, uint64_t rows, uint64_t cols, int64_t ld);
  int (*layoutDestroy)(void *layout);
  int (*matmul)(void *handle, void *desc, const void *alpha, const void *a, void *aLayout,
                const void *b, void *bLayout, const void *beta, const void *c, void *cLayout,
                void *d, void *dLayout, const void *algo, void *workspace, size_t workspaceBytes,
                void *stream);
};

llvm::Expected<std::unique_ptr<CublasLt>> CublasLt::load() {
  const char *named = std::getenv("MTGR_LIBCUBLASLT");
  std::string path = named && *named ? named : "libcublasLt.so.13";
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return fail("cuBLASLt (" + path + ") could not be opened: " + dlerror() +
                " (install the CUDA 13 toolkit's libcublasLt, or set MTGR_LIBCUBLASLT)");
  std::unique_ptr<CublasLt> lt(new CublasLt());
  lt->library = library;
  lt->libraryPath = path;
  lt->api = std::make_unique<Api>();
  SymbolResolver resolve(library);
  Api &api = *lt->api;
  resolve(api.create, "cublasLtCreate");
  resolve(api.destroy, "cublasLtDestroy");
  resolve(api.getStatusName, "cublasLtGetStatusName");
  resolve(api.descCreate, "cublasLtMatmulDescCreate");
  resolve(api.descDestroy, "cublasLtMatmulDescDestroy");
  resolve(api.descSetAttribute, "cublasLtMatmulDescSetAttribute");
  resolve(api.layoutCreate, "cublasLtMatrixLayoutCreate");
  resolve(api.layoutDestroy, "cublasLtMatrixLayoutDestroy");
  resolve(api.matmul, "cublasLtMatmul");
  if (const char *missing = resolve.firstMissing())
    return fail("cuBLASLt (" + path + ") has no " + missing + ": not cuBLASLt, or too old");
  if (int status = api.create(&lt->handle)) {
    std::string name = lt->statusName(status);
    lt->handle = nullptr;
    return fail("cublasLtCreate: " + name);
  }
  return std::move(lt);
}

CublasLt::~CublasLt() {
  if (handle)
    api->destroy(handle);
  if (library)
    dlclose(library);
}

std::string CublasLt::statusName(int status) const {
  const char *name = api && api->getStatusName ? api->getStatusName(status) : nullptr;
  return name ? name : "cuBLAS status " + std::to_string(status);
}

llvm::Error CublasLt::matmul(Type type, bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                             uint64_t a, int64_t lda, uint64_t b, int64_t ldb, uint64_t c,
                             int64_t ldc, void *stream, uint64_t workspace,
                             uint64_t workspaceBytes) {
  void *desc = nullptr, *aLayout = nullptr, *bLayout = nullptr, *cLayout = nullptr;
  int dataType = static_cast<int>(type);
  int opA = transA ? 1 : 0, opB = transB ? 1 : 0; // CUBLAS_OP_T / CUBLAS_OP_N
  std::string failed;
  auto step = [&](int status, const char *call) {
    if (status != 0 && failed.empty())
      failed = std::string(call) + ": " + statusName(status);
    return failed.empty();
  };
  float alpha = 1.0f, beta = 0.0f;
  if (step(api->descCreate(&desc, kComputeF32, kScaleF32), "cublasLtMatmulDescCreate") &&
      step(api->descSetAttribute(desc, kDescTransA, &opA, sizeof(opA)),
           "cublasLtMatmulDescSetAttribute(TRANSA)") &&
      step(api->descSetAttribute(desc, kDescTransB, &opB, sizeof(opB)),
           "cublasLtMatmulDescSetAttribute(TRANSB)") &&
      step(api->layoutCreate(&aLayout, dataType, transA ? k : m, transA ? m : k, lda),
           "cublasLtMatrixLayoutCreate(A)") &&
      step(api->layoutCreate(&bLayout, dataType, transB ? n : k, transB ? k : n, ldb),
           "cublasLtMatrixLayoutCreate(B)") &&
      step(api->layoutCreate(&cLayout, dataType, m, n, ldc), "cublasLtMatrixLayoutCreate(C)"))
    step(api->matmul(handle, desc, &alpha, reinterpret_cast<const void *>(a), aLayout,
                     reinterpret_cast<const void *>(b), bLayout, &beta,
                     reinterpret_cast<const void *>(c), cLayout, reinterpret_cast<void *>(c),
                     cLayout, nullptr, reinterpret_cast<void *>(workspace), workspaceBytes, stream),
         "cublasLtMatmul");
  for (void *layout : {aLayout, bLayout, cLayout})
    if (layout)
      api->layoutDestroy(layout);
  if (desc)
    api->descDestroy(desc);
  if (!failed.empty())
    return fail(failed + " (" + std::to_string(m) + " x " + std::to_string(n) + " x " +
                std::to_string(k) + ")");
  return llvm::Error::success();
}

llvm::Error CublasLt::gemm(const GpuGemmCall &c, void *stream, uint64_t workspace,
                           uint64_t workspaceBytes) {
  // Row-major X (r x c, ld) is column-major X^T: C^T (n x m) = op(B)^T
  // op(A)^T, where op(B)^T is B's buffer as it is when B is not transposed.
  return matmul(Type::F32, c.transB, c.transA, c.n, c.m, c.k, c.b, c.ldb, c.a, c.lda, c.c, c.ldc,
                stream, workspace, workspaceBytes);
}
