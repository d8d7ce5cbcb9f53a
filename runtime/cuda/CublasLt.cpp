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
constexpr int kPreferenceMaxWorkspace = 1; // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
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
  // The heuristic (optional: without it cuBLASLt picks inside each matmul).
  int (*preferenceCreate)(void **preference) = nullptr;
  int (*preferenceDestroy)(void *preference) = nullptr;
  int (*preferenceSetAttribute)(void *preference, int attribute, const void *value,
                                size_t bytes) = nullptr;
  int (*algoGetHeuristic)(void *handle, void *desc, void *a, void *b, void *c, void *d,
                          void *preference, int requested, void *results, int *returned) = nullptr;
};

/// cublasLtMatmulHeuristicResult_t: the algorithm (cublasLtMatmulAlgo_t,
/// 64 bytes), its workspace, status and waves.
struct HeuristicResult {
  uint64_t algo[8];
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(HeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t");

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
  SymbolResolver heuristic(library);
  heuristic(api.preferenceCreate, "cublasLtMatmulPreferenceCreate");
  heuristic(api.preferenceDestroy, "cublasLtMatmulPreferenceDestroy");
  heuristic(api.preferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute");
  heuristic(api.algoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic");
  if (heuristic.firstMissing())
    api.algoGetHeuristic = nullptr;
  if (int status = api.create(&lt->handle)) {
    std::string name = lt->statusName(status);
    lt->handle = nullptr;
    return fail("cublasLtCreate: " + name);
  }
  return std::move(lt);
}

CublasLt::~CublasLt() {
  for (auto &entry : plans)
    destroy(entry.second);
  if (handle)
    api->destroy(handle);
  if (library)
    dlclose(library);
}

std::string CublasLt::statusName(int status) const {
  const char *name = api && api->getStatusName ? api->getStatusName(status) : nullptr;
  return name ? name : "cuBLAS status " + std::to_string(status);
}

void CublasLt::destroy(Plan &plan) {
  for (void *layout : {plan.a, plan.b, plan.c})
    if (layout)
      api->layoutDestroy(layout);
  if (plan.desc)
    api->descDestroy(plan.desc);
  plan = Plan();
}

llvm::Expected<const CublasLt::Plan *> CublasLt::plan(Type type, bool transA, bool transB,
                                                      int64_t m, int64_t n, int64_t k,
                                                      int64_t lda, int64_t ldb, int64_t ldc,
                                                      uint64_t workspaceBytes) {
  PlanKey key{static_cast<int>(type), transA, transB, m, n, k, lda, ldb, ldc, workspaceBytes};
  auto found = plans.find(key);
  if (found != plans.end())
    return &found->second;
  Plan p;
  int dataType = static_cast<int>(type);
  int opA = transA ? 1 : 0, opB = transB ? 1 : 0; // CUBLAS_OP_T / CUBLAS_OP_N
  std::string failed;
  auto step = [&](int status, const char *call) {
    if (status != 0 && failed.empty())
      failed = std::string(call) + ": " + statusName(status);
    return failed.empty();
  };
  step(api->descCreate(&p.desc, kComputeF32, kScaleF32), "cublasLtMatmulDescCreate") &&
      step(api->descSetAttribute(p.desc, kDescTransA, &opA, sizeof(opA)),
           "cublasLtMatmulDescSetAttribute(TRANSA)") &&
      step(api->descSetAttribute(p.desc, kDescTransB, &opB, sizeof(opB)),
           "cublasLtMatmulDescSetAttribute(TRANSB)") &&
      step(api->layoutCreate(&p.a, dataType, transA ? k : m, transA ? m : k, lda),
           "cublasLtMatrixLayoutCreate(A)") &&
      step(api->layoutCreate(&p.b, dataType, transB ? n : k, transB ? k : n, ldb),
           "cublasLtMatrixLayoutCreate(B)") &&
      step(api->layoutCreate(&p.c, dataType, m, n, ldc), "cublasLtMatrixLayoutCreate(C)");
  if (!failed.empty()) {
    destroy(p);
    return fail(failed + " (" + std::to_string(m) + " x " + std::to_string(n) + " x " +
                std::to_string(k) + ")");
  }
  // The heuristic's first algorithm within the workspace, chosen once per
  // shape (without it, or when it finds none, cuBLASLt chooses in each
  // matmul, on the host, every call).
  void *preference = nullptr;
  if (api->algoGetHeuristic && api->preferenceCreate(&preference) == 0) {
    HeuristicResult result{};
    int returned = 0;
    if (api->preferenceSetAttribute(preference, kPreferenceMaxWorkspace, &workspaceBytes,
                                    sizeof(workspaceBytes)) == 0 &&
        api->algoGetHeuristic(handle, p.desc, p.a, p.b, p.c, p.c, preference, 1, &result,
                              &returned) == 0 &&
        returned > 0 && result.state == 0 && result.workspaceSize <= workspaceBytes) {
      p.hasAlgo = true;
      std::memcpy(p.algo, result.algo, sizeof(p.algo));
    }
    api->preferenceDestroy(preference);
  }
  return &plans.emplace(key, p).first->second;
}

llvm::Error CublasLt::matmul(Type type, bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                             uint64_t a, int64_t lda, uint64_t b, int64_t ldb, uint64_t c,
                             int64_t ldc, void *stream, uint64_t workspace,
                             uint64_t workspaceBytes) {
  auto p = plan(type, transA, transB, m, n, k, lda, ldb, ldc, workspaceBytes);
  if (!p)
    return p.takeError();
  float alpha = 1.0f, beta = 0.0f;
  const Plan &q = **p;
  if (int status = api->matmul(handle, q.desc, &alpha, reinterpret_cast<const void *>(a), q.a,
                               reinterpret_cast<const void *>(b), q.b, &beta,
                               reinterpret_cast<const void *>(c), q.c, reinterpret_cast<void *>(c),
                               q.c, q.hasAlgo ? q.algo : nullptr, reinterpret_cast<void *>(workspace),
                               workspaceBytes, stream))
    return fail("cublasLtMatmul: " + statusName(status) + " (" + std::to_string(m) + " x " +
                std::to_string(n) + " x " + std::to_string(k) + ")");
  return llvm::Error::success();
}

size_t CublasLt::plansMade() const { return plans.size(); }

size_t CublasLt::plansWithAlgorithm() const {
  size_t count = 0;
  for (const auto &entry : plans)
    count += entry.second.hasAlgo;
  return count;
}

llvm::Error CublasLt::gemm(const GpuGemmCall &c, void *stream, uint64_t workspace,
                           uint64_t workspaceBytes) {
  // Row-major X (r x c, ld) is column-major X^T: C^T (n x m) = op(B)^T
  // op(A)^T, where op(B)^T is B's buffer as it is when B is not transposed.
  return matmul(Type::F32, c.transB, c.transA, c.n, c.m, c.k, c.b, c.ldb, c.a, c.lda, c.c, c.ldc,
                stream, workspace, workspaceBytes);
}
