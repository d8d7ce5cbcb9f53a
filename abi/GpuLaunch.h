/*===- GpuLaunch.h - how host code launches GPU kernels ----------*- C -*-===*
 *
 * The CUDA back end's host code (an x86-64 shared object, like the CPU's)
 * launches each kernel through the environment table (abi/Environment.h,
 * field MTGR_ENV_GPU_LAUNCH):
 *
 *   void gpu_launch(void *context, int64_t kernel,
 *                   int64_t grid_x, int64_t grid_y, int64_t grid_z,
 *                   int64_t block_x, int64_t block_y, int64_t block_z,
 *                   int64_t shared_bytes, int64_t *params, int64_t count);
 *
 * `kernel` indexes the code's kernel table (symbol MTGR_GPU_KERNELS_SYMBOL);
 * `params` holds `count` 64-bit words, one per parameter of the kernel's
 * LLVM signature (a memref is expanded as MLIR's calling convention does:
 * allocated and aligned pointer, offset, sizes, strides), each value in the
 * word's low bytes: the layout cuLaunchKernel's kernelParams point into.
 * Grids are computed on the host from buffer sizes; a launch never needs a
 * value read back from the device.
 *
 * Code compiled with `--gemm=cublaslt` also calls, through field
 * MTGR_ENV_GPU_GEMM, the device's GEMM library on the same stream:
 *
 *   void gpu_gemm(void *context, int64_t trans_a, int64_t trans_b,
 *                 int64_t m, int64_t n, int64_t k,
 *                 int64_t a, int64_t lda, int64_t b, int64_t ldb,
 *                 int64_t c, int64_t ldc);
 *
 * fp32, row-major: C[m x n] = op(A) op(B) with op(A) m x k, op(B) k x n;
 * A is stored m x k (trans_a = 0) or k x m (1) with row stride lda
 * elements, B k x n or n x k with ldb, C m x n with ldc; a, b and c are
 * device addresses. m, n or k of 0: C is zero (k = 0) or nothing to do.
 *
 * For the emulator (runtime/emu, `--device=cuda-emu`) the same object holds
 * every kernel compiled for the host: `run` executes one GPU thread with the
 * emulator's current thread and block ids, calling the emulator through the
 * table at MTGR_EMU_TABLE_SYMBOL (filled by the runtime before any launch;
 * the code imports nothing by symbol).
 *===----------------------------------------------------------------------===*/
#ifndef MTGR_ABI_GPULAUNCH_H
#define MTGR_ABI_GPULAUNCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One GPU thread of an emulated kernel: 0, or 1 when `count` is not the
 * kernel's parameter count. */
typedef int32_t (*mtgr_emu_thread_fn)(int64_t *params, int64_t count);

typedef struct mtgr_gpu_shared {
  void *base; /* the emulated kernel's static shared memory (host copy) */
  /* Its bytes; negative: the kernel's dynamic shared memory, which starts
   * at base and may take up to -bytes (the launch's shared_bytes). The
   * first record's base is the start of the shared window (its offsets are
   * what the code computes shared addresses as integers from). */
  int64_t bytes;
} mtgr_gpu_shared;

typedef struct mtgr_gpu_kernel {
  const char *name;       /* the kernel's symbol in the PTX and cubins */
  mtgr_emu_thread_fn run; /* the emulator's trampoline */
  int64_t params;         /* parameter words */
  int64_t barriers;       /* 1: it synchronises its block (needs fibers) */
  int64_t shared_count;
  const mtgr_gpu_shared *shared;
} mtgr_gpu_kernel;

/* The kernel table: records in launch-index order, then one whose name is
 * NULL. */
#define MTGR_GPU_KERNELS_SYMBOL "mtgr_gpu_kernels"
/* The emulator's table: MTGR_EMU_FIELDS function pointers. */
#define MTGR_EMU_TABLE_SYMBOL "mtgr_emu_table"

