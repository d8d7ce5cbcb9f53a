//===- FakeCublasLt.cpp - a stand-in libcublasLt.so.13 for tests ----------===//
//
// cuBLASLt as the CUDA device loads it (runtime/cuda/CublasLt.cpp), for
// machines without a GPU: the fake driver's memory is the host's, so the
// matmul computes on it (column-major, fp32 or bf16 inputs, fp32 sums), and
// the device's row-major GEMMs come out right. Environment:
//   FAKE_CUDA_TRACE=1             each matmul on stderr
//   FAKE_CUBLASLT_CREATE_ERROR=S  cublasLtCreate returns status S
//   FAKE_CUBLASLT_NO_ALGO=1       the heuristic finds no algorithm
// The heuristic answers algorithm 42 (data[0]); matmul checks what it gets.
// fake_cublaslt_counts() tells tests how many descriptors, heuristic calls
// and matmuls with an algorithm there were.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
long descriptorsMade = 0, heuristicCalls = 0, matmulsWithAlgo = 0;
struct Desc {
  int transA = 0, transB = 0;
};
struct Layout {
  int type;
  uint64_t rows, cols;
  int64_t ld;
};
float element(const Layout *l, const void *data, uint64_t r, uint64_t c) {
  uint64_t at = c * uint64_t(l->ld) + r;
  if (l->type == 14) { // CUDA_R_16BF: the high half of a float
    uint32_t bits = uint32_t(static_cast<const uint16_t *>(data)[at]) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  return static_cast<const float *>(data)[at];
}
} // namespace

extern "C" {
int cublasLtCreate(void **handle) {
  if (const char *e = std::getenv("FAKE_CUBLASLT_CREATE_ERROR"))
    return std::atoi(e);
  *handle = new int(0);
  return 0;
}
int cublasLtDestroy(void *handle) {
  delete static_cast<int *>(handle);
  return 0;
}
const char *cublasLtGetStatusName(int status) {
  switch (status) {
  case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
  case 7: return "CUBLAS_STATUS_INVALID_VALUE";
  default: return nullptr;
  }
}
int cublasLtMatmulDescCreate(void **desc, int computeType, int scaleType) {
  if (computeType != 68 || scaleType != 0)
    return 7;
  *desc = new Desc();
  ++descriptorsMade;
  return 0;
}
int cublasLtMatmulDescDestroy(void *desc) {
  delete static_cast<Desc *>(desc);
  return 0;
}
int cublasLtMatmulDescSetAttribute(void *desc, int attribute, const void *value, size_t bytes) {
  if (bytes != sizeof(int32_t) || (attribute != 3 && attribute != 4))
    return 7;
  int32_t op;
  std::memcpy(&op, value, 4);
  (attribute == 3 ? static_cast<Desc *>(desc)->transA : static_cast<Desc *>(desc)->transB) = op;
  return 0;
}
int cublasLtMatrixLayoutCreate(void **layout, int type, uint64_t rows, uint64_t cols, int64_t ld) {
  if ((type != 0 && type != 14) || ld < int64_t(rows))
    return 7;
  *layout = new Layout{type, rows, cols, ld};
  return 0;
}
int cublasLtMatrixLayoutDestroy(void *layout) {
  delete static_cast<Layout *>(layout);
  return 0;
}
void fake_cublaslt_counts(long *descriptors, long *heuristics, long *withAlgo) {
  *descriptors = descriptorsMade;
  *heuristics = heuristicCalls;
  *withAlgo = matmulsWithAlgo;
}
int cublasLtMatmulPreferenceCreate(void **preference) {
  *preference = new uint64_t(0);
  return 0;
}
int cublasLtMatmulPreferenceDestroy(void *preference) {
  delete static_cast<uint64_t *>(preference);
  return 0;
}
int cublasLtMatmulPreferenceSetAttribute(void *preference, int attribute, const void *value,
                                         size_t bytes) {
  if (attribute != 1 || bytes != sizeof(uint64_t)) // MAX_WORKSPACE_BYTES, uint64
    return 7;
  std::memcpy(preference, value, 8);
  return 0;
}
int cublasLtMatmulAlgoGetHeuristic(void *, void *desc, void *a, void *b, void *c, void *d,
                                   void *preference, int requested, void *results,
                                   int *returned) {
  if (!desc || !a || !b || !c || !d || !preference || requested < 1)
    return 7;
  ++heuristicCalls;
  *returned = 0;
  if (std::getenv("FAKE_CUBLASLT_NO_ALGO"))
    return 0;
  unsigned char result[96] = {};
  uint64_t algo = 42;
  std::memcpy(result, &algo, 8); // algo.data[0]; workspaceSize 0, state 0
  std::memcpy(results, result, sizeof(result));
  *returned = 1;
  return 0;
}
int cublasLtMatmul(void *, void *descPtr, const void *alpha, const void *a, void *aLayout,
                   const void *b, void *bLayout, const void *beta, const void *, void *cLayout,
                   void *d, void *dLayout, const void *algo, void *, size_t, void *) {
  if (algo) {
    uint64_t id;
    std::memcpy(&id, algo, 8);
    if (id != 42)
      return 7;
    ++matmulsWithAlgo;
  }
  auto *desc = static_cast<Desc *>(descPtr);
  auto *la = static_cast<Layout *>(aLayout), *lb = static_cast<Layout *>(bLayout);
  auto *ld = static_cast<Layout *>(dLayout);
  uint64_t m = ld->rows, n = ld->cols, k = desc->transA ? la->rows : la->cols;
  if ((desc->transA ? la->cols : la->rows) != m || (desc->transB ? lb->rows : lb->cols) != n ||
      (desc->transB ? lb->cols : lb->rows) != k || cLayout != dLayout || k == 0)
    return 7;
  float scale, add;
  std::memcpy(&scale, alpha, 4);
  std::memcpy(&add, beta, 4);
  if (std::getenv("FAKE_CUDA_TRACE"))
    std::fprintf(stderr, "fake-cublaslt: matmul %llu x %llu x %llu%s%s\n", (unsigned long long)m,
                 (unsigned long long)n, (unsigned long long)k, desc->transA ? " A^T" : "",
                 desc->transB ? " B^T" : "");
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) {
      float acc = 0;
      for (uint64_t p = 0; p < k; ++p)
        acc += (desc->transA ? element(la, a, p, i) : element(la, a, i, p)) *
               (desc->transB ? element(lb, b, j, p) : element(lb, b, p, j));
      uint64_t at = j * uint64_t(ld->ld) + i;
      if (ld->type == 14) {
        uint32_t bits;
        float value = scale * acc;
        std::memcpy(&bits, &value, 4);
        static_cast<uint16_t *>(d)[at] = uint16_t(bits >> 16);
      } else {
        static_cast<float *>(d)[at] = scale * acc + (add != 0 ? add * static_cast<float *>(d)[at] : 0);
      }
    }
  return 0;
}
}
