/*===- Environment.h - what generated code imports from the runtime -*- C -*-===*
 *
 * Generated code imports nothing by symbol: every entry point takes, after its
 * argument array, a pointer to this table, filled by the runtime for each call
 * (IREE's executable environment, scaled down). Its buffers come from the
 * session's pool, its parallel ops split into `threads` parts, and profiled
 * code reports to the session's counters — so two sessions, of one model or
 * of two, run side by side in one process, and a host that loads the runtime
 * with RTLD_LOCAL (a Python extension module) works.
 *
 * Entry points:   void mtgr_<name>_packed(void **args, const mtgr_environment *env);
 * args[i] points to the memref descriptor of ABI argument i.
 *
 * The compiler builds the loads of these fields by index (the MTGR_ENV_*
 * numbers, codegen's mtgr-cpu-packed-entry-points); change the layout only
 * with kArtifactVersion.
 *===----------------------------------------------------------------------===*/
#ifndef MTGR_ABI_ENVIRONMENT_H
#define MTGR_ABI_ENVIRONMENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mtgr_environment {
  /* Passed back to every function below: the session's pool and counters. */
  void *context;
  /* Parts each parallel op of this call splits into (>= 1). */
  int64_t threads;
  /* A 64-byte aligned block of `size` bytes (alignment <= 64), or the
   * process ends with a message: generated code cannot report errors. */
  void *(*alloc)(void *context, uint64_t alignment, uint64_t size);
  void (*free)(void *context, void *block);
  /* Profiled code only: a monotonic clock in ns, and the time since `start`
   * added to `family` (abi/AbiKinds.h ProfileFamily) and HSTU `layer`. */
  int64_t (*profile_clock)(void *context);
  void (*profile_record)(void *context, int64_t family, int64_t layer, int64_t start);
  /* GPU code only: launches a kernel on the device's stream
   * (abi/GpuLaunch.h); a grid of no blocks launches nothing. Appended after
   * the fields CPU code reads, so CPU artifacts keep their format. */
  void (*gpu_launch)(void *context, int64_t kernel, int64_t grid_x, int64_t grid_y,
                     int64_t grid_z, int64_t block_x, int64_t block_y, int64_t block_z,
                     int64_t shared_bytes, int64_t *params, int64_t count);
  /* GPU code compiled with --gemm=cublaslt: a GEMM by the device's library
   * on its stream (abi/GpuLaunch.h). */
  void (*gpu_gemm)(void *context, int64_t trans_a, int64_t trans_b, int64_t m, int64_t n,
                   int64_t k, int64_t a, int64_t lda, int64_t b, int64_t ldb, int64_t c,
                   int64_t ldc);
  /* GPU code only: a 64-byte aligned block of host memory for the buffers
   * the host code plans with (integer buffers: offsets, masks, tile lists;
   * codegen's mtgr-plan-on-host), released through `free` above. */
  void *(*host_alloc)(void *context, uint64_t size);
  /* GPU code only: copies `bytes` from host address `host` to device address
   * `device` on the device's stream, before the launches after it; the host
   * buffer may be reused as soon as the call returns. */
  void (*gpu_upload)(void *context, int64_t device, int64_t host, int64_t bytes);
  /* GPU code with TMA copies (sm_90a): the device address of a tensor map
   * (CUtensorMap; the emulator's mtgr_emu_tensor_map, abi/GpuLaunch.h) of
   * a row-major bf16 matrix at device address `base`, rows x cols, row_bytes
   * apart (a multiple of 16), read in boxes of box_rows x box_cols with
   * `swizzle` (0 none, 1 32-byte, 2 64-byte, 3 128-byte); valid until the
   * call ends. No rows or columns: 0, no map (nothing to copy; no block
   * runs then). */
  int64_t (*gpu_tensor_map)(void *context, int64_t base, int64_t rows, int64_t cols,
                            int64_t row_bytes, int64_t box_rows, int64_t box_cols, int64_t swizzle);
  /* GPU code only: the device's streaming multiprocessors, which persistent
   * kernels size their grids by (a block per multiprocessor); 0 when not
   * known (a block per tile then). */
  int64_t gpu_multiprocessors;
} mtgr_environment;

/* Field numbers, for the compiler. */
enum {
  MTGR_ENV_CONTEXT = 0,
  MTGR_ENV_THREADS = 1,
  MTGR_ENV_ALLOC = 2,
  MTGR_ENV_FREE = 3,
  MTGR_ENV_PROFILE_CLOCK = 4,
  MTGR_ENV_PROFILE_RECORD = 5,
  MTGR_ENV_GPU_LAUNCH = 6,
  MTGR_ENV_GPU_GEMM = 7,
  MTGR_ENV_HOST_ALLOC = 8,
  MTGR_ENV_GPU_UPLOAD = 9,
  MTGR_ENV_GPU_TENSOR_MAP = 10,
  MTGR_ENV_GPU_MULTIPROCESSORS = 11,
  MTGR_ENV_FIELDS = 12
};

#ifdef __cplusplus
}
#endif

#endif