/* The emulator's functions, by table index. Special registers return
 * int32_t; barrier(int32_t id); access(void *p, int64_t bytes, int32_t
 * write) returns where the access may go (p itself, or a scratch sink when
 * p is outside every allocation: the fault is recorded, memory is kept). */
enum {
  MTGR_EMU_TID_X = 0,
  MTGR_EMU_TID_Y,
  MTGR_EMU_TID_Z,
  MTGR_EMU_NTID_X,
  MTGR_EMU_NTID_Y,
  MTGR_EMU_NTID_Z,
  MTGR_EMU_CTAID_X,
  MTGR_EMU_CTAID_Y,
  MTGR_EMU_CTAID_Z,
  MTGR_EMU_NCTAID_X,
  MTGR_EMU_NCTAID_Y,
  MTGR_EMU_NCTAID_Z,
  MTGR_EMU_LANEID,
  MTGR_EMU_WARPSIZE,
  MTGR_EMU_BARRIER,
  MTGR_EMU_SHARED_ACCESS,
  MTGR_EMU_GLOBAL_ACCESS,
  /* Warp operations (every lane of `mask` must reach the same one):
   * int64_t shfl(int32_t mode, int32_t mask, int32_t value, int32_t b,
   *              int32_t c): mode 0 idx, 1 up, 2 down, 3 bfly (PTX
   *              shfl.sync; b the lane or offset, c the clamp and segment
   *              mask); the value in the low 32 bits, the predicate in bit 32;
   * int32_t vote(int32_t mode, int32_t mask, int32_t pred): mode 0 all,
   *              1 any, 2 uni, 3 ballot (the lanes' bits), 4 bar.warp.sync. */
  MTGR_EMU_SHFL,
  MTGR_EMU_VOTE,
  /* Tensor-core operations of the warp (every lane of the warp):
   * void mma(int32_t mode, const uint32_t *in, uint32_t *out): mma.sync
   *              m16n8k16, row-major A, column-major B, f32 accumulators;
   *              mode 0 bf16 inputs, 1 f16 inputs; in = the lane's A (4
   *              registers), B (2), C (4 floats, as bits); out = D (4);
   * void ldmatrix(int32_t mode, void *row, uint32_t *out): ldmatrix.sync
   *              m8n8 .b16, mode = matrices (1, 2, 4) | 16 for .trans; `row`
   *              the shared-memory row this lane supplies.
   * Asynchronous copies of the thread (cp.async, sm_80):
   * void cp_async(void *shared, void *global, int32_t bytes, int32_t
   *              source_bytes): the source read now, the shared bytes
   *              written when a wait completes the copy's group (zeros past
   *              source_bytes);
   * void cp_async_commit(void): closes the thread's open group;
   * void cp_async_wait(int32_t n): completes all but the n newest groups
   *              (n < 0: wait_all, every copy, committed or not). */
  MTGR_EMU_MMA,
  MTGR_EMU_LDMATRIX,
  MTGR_EMU_CP_ASYNC,
  MTGR_EMU_CP_ASYNC_COMMIT,
  MTGR_EMU_CP_ASYNC_WAIT,
  /* Warpgroup operations (sm_90a; every thread of the warpgroup, 128
   * threads from a multiple of 128):
   * void wgmma(int32_t mode, const uint64_t *descriptors, const uint32_t
   *              *c, uint32_t *d): wgmma.mma_async m64nNk16 with f32
   *              accumulators and both operands in shared memory,
   *              descriptors[0] A's and [1] B's; mode = N | scale_d << 10
   *              (0: D = A B, 1: D = A B + C) | transpose_a << 11 |
   *              transpose_b << 12 | f16 << 13 (0: bf16 operands); c and d
   *              the thread's N / 2 accumulators (f32 bits);
   * void wgmma_sync(int32_t mode, int32_t n): mode 0 wgmma.fence, 1
   *              commit_group, 2 wait_group n;
   * void fence_proxy_async(void): fence.proxy.async.shared::cta (the
   *              thread's generic-proxy writes to shared memory become
   *              visible to the async proxy: wgmma, TMA). */
  MTGR_EMU_WGMMA,
  MTGR_EMU_WGMMA_SYNC,
  MTGR_EMU_FENCE_PROXY_ASYNC,
  /* mbarriers and TMA (sm_90a), on 8-byte mbarrier objects in shared
   * memory:
   * void mbarrier_init(void *bar, int32_t count): count arrivals a phase;
   * int64_t mbarrier_arrive(void *bar, int32_t tx): an arrival that also
   *              expects tx more bytes of transactions this phase (0:
   *              a plain arrive); returns the phase it arrived in;
   * void mbarrier_wait(void *bar, int32_t parity): blocks until the phase
   *              of that parity has completed (MLIR's try_wait.parity
   *              loop);
   * void tma_load_2d(void *shared, void *bar, const void *map, int32_t c0,
   *              int32_t c1): cp.async.bulk.tensor.2d of the box at
   *              (c0 inner, c1 outer) of the tensor map (an
   *              mtgr_emu_tensor_map) into shared memory, its bytes
   *              completing transactions on bar. */
  MTGR_EMU_MBARRIER_INIT,
  MTGR_EMU_MBARRIER_ARRIVE,
  MTGR_EMU_MBARRIER_WAIT,
  MTGR_EMU_TMA_LOAD_2D,
  /* The random-delay build (mtgr-gpu-sync-delays):
   * int32_t clock(void): %clock, a count of the block's calls (the code
   *              hashes it with the thread and block);
   * void nanosleep(int32_t ns): for an odd ns (the build's hash makes
   *              that a pseudo-random half of the sleeps) the thread yields
   *              to the block's other threads (they run on to their next
   *              wait or yield) and goes on after them: an order of events
   *              a GPU could take. */
  MTGR_EMU_CLOCK,
  MTGR_EMU_NANOSLEEP,
  MTGR_EMU_FIELDS
};

/* A 2-D tensor map as the emulator reads it (the CUDA device's are the
 * driver's CUtensorMap, 128 bytes, opaque): row-major elements of
 * element_bytes at base, rows x cols, row_bytes apart; boxes of box_rows x
 * box_cols land row after row in shared memory, each 16-byte chunk of a
 * row XORed by the swizzle as wgmma reads it (swizzle: 0 none, 1 32-byte,
 * 2 64-byte, 3 128-byte, CUtensorMapSwizzle's values); elements outside
 * rows x cols land as zeros. */
typedef struct mtgr_emu_tensor_map {
  uint64_t magic; /* MTGR_EMU_TENSOR_MAP_MAGIC */
  uint64_t base;
  int64_t rows, cols, row_bytes;
  int32_t box_rows, box_cols, element_bytes, swizzle;
  uint8_t reserved[72];
} mtgr_emu_tensor_map;
#define MTGR_EMU_TENSOR_MAP_MAGIC 0x50414d54524754ull /* "TGRTMAP" */

/* The number of table fields the code was compiled against (an int64_t at
 * this symbol; absent: the 17 before the warp operations). Code from before
 * the tensor-core and cp.async operations has 19, from before the warpgroup
 * operations 24, from before the mbarriers 27, from before clock and
 * nanosleep 31. The runtime fills no more
 * than that and refuses code that expects more than it has. */
#define MTGR_EMU_FIELDS_SYMBOL "mtgr_emu_fields"

/* How the host code uses its memory (an int64_t at this symbol; absent: 1).
 * 1: every buffer in device memory, which the host code also read (the
 *    first GPU code: managed memory, the stream synchronised per launch).
 * 2: buffers of integer elements (offsets, times, masks, tile lists, the
 *    entry point's integer arguments) in host memory, planned on the host;
 *    kernels read uploaded copies (environment fields host_alloc and
 *    gpu_upload); the host code never reads device memory, so nothing in
 *    an entry point waits for the device. The runtime passes integer
 *    arguments as host buffers. */
#define MTGR_GPU_HOST_ABI_SYMBOL "mtgr_gpu_host_abi"
#define MTGR_GPU_HOST_ABI 2

#ifdef __cplusplus
}
#endif

#endif
