//===- GpuEmulatorTest.cpp - the CUDA back end's kernels on the emulator --===//
//
// Bound kernel-level entry points compiled by the CUDA back end and run on
// `cuda-emu` (the kernels' NVVM IR retargeted to the host, launched by the
// generated host code through the runtime's launcher), against a float64
// computation in the test and against the CPU back end on the same IR, under
// every schedule; and the emulator's own checks, on kernels planted with a
// fault.
//
//===----------------------------------------------------------------------===//
#include "BoundKernels.h"
#include "CudaOptions.h"
#include "abi/GpuLaunch.h"
#include "app/KernelCall.h"
#include "codegen/cpu/CpuBackend.h"
#include "codegen/cuda/CudaBackend.h"
#include "codegen/cuda/Passes.h"
#include "compiler/Backends.h"
#include "frontend/MLIRGen.h"
#include "runtime/Device.h"
#include "runtime/Npz.h"
#include "runtime/cuda/CudaDevice.h"
#include "runtime/emu/EmulatorDevice.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mtgr;

namespace {
using test::Buffers;
using test::compileBound;
using test::run;

std::vector<float> randomFloats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.5f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

constexpr emu::Schedule kSchedules[] = {emu::Schedule::InOrder, emu::Schedule::Reverse,
                                        emu::Schedule::WarpAhead};

const char *kElementwise = R"(
func.func @mtgr_forward(%a: memref<?x8xf32>, %b: memref<?x8xf32>, %off: memref<?xindex>, %out: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %aj = builtin.unrealized_conversion_cast %a, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %bj = builtin.unrealized_conversion_cast %b, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %s = mtgr.silu %aj : !mtgr.jagged<8xf32>
  %m = mtgr.mul %s, %bj : !mtgr.jagged<8xf32>
  %r = mtgr.add %m, %aj : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %r : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}
)";

TEST(GpuEmulator, ElementwiseChainMatchesFloat64AndTheCpu) {
  Artifact gpu = compileBound(kElementwise, "cuda", 4);
  Artifact cpu = compileBound(kElementwise, "cpu", 4);
  ASSERT_TRUE(gpu.section(kCudaHostCodeSection));
  // 0 rows (no blocks launched), 1 row, a jagged tail past one block.
  for (int64_t rows : {0, 1, 37, 301}) {
    std::vector<float> a = randomFloats(rows * 8, 1 + rows), b = randomFloats(rows * 8, 2 + rows);
    auto buffers = [&] {
      Buffers buf;
      buf.add(a, {rows, 8});
      buf.add(b, {rows, 8});
      buf.add(std::vector<int64_t>{0, rows}, {2});
      buf.add(std::vector<float>(rows * 8, -7.f), {rows, 8});
      return buf;
    };
    Buffers onCpu = buffers();
    auto cpuDevice = createDevice("cpu");
    run(**cpuDevice, cpu, onCpu);
    for (emu::Schedule s : kSchedules) {
      SCOPED_TRACE(std::string(emu::scheduleName(s)) + ", rows " + std::to_string(rows));
      Buffers onGpu = buffers();
      auto device = createEmulatorDevice(s);
      run(*device, gpu, onGpu);
      std::vector<float> out = onGpu.get<float>(3), cpuOut = onCpu.get<float>(3);
      for (int64_t i = 0; i < rows * 8; ++i) {
        double x = a[i], silu = x / (1 + std::exp(-x)), want = silu * b[i] + x;
        ASSERT_NEAR(out[i], want, 1e-5 * (1 + std::fabs(want))) << "element " << i;
        ASSERT_NEAR(out[i], cpuOut[i], 1e-5 * (1 + std::fabs(want))) << "element " << i;
      }
    }
  }
}

const char *kJoin = R"(
func.func @mtgr_forward(%s: memref<?x8xf32>, %soff: memref<?xindex>, %p: memref<?x8xf32>, %poff: memref<?xindex>,
                        %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                        %out: memref<?x8xf32>, %outq: memref<?x8xf32>)
    attributes {mtgr.abi = []} {
  %sj = builtin.unrealized_conversion_cast %s, %soff : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %pj = builtin.unrealized_conversion_cast %p, %poff : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %k = mtgr.join_groups %sj, %l prefix(%pj : !mtgr.jagged<8xf32>) : !mtgr.jagged<8xf32>
  %q = mtgr.join_groups %sj, %l : !mtgr.jagged<8xf32>
  %c:2 = builtin.unrealized_conversion_cast %k : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  %cq:2 = builtin.unrealized_conversion_cast %q : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  memref.copy %cq#0, %outq : memref<?x8xf32> to memref<?x8xf32>
  return
}
)";

// mtgr.join_groups (the prefix split's keys, values and queries): every row
// from the prefix (U, S) or the suffix (R, C) of its own sample, or zero,
// on samples of every shape: empty ones, ones with no suffix or no prefix,
// one row; the GPU's per-row search and the CPU's threads.
TEST(GpuEmulator, JoinGroupsPlacesEachSamplesRowsOnBothDevices) {
  Artifact gpu = compileBound(kJoin, "cuda", 11);
  Artifact cpu = compileBound(kJoin, "cpu", 11);
  // Per sample: rows of U, S, R, C.
  std::vector<std::array<int64_t, 4>> samples = {{2, 3, 1, 2},  {0, 0, 0, 0}, {1, 0, 0, 1},
                                                 {0, 0, 0, 0},  {2, 5, 0, 0}, {0, 0, 3, 4},
                                                 {1, 60, 7, 40}};
  std::vector<int64_t> offsets{0}, prefixOffsets{0}, suffixOffsets{0}, starts;
  for (auto [u, s, r, c] : samples) {
    int64_t first = offsets.back();
    for (int64_t g : {first, first + u, first + u + s, first + u + s + r})
      starts.push_back(g);
    offsets.push_back(first + u + s + r + c);
    prefixOffsets.push_back(prefixOffsets.back() + u + s);
    suffixOffsets.push_back(suffixOffsets.back() + r + c);
  }
  int64_t B = static_cast<int64_t>(samples.size()), N = offsets.back();
  int64_t P = prefixOffsets.back(), S = suffixOffsets.back();
  std::vector<float> prefix = randomFloats(P * 8, 21), suffix = randomFloats(S * 8, 22);
  std::vector<float> want(N * 8), wantQ(N * 8, 0.f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t r = offsets[b]; r < offsets[b + 1]; ++r)
      for (int k = 0; k < 8; ++k) {
        int64_t suffixStart = starts[b * 4 + 2];
        if (r < suffixStart) {
          want[r * 8 + k] = prefix[(prefixOffsets[b] + r - offsets[b]) * 8 + k];
        } else {
          want[r * 8 + k] = wantQ[r * 8 + k] = suffix[(suffixOffsets[b] + r - suffixStart) * 8 + k];
        }
      }
  auto buffers = [&] {
    Buffers buf;
    buf.add(suffix, {S, 8});
    buf.add(suffixOffsets, {B + 1});
    buf.add(prefix, {P, 8});
    buf.add(prefixOffsets, {B + 1});
    buf.add(offsets, {B + 1});
    buf.add(starts, {B, 4});
    buf.add(std::vector<int64_t>(N, 0), {N});
    buf.add(std::vector<int64_t>(N, 0), {N});
    buf.add(std::vector<int64_t>(N, 0), {N});
    buf.add(std::vector<float>(N * 8, -7.f), {N, 8});
    buf.add(std::vector<float>(N * 8, -7.f), {N, 8});
    return buf;
  };
  Buffers onCpu = buffers();
  auto cpuDevice = createDevice("cpu");
  run(**cpuDevice, cpu, onCpu);
  EXPECT_EQ(onCpu.get<float>(9), want);
  EXPECT_EQ(onCpu.get<float>(10), wantQ);
  for (emu::Schedule s : kSchedules) {
    SCOPED_TRACE(std::string(emu::scheduleName(s)));
    Buffers onGpu = buffers();
    auto device = createEmulatorDevice(s);
    run(*device, gpu, onGpu);
    EXPECT_EQ(onGpu.get<float>(9), want);
    EXPECT_EQ(onGpu.get<float>(10), wantQ);
  }
}

const char *kNorm = R"(
func.func @mtgr_forward(%x: memref<?x8xf32>, %off: memref<?xindex>,
                        %lo: memref<?xindex>, %ls: memref<?x4xindex>, %lg: memref<?xindex>, %lt: memref<?xi64>, %lp: memref<?xindex>,
                        %g: memref<4x8xf32>, %b: memref<4x8xf32>, %dy: memref<?x8xf32>,
                        %out: memref<?x8xf32>, %dx: memref<?x8xf32>, %og: memref<4x8xf32>, %ob: memref<4x8xf32>)
    attributes {mtgr.abi = []} {
  %j = builtin.unrealized_conversion_cast %x, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %dj = builtin.unrealized_conversion_cast %dy, %off : memref<?x8xf32>, memref<?xindex> to !mtgr.jagged<8xf32>
  %l = builtin.unrealized_conversion_cast %lo, %ls, %lg, %lt, %lp : memref<?xindex>, memref<?x4xindex>, memref<?xindex>, memref<?xi64>, memref<?xindex> to !mtgr.layout
  %gt = builtin.unrealized_conversion_cast %g : memref<4x8xf32> to tensor<4x8xf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<4x8xf32> to tensor<4x8xf32>
  %y = mtgr.group_layer_norm %j, %l, %gt, %bt {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
  %gx, %gg, %gb = mtgr.group_layer_norm_backward %j, %l, %gt, %dj {eps = 1.000000e-05 : f64} : !mtgr.jagged<8xf32>, tensor<4x8xf32>
  %c:2 = builtin.unrealized_conversion_cast %y : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  %cx:2 = builtin.unrealized_conversion_cast %gx : !mtgr.jagged<8xf32> to memref<?x8xf32>, memref<?xindex>
  %cg = builtin.unrealized_conversion_cast %gg : tensor<4x8xf32> to memref<4x8xf32>
  %cb = builtin.unrealized_conversion_cast %gb : tensor<4x8xf32> to memref<4x8xf32>
  memref.copy %c#0, %out : memref<?x8xf32> to memref<?x8xf32>
  memref.copy %cx#0, %dx : memref<?x8xf32> to memref<?x8xf32>
  memref.copy %cg, %og : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %cb, %ob : memref<4x8xf32> to memref<4x8xf32>
  return
}
)";

TEST(GpuEmulator, GroupLayerNormForwardAndBackwardMatchFloat64AndTheCpu) {
  Artifact gpu = compileBound(kNorm, "cuda", 14);
  Artifact cpu = compileBound(kNorm, "cpu", 14);
  for (int64_t rows : {0, 1, 5, 300}) {
    std::vector<float> x = randomFloats(rows * 8, 3 + rows), dy = randomFloats(rows * 8, 4 + rows);
    if (rows > 1)
      std::fill(x.begin() + 8, x.begin() + 16, 0.25f); // a constant row: variance 0
    std::vector<float> gamma = randomFloats(32, 5), beta = randomFloats(32, 6);
    std::vector<int64_t> group(rows);
    for (int64_t r = 0; r < rows; ++r)
      group[r] = (r * 7 / 3) % 4;
    auto buffers = [&] {
      Buffers buf;
      buf.add(x, {rows, 8});
      buf.add(std::vector<int64_t>{0, rows}, {2});
      buf.add(std::vector<int64_t>{0, rows}, {2});
      buf.add(std::vector<int64_t>{0, 0, 0, rows}, {1, 4});
      buf.add(group, {rows});
      buf.add(std::vector<int64_t>(rows, 0), {rows});
      buf.add(std::vector<int64_t>(rows, 0), {rows});
      buf.add(gamma, {4, 8});
      buf.add(beta, {4, 8});
      buf.add(dy, {rows, 8});
      for (std::vector<int64_t> shape : {std::vector<int64_t>{rows, 8}, {rows, 8}, {4, 8}, {4, 8}})
        buf.add(std::vector<float>(shape[0] * 8, -7.f), shape);
      return buf;
    };
    // float64: y, dx, dgamma, dbeta.
    std::vector<double> y(rows * 8), dx(rows * 8), dg(32, 0.0), db(32, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int c = 0; c < 8; ++c)
        mean += x[r * 8 + c] / 8.0;
      for (int c = 0; c < 8; ++c)
        var += (x[r * 8 + c] - mean) * (x[r * 8 + c] - mean) / 8.0;
      double rstd = 1 / std::sqrt(var + 1e-5), sumG = 0, sumGx = 0;
      for (int c = 0; c < 8; ++c) {
        double xhat = (x[r * 8 + c] - mean) * rstd, gc = gamma[group[r] * 8 + c];
        y[r * 8 + c] = xhat * gc + beta[group[r] * 8 + c];
        double g = dy[r * 8 + c] * gc;
        sumG += g, sumGx += g * xhat;
        dg[group[r] * 8 + c] += dy[r * 8 + c] * xhat;
        db[group[r] * 8 + c] += dy[r * 8 + c];
      }
      for (int c = 0; c < 8; ++c) {
        double xhat = (x[r * 8 + c] - mean) * rstd;
        dx[r * 8 + c] = rstd * (dy[r * 8 + c] * gamma[group[r] * 8 + c] - sumG / 8 - xhat * sumGx / 8);
      }
    }
    Buffers onCpu = buffers();
    auto cpuDevice = createDevice("cpu");
    run(**cpuDevice, cpu, onCpu);
    for (emu::Schedule s : kSchedules) {
      SCOPED_TRACE(std::string(emu::scheduleName(s)) + ", rows " + std::to_string(rows));
      Buffers onGpu = buffers();
      auto device = createEmulatorDevice(s);
      run(*device, gpu, onGpu);
      auto check = [&](size_t arg, const std::vector<double> &want, double tol, const char *what) {
        std::vector<float> got = onGpu.get<float>(arg), cpuGot = onCpu.get<float>(arg);
        for (size_t i = 0; i < want.size(); ++i) {
          ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " " << i;
          ASSERT_NEAR(got[i], cpuGot[i], tol * (1 + std::fabs(want[i]))) << what << " " << i;
        }
      };
      check(10, y, 1e-5, "y");
      check(11, dx, 1e-4, "dx");
      check(12, dg, 1e-4, "dgamma");
      check(13, db, 1e-4, "dbeta");
    }
  }
}

TEST(GpuEmulator, CpuArtifactsAreRefusedByName) {
  Artifact cpu = compileBound(kElementwise, "cpu", 4);
  auto device = createEmulatorDevice(emu::Schedule::InOrder);
  auto exe = device->load(cpu, "cpu.mtgr");
  ASSERT_FALSE(static_cast<bool>(exe));
  EXPECT_NE(llvm::toString(exe.takeError()).find("no 'cuda.host.so' section"), std::string::npos);
  Artifact gpu = compileBound(kElementwise, "cuda", 4);
  auto cpuDevice = createDevice("cpu");
  auto refused = (*cpuDevice)->load(gpu, "gpu.mtgr");
  ASSERT_FALSE(static_cast<bool>(refused));
  EXPECT_NE(llvm::toString(refused.takeError()).find("compiled by the 'cuda' back end"),
            std::string::npos);
}

TEST(GpuEmulator, CodeOfTheOldMemoryPlanIsRefused) {
  // Code from before the host planned its integer buffers lacks the plan
  // symbol (abi/GpuLaunch.h MTGR_GPU_HOST_ABI_SYMBOL): rename it in the
  // host object's symbol table and the code reads as plan 1.
  Artifact gpu = compileBound(kElementwise, "cuda", 4);
  for (CodeSection &section : gpu.code) {
    if (section.name != kCudaHostCodeSection)
      continue;
    size_t at = section.bytes.find(MTGR_GPU_HOST_ABI_SYMBOL);
    ASSERT_NE(at, std::string::npos);
    section.bytes[at + std::strlen(MTGR_GPU_HOST_ABI_SYMBOL) - 1] = 'X';
  }
  auto device = createEmulatorDevice(emu::Schedule::InOrder);
  auto exe = device->load(gpu, "old.mtgr");
  ASSERT_FALSE(static_cast<bool>(exe));
  EXPECT_NE(llvm::toString(exe.takeError())
                .find("old.mtgr: the CUDA host code keeps its buffers by plan 1, this runtime "
                      "runs plan 2"),
            std::string::npos);
}
} // namespace

namespace {
/// A block of 64 threads that reverses `in` through shared memory: each
/// thread stores its element, then reads its mirror's, with a barrier
/// between (or, planted, without one), storing at `out[tid + shift]`.
std::string reverseKernel(bool barrier, int shift) {
  return std::string(R"(
func.func @mtgr_forward(%in: memref<64xf32>, %out: memref<64xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<64xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %in[%tx] : memref<64xf32>
    memref.store %v, %sh[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
)") + (barrier ? "    gpu.barrier\n" : "") +
         R"(    %c63 = arith.constant 63 : index
    %r = arith.subi %c63, %tx : index
    %w = memref.load %sh[%r] : memref<64xf32, #gpu.address_space<workgroup>>
    %shift = arith.constant )" +
         std::to_string(shift) + R"( : index
    %o = arith.addi %tx, %shift : index
    memref.store %w, %out[%o] : memref<64xf32>
    gpu.terminator
  }
  return
}
)";
}

Buffers reverseBuffers() {
  Buffers b;
  std::vector<float> in(64);
  for (int i = 0; i < 64; ++i)
    in[i] = static_cast<float>(i);
  b.add(in, {64});
  b.add(std::vector<float>(64, -1.f), {64});
  return b;
}

/// The reverse kernel's artifact `a` run in order on the emulator ends the
/// process with status 70 and a report matching `report`.
void expectReverseFault(const Artifact &a, const char *report) {
  EXPECT_EXIT(
      {
        Buffers b = reverseBuffers();
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, a, b);
      },
      testing::ExitedWithCode(70), report);
}

TEST(GpuEmulator, SharedMemoryWithABarrierRunsUnderEverySchedule) {
  Artifact a = compileBound(reverseKernel(/*barrier=*/true, 0), "cuda", 2);
  for (emu::Schedule s : kSchedules) {
    SCOPED_TRACE(emu::scheduleName(s).str());
    Buffers b = reverseBuffers();
    auto device = createEmulatorDevice(s);
    run(*device, a, b);
    std::vector<float> out = b.get<float>(1);
    for (int i = 0; i < 64; ++i)
      ASSERT_EQ(out[i], 63 - i);
  }
}

TEST(GpuEmulatorDeathTest, APlantedMissingBarrierIsARace) {
  Artifact a = compileBound(reverseKernel(/*barrier=*/false, 0), "cuda", 2);
  for (emu::Schedule s : kSchedules) {
    SCOPED_TRACE(emu::scheduleName(s).str());
    EXPECT_EXIT(
        {
          Buffers b = reverseBuffers();
          auto device = createEmulatorDevice(s);
          run(*device, a, b);
        },
        testing::ExitedWithCode(70),
        "kernel 'mtgr_forward_kernel', block \\(0, 0, 0\\), thread \\([0-9]+, 0, 0\\): "
        "shared-memory race: (read of another thread's write|write after another thread's "
        "read) \\(thread [0-9]+\\) at byte [0-9]+ of shared buffer 0, with no barrier between");
  }
}

/// 64 threads each take a ticket (an atomic add on a counter, the old
/// value stored at out[tid]) after nanosleep(tid % 2 when `sleep`): the
/// emulator yields on odd delays (the random-delay build, abi/GpuLaunch.h),
/// so the even threads take theirs first.
std::string ticketKernel(bool sleep) {
  return std::string(R"(
func.func @mtgr_forward(%counter: memref<1xf32>, %out: memref<64xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %t = arith.index_cast %tx : index to i32
    %two = arith.constant 2 : i32
    %ns = arith.remui %t, %two : i32
)") + (sleep ? "    nvvm.nanosleep %ns\n" : "") +
         R"(    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    %old = memref.atomic_rmw addf %one, %counter[%c0] : (f32, memref<1xf32>) -> f32
    memref.store %old, %out[%tx] : memref<64xf32>
    gpu.barrier
    gpu.terminator
  }
  return
}
)";
}

TEST(GpuEmulator, AnOddNanosleepYieldsToTheBlocksOtherThreads) {
  for (bool sleep : {false, true}) {
    SCOPED_TRACE(sleep ? "nanosleep(tid % 2)" : "no sleep");
    Artifact a = compileBound(ticketKernel(sleep), "cuda", 2);
    Buffers b;
    b.add(std::vector<float>{0.f}, {1});
    b.add(std::vector<float>(64, -1.f), {64});
    auto device = createEmulatorDevice(emu::Schedule::InOrder);
    run(*device, a, b);
    std::vector<float> out = b.get<float>(1);
    for (int t = 0; t < 64; ++t)
      ASSERT_EQ(out[t], sleep ? (t % 2 ? 32 + t / 2 : t / 2) : t) << "thread " << t;
  }
}

/// Warp operations on a block of 64 threads (two warps), value = tid:
/// out[0..63] the warp's sum by a butterfly (shuffle xor 16, 8, 4, 2, 1);
/// out[64..127] shuffle down by 1 (the last lane keeps its own); out[128..]
/// shuffle up by 2; out[192..] lane 5's value (idx); out[256..] the
/// ballot of tid % 3 == 0; out[320..] vote.any of tid == 40; out[384..] the
/// down shuffle's predicate; out[448..] an f32 shuffle (xor 1 of tid / 2,
/// as bits); out[512..] vote.all of tid < 64 plus 2 x vote.uni of tid even.
/// Each i32 result is stored as the bits of an f32: a kernel writes only
/// float buffers (integer buffers are host memory: mtgr-plan-on-host).
/// With `diverge`, lanes 40 and up leave before the shuffles.
std::string warpKernel(bool diverge) {
  std::string text = R"(
func.func @mtgr_forward(%out: memref<576xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %w = arith.constant 32 : i32
    %t = arith.index_cast %tx : index to i32
)";
  if (diverge)
    text += R"(    %c40 = arith.constant 40 : index
    %early = arith.cmpi uge, %tx, %c40 : index
    cf.cond_br %early, ^done, ^work
  ^work:
)";
  text += R"(    %o16 = arith.constant 16 : i32
    %o8 = arith.constant 8 : i32
    %o4 = arith.constant 4 : i32
    %o2 = arith.constant 2 : i32
    %o1 = arith.constant 1 : i32
    %s16, %v16 = gpu.shuffle xor %t, %o16, %w : i32
    %a16 = arith.addi %t, %s16 : i32
    %s8, %v8 = gpu.shuffle xor %a16, %o8, %w : i32
    %a8 = arith.addi %a16, %s8 : i32
    %s4, %v4 = gpu.shuffle xor %a8, %o4, %w : i32
    %a4 = arith.addi %a8, %s4 : i32
    %s2, %v2 = gpu.shuffle xor %a4, %o2, %w : i32
    %a2 = arith.addi %a4, %s2 : i32
    %s1, %v1 = gpu.shuffle xor %a2, %o1, %w : i32
    %sum = arith.addi %a2, %s1 : i32
    %down, %vd = gpu.shuffle down %t, %o1, %w : i32
    %up, %vu = gpu.shuffle up %t, %o2, %w : i32
    %five = arith.constant 5 : i32
    %idx, %vi = gpu.shuffle idx %t, %five, %w : i32
    %all = arith.constant -1 : i32
    %three = arith.constant 3 : i32
    %zero = arith.constant 0 : i32
    %m = arith.remui %t, %three : i32
    %p = arith.cmpi eq, %m, %zero : i32
    %ballot = nvvm.vote.sync ballot %all, %p -> i32
    %forty = arith.constant 40 : i32
    %q = arith.cmpi eq, %t, %forty : i32
    %any = nvvm.vote.sync any %all, %q -> i1
    %anyi = arith.extui %any : i1 to i32
    %vdi = arith.extui %vd : i1 to i32
    %tf = arith.sitofp %t : i32 to f32
    %half = arith.constant 0.5 : f32
    %h = arith.mulf %tf, %half : f32
    %fx, %fv = gpu.shuffle xor %h, %o1, %w : f32
    %c64i = arith.constant 64 : i32
    %below = arith.cmpi ult, %t, %c64i : i32
    %allv = nvvm.vote.sync all %all, %below -> i1
    %two = arith.constant 2 : i32
    %par = arith.remui %t, %two : i32
    %even = arith.cmpi eq, %par, %zero : i32
    %uni = nvvm.vote.sync uni %all, %even -> i1
    %alli = arith.extui %allv : i1 to i32
    %unii = arith.extui %uni : i1 to i32
    %uni2 = arith.muli %unii, %two : i32
    %votes = arith.addi %alli, %uni2 : i32
)";
  // Result i at out[64 i + tid]; an i32 as the bits of an f32.
  const std::pair<const char *, bool> results[] = {
      {"sum", true},  {"down", true}, {"up", true}, {"idx", true},  {"ballot", true},
      {"anyi", true}, {"vdi", true},  {"fx", false}, {"votes", true}};
  for (size_t i = 0; i < std::size(results); ++i) {
    auto [value, integer] = results[i];
    std::string n = std::to_string(i), v = std::string("%") + value;
    text += "    %base" + n + " = arith.constant " + std::to_string(64 * i) + " : index\n";
    text += "    %at" + n + " = arith.addi %tx, %base" + n + " : index\n";
    if (integer) {
      text += "    " + v + "_bits = arith.bitcast " + v + " : i32 to f32\n";
      v += "_bits";
    }
    text += "    memref.store " + v + ", %out[%at" + n + "] : memref<576xf32>\n";
  }
  if (diverge)
    text += R"(    cf.br ^done
  ^done:
)";
  text += R"(    gpu.terminator
  }
  return
}
)";
  return text;
}

TEST(GpuEmulator, WarpShufflesAndVotesFollowThePtxRulesUnderEverySchedule) {
  Artifact a = compileBound(warpKernel(/*diverge=*/false), "cuda", 1);
  for (emu::Schedule s : kSchedules) {
    SCOPED_TRACE(emu::scheduleName(s).str());
    Buffers b;
    b.add(std::vector<int32_t>(576, -7), {576});
    auto device = createEmulatorDevice(s);
    run(*device, a, b);
    std::vector<int32_t> out = b.get<int32_t>(0);
    for (int t = 0; t < 64; ++t) {
      int lane = t % 32, base = t - lane;
      uint32_t ballot = 0;
      for (int l = 0; l < 32; ++l)
        if ((base + l) % 3 == 0)
          ballot |= 1u << l;
      ASSERT_EQ(out[t], 32 * base + 496) << "sum, thread " << t;
      ASSERT_EQ(out[64 + t], lane == 31 ? t : t + 1) << "down, thread " << t;
      ASSERT_EQ(out[128 + t], lane < 2 ? t : t - 2) << "up, thread " << t;
      ASSERT_EQ(out[192 + t], base + 5) << "idx, thread " << t;
      ASSERT_EQ(static_cast<uint32_t>(out[256 + t]), ballot) << "ballot, thread " << t;
      ASSERT_EQ(out[320 + t], base == 32 ? 1 : 0) << "any, thread " << t;
      ASSERT_EQ(out[384 + t], lane == 31 ? 0 : 1) << "down's predicate, thread " << t;
      float shuffled;
      std::memcpy(&shuffled, &out[448 + t], 4);
      ASSERT_EQ(shuffled, 0.5f * float(t ^ 1)) << "f32 xor, thread " << t;
      ASSERT_EQ(out[512 + t], 1) << "vote.all true, vote.uni false, thread " << t;
    }
  }
}

TEST(GpuEmulatorDeathTest, AWarpOperationSomeLanesLeftIsDivergence) {
  Artifact a = compileBound(warpKernel(/*diverge=*/true), "cuda", 1);
  EXPECT_EXIT(
      {
        Buffers b;
        b.add(std::vector<int32_t>(576, -7), {576});
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, a, b);
      },
      testing::ExitedWithCode(70),
      "kernel 'mtgr_forward_kernel', block \\(0, 0, 0\\), thread \\(32, 0, 0\\): warp "
      "divergence: lane 8 of the warp's mask 0xffffffff left the kernel, while lane 0 waits at a "
      "shuffle");
}

/// Half the block leaves before a barrier the other half waits at.
TEST(GpuEmulatorDeathTest, ABarrierSomeThreadsLeftIsDivergence) {
  std::string text = reverseKernel(/*barrier=*/true, 0);
  size_t at = text.find("    gpu.barrier\n");
  text.insert(at, "    %c32 = arith.constant 32 : index\n"
                  "    %early = arith.cmpi uge, %tx, %c32 : index\n"
                  "    cf.cond_br %early, ^done, ^rest\n  ^rest:\n");
  at = text.find("    gpu.terminator");
  text.insert(at, "    cf.br ^done\n  ^done:\n");
  expectReverseFault(compileBound(text, "cuda", 2),
                     "barrier divergence: 32 threads wait at a barrier that 32 threads of the "
                     "block left the kernel without reaching");
}

TEST(GpuEmulatorDeathTest, APlantedOutOfBoundsStoreIsCaught) {
  expectReverseFault(compileBound(reverseKernel(/*barrier=*/true, 1), "cuda", 2),
                     "thread \\(63, 0, 0\\): out-of-bounds write of 4 bytes at 0x[0-9A-Fa-f]+ "
                     "\\(4 bytes past the end of 'a device buffer', 256 bytes long\\)");
}
} // namespace

namespace {
// The launch metadata must describe the host code's kernels: an edited
// section is refused by name before any launch.
TEST(GpuEmulator, TamperedLaunchMetadataIsRefused) {
  Artifact good = compileBound(kElementwise, "cuda", 4);
  auto device = createEmulatorDevice(emu::Schedule::InOrder);
  ASSERT_TRUE(static_cast<bool>(device->load(good, "good.mtgr")));
  auto edited = [&](std::function<void(std::string &)> edit) {
    Artifact a = good;
    for (CodeSection &s : a.code)
      if (s.name == "cuda.kernels")
        edit(s.bytes);
    auto exe = device->load(a, "edited.mtgr");
    EXPECT_FALSE(static_cast<bool>(exe));
    return exe ? std::string() : llvm::toString(exe.takeError());
  };
  // The first kernel's parameter words, one more.
  std::string message = edited([](std::string &b) {
    size_t at = b.find("\"params\":") + 9, end = b.find_first_not_of("0123456789", at);
    b.replace(at, end - at, std::to_string(std::stoll(b.substr(at, end - at)) + 1));
  });
  EXPECT_NE(message.find("kernel 0 is 'mtgr_forward__silu' with 15 parameter words in the host "
                         "code, 'mtgr_forward__silu' with 16 in section cuda.kernels: the "
                         "metadata was edited"),
            std::string::npos)
      << message;
  EXPECT_NE(edited([](std::string &b) { b = "{"; }).find("section cuda.kernels: not JSON"),
            std::string::npos);
  // A profile family the runtime does not know (each kernel names its op's).
  message = edited([](std::string &b) {
    size_t at = b.find("\"elementwise\"");
    ASSERT_NE(at, std::string::npos) << b;
    b.replace(at, 13, "\"warp\"");
  });
  EXPECT_NE(message.find("kernel 'mtgr_forward__silu' has an unknown family 'warp' or no layer"),
            std::string::npos)
      << message;
  Artifact none = good;
  none.code.erase(std::remove_if(none.code.begin(), none.code.end(),
                                 [](const CodeSection &s) { return s.name == "cuda.kernels"; }),
                  none.code.end());
  auto exe = device->load(none, "none.mtgr");
  ASSERT_FALSE(static_cast<bool>(exe));
  EXPECT_NE(llvm::toString(exe.takeError()).find("no 'cuda.kernels' section"), std::string::npos);
}
} // namespace

namespace {
/// One warp through the sm_80 tensor-core path: every thread copies 16
/// bytes of A (16 x 16 16-bit values, row-major) into shared memory with
/// cp.async (commit, wait_group 0, a barrier: unless `wait` is false, a
/// planted missing wait); ldmatrix.x4 loads the A fragment, ldmatrix.x1
/// .trans the first 8 x 8 matrix transposed (into t); B (column-major
/// 16-bit pairs) and C (f32) come from global memory in their fragment
/// layout; mma.sync m16n8k16 (bf16 or f16 inputs, f32 accumulators) writes
/// D = A B + C.
std::string tensorCoreKernel(bool bf16, bool wait) {
  std::string operand = bf16 ? "i32" : "vector<2xf16>";
  std::string text = R"(
func.func @mtgr_forward(%abits: memref<128xf32>, %bbits: memref<64xf32>, %c: memref<16x8xf32>,
                        %d: memref<16x8xf32>, %t: memref<32xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<128xf32, #gpu.address_space<workgroup>>) {
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %sbase = memref.extract_aligned_pointer_as_index %tile : memref<128xf32, #gpu.address_space<workgroup>> -> index
    %gbase = memref.extract_aligned_pointer_as_index %abits : memref<128xf32> -> index
    %boff = arith.muli %tx, %c16 : index
    %sa = arith.addi %sbase, %boff : index
    %ga = arith.addi %gbase, %boff : index
    %sai = arith.index_cast %sa : index to i64
    %gai = arith.index_cast %ga : index to i64
    %sp = llvm.inttoptr %sai : i64 to !llvm.ptr<3>
    %gp = llvm.inttoptr %gai : i64 to !llvm.ptr<1>
    nvvm.cp.async.shared.global %sp, %gp, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
    nvvm.cp.async.commit.group
)";
  if (wait)
    text += "    nvvm.cp.async.wait.group 0\n";
  text += R"(
    gpu.barrier
    %i = arith.divui %tx, %c8 : index
    %r = arith.remui %tx, %c8 : index
    %ilo = arith.remui %i, %c2 : index
    %ihi = arith.divui %i, %c2 : index
    %rowbase = arith.muli %ilo, %c8 : index
    %row = arith.addi %rowbase, %r : index
    %rb = arith.muli %row, %c32 : index
    %cb = arith.muli %ihi, %c16 : index
    %lo = arith.addi %rb, %cb : index
    %la = arith.addi %sbase, %lo : index
    %lai = arith.index_cast %la : index to i64
    %lp = llvm.inttoptr %lai : i64 to !llvm.ptr<3>
    %frag = nvvm.ldmatrix %lp {num = 4 : i32, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
    %tr = nvvm.ldmatrix %lp {num = 1 : i32, layout = #nvvm.mma_layout<col>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> i32
    %trf = arith.bitcast %tr : i32 to f32
    memref.store %trf, %t[%tx] : memref<32xf32>
    %a0i = llvm.extractvalue %frag[0] : !llvm.struct<(i32, i32, i32, i32)>
    %a1i = llvm.extractvalue %frag[1] : !llvm.struct<(i32, i32, i32, i32)>
    %a2i = llvm.extractvalue %frag[2] : !llvm.struct<(i32, i32, i32, i32)>
    %a3i = llvm.extractvalue %frag[3] : !llvm.struct<(i32, i32, i32, i32)>
    %g = arith.divui %tx, %c4 : index
    %q = arith.remui %tx, %c4 : index
    %g8 = arith.muli %g, %c8 : index
    %w0 = arith.addi %g8, %q : index
    %w1 = arith.addi %w0, %c4 : index
    %b0f = memref.load %bbits[%w0] : memref<64xf32>
    %b1f = memref.load %bbits[%w1] : memref<64xf32>
    %b0i = arith.bitcast %b0f : f32 to i32
    %b1i = arith.bitcast %b1f : f32 to i32
    %col0 = arith.muli %q, %c2 : index
    %col1 = arith.addi %col0, %c1 : index
    %rowh = arith.addi %g, %c8 : index
    %cc0 = memref.load %c[%g, %col0] : memref<16x8xf32>
    %cc1 = memref.load %c[%g, %col1] : memref<16x8xf32>
    %cc2 = memref.load %c[%rowh, %col0] : memref<16x8xf32>
    %cc3 = memref.load %c[%rowh, %col1] : memref<16x8xf32>
)";
  // The registers as the mma's operand type: packed i32 as they are
  // (bf16), or vector<2xf16> (f16).
  std::string reg[6];
  const char *names[6] = {"a0", "a1", "a2", "a3", "b0", "b1"};
  for (int i = 0; i < 6; ++i) {
    reg[i] = std::string("%") + names[i] + (bf16 ? "i" : "");
    if (!bf16)
      text += "    " + reg[i] + " = llvm.bitcast " + reg[i] + "i : i32 to vector<2xf16>\n";
  }
  text += "    %res = nvvm.mma.sync A[" + reg[0] + ", " + reg[1] + ", " + reg[2] + ", " + reg[3] +
          "] B[" + reg[4] + ", " + reg[5] + "]" + R"( C[%cc0, %cc1, %cc2, %cc3]
      {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
       multiplicandAPtxType = #nvvm.mma_type<)" +
          std::string(bf16 ? "bf16" : "f16") + R"(>, multiplicandBPtxType = #nvvm.mma_type<)" +
          std::string(bf16 ? "bf16" : "f16") + R"(>,
       shape = #nvvm.shape<m = 16, n = 8, k = 16>} : ()" +
          operand + ", " + operand + R"(, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    %d0 = llvm.extractvalue %res[0] : !llvm.struct<(f32, f32, f32, f32)>
    %d1 = llvm.extractvalue %res[1] : !llvm.struct<(f32, f32, f32, f32)>
    %d2 = llvm.extractvalue %res[2] : !llvm.struct<(f32, f32, f32, f32)>
    %d3 = llvm.extractvalue %res[3] : !llvm.struct<(f32, f32, f32, f32)>
    memref.store %d0, %d[%g, %col0] : memref<16x8xf32>
    memref.store %d1, %d[%g, %col1] : memref<16x8xf32>
    memref.store %d2, %d[%rowh, %col0] : memref<16x8xf32>
    memref.store %d3, %d[%rowh, %col1] : memref<16x8xf32>
    gpu.terminator
  }
  return
}
)";
  return text;
}

/// 16-bit patterns of k / 8 (|k| <= 32: exact in bf16 and f16).
uint16_t sixteenBits(float v, bool bf16) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if (bf16)
    return uint16_t(bits >> 16);
  if (v == 0)
    return uint16_t((bits >> 16) & 0x8000);
  uint32_t sign = (bits >> 31) << 15, exponent = ((bits >> 23) & 255) - 127 + 15;
  return uint16_t(sign | (exponent << 10) | ((bits >> 13) & 1023));
}

/// The tensor-core kernel's buffers from A (16 x 16), B (16 x 8), C: A's
/// 16-bit values row-major, B's column-major (each lane's register is one
/// 32-bit word), as raw bits in f32 buffers.
Buffers tensorCoreBuffers(const std::vector<float> &a, const std::vector<float> &b,
                          const std::vector<float> &c, bool bf16) {
  std::vector<uint16_t> a16(256), b16(128);
  for (int i = 0; i < 256; ++i)
    a16[i] = sixteenBits(a[i], bf16);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n)
      b16[n * 16 + k] = sixteenBits(b[k * 8 + n], bf16);
  std::vector<float> abits(128), bbits(64);
  std::memcpy(abits.data(), a16.data(), 512);
  std::memcpy(bbits.data(), b16.data(), 256);
  Buffers buffers;
  buffers.add(abits, {128});
  buffers.add(bbits, {64});
  buffers.add(c, {16, 8});
  buffers.add(std::vector<float>(128, -1.f), {16, 8});
  buffers.add(std::vector<float>(32, -1.f), {32});
  return buffers;
}

std::vector<float> eighths(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> k(-32, 32);
  std::vector<float> v(n);
  for (float &x : v)
    x = float(k(rng)) / 8.f;
  return v;
}
} // namespace

TEST(GpuEmulator, MmaSyncLdmatrixAndCpAsyncFollowThePtxFragmentTables) {
  for (bool bf16 : {true, false}) {
    SCOPED_TRACE(bf16 ? "bf16" : "f16");
    Artifact artifact = compileBound(tensorCoreKernel(bf16, /*wait=*/true), "cuda", 5);
    std::vector<float> a = eighths(256, 1), b = eighths(128, 2), c = eighths(128, 3);
    for (emu::Schedule s : kSchedules) {
      SCOPED_TRACE(emu::scheduleName(s).str());
      Buffers buffers = tensorCoreBuffers(a, b, c, bf16);
      auto device = createEmulatorDevice(s);
      run(*device, artifact, buffers);
      std::vector<float> d = buffers.get<float>(3);
      for (int m = 0; m < 16; ++m)
        for (int n = 0; n < 8; ++n) {
          double want = c[m * 8 + n];
          for (int k = 0; k < 16; ++k)
            want += double(a[m * 16 + k]) * double(b[k * 8 + n]);
          ASSERT_EQ(d[m * 8 + n], float(want)) << "D[" << m << "][" << n << "]";
        }
      // ldmatrix .trans: lane 4 g + q holds column g's rows 2q and 2q + 1.
      std::vector<uint32_t> t = buffers.get<uint32_t>(4);
      for (int lane = 0; lane < 32; ++lane) {
        int g = lane / 4, q = lane % 4;
        uint32_t want = uint32_t(sixteenBits(a[(2 * q) * 16 + g], bf16)) |
                        uint32_t(sixteenBits(a[(2 * q + 1) * 16 + g], bf16)) << 16;
        ASSERT_EQ(t[lane], want) << "ldmatrix.trans, lane " << lane;
      }
    }
  }
}

TEST(GpuEmulatorDeathTest, APlantedMissingCpAsyncWaitIsCaught) {
  Artifact artifact = compileBound(tensorCoreKernel(/*bf16=*/true, /*wait=*/false), "cuda", 5);
  EXPECT_EXIT(
      {
        Buffers buffers =
            tensorCoreBuffers(eighths(256, 1), eighths(128, 2), eighths(128, 3), true);
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, artifact, buffers);
      },
      testing::ExitedWithCode(70), "shared-memory race");
}

namespace {
/// MLIR text of the m64n8k16 wgmma kernels below: `%<name>`, the four f32
/// accumulators wgmma.mma_async carries, zero.
std::string zeroAccumulators(const std::string &name) {
  std::string text = "    %zero = arith.constant 0.0 : f32\n"
                     "    %u = llvm.mlir.undef : !llvm.struct<(f32, f32, f32, f32)>\n";
  for (int i = 0; i < 4; ++i)
    text += "    %" + (i == 3 ? name : "u" + std::to_string(i)) + " = llvm.insertvalue %zero, %" +
            (i == 0 ? std::string("u") : "u" + std::to_string(i - 1)) + "[" + std::to_string(i) +
            "] : !llvm.struct<(f32, f32, f32, f32)>\n";
  return text;
}

/// ... and their end: commit, wait for the group, each thread's four
/// accumulators of `%<result>` stored at out[4 t + i].
std::string storeAccumulatorsAndEnd(const std::string &result) {
  std::string text = "    nvvm.wgmma.commit.group.sync.aligned\n"
                     "    nvvm.wgmma.wait.group.sync.aligned 0\n"
                     "    %four = arith.constant 4 : index\n"
                     "    %o = arith.muli %tx, %four : index\n";
  for (int i = 0; i < 4; ++i) {
    std::string n = std::to_string(i);
    text += "    %d" + n + " = llvm.extractvalue %" + result + "[" + n +
            "] : !llvm.struct<(f32, f32, f32, f32)>\n    %ci" + n + " = arith.constant " + n +
            " : index\n    %o" + n + " = arith.addi %o, %ci" + n + " : index\n    memref.store %d" +
            n + ", %out[%o" + n + "] : memref<512xf32>\n";
  }
  return text + "    gpu.terminator\n  }\n  return\n}\n";
}

/// One warpgroup through sm_90a's wgmma: each of 128 threads copies 24
/// words of a shared-memory image (built on the host in the layout under
/// test) into shared memory aligned to 1024 bytes, with plain stores; then
/// fence.proxy.async (unless `proxyFence` is false), a barrier, wgmma.fence
/// (unless `wgmmaFence` is false), one wgmma.mma_async m64n8k16 bf16 with
/// zero accumulators from the descriptors desc[1] | (aligned + desc[0]) >>
/// 4 (A) and desc[3] | (aligned + desc[2]) >> 4 (B), commit, wait; each
/// thread stores its 4 accumulators at out[4 t ..].
std::string wgmmaKernel(bool proxyFence, bool wgmmaFence) {
  std::string text = R"(
func.func @mtgr_forward(%img: memref<3072xi32>, %desc: memref<4xi64>, %out: memref<512xf32>)
    attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1)
             workgroup(%smem : memref<3328xi32, #gpu.address_space<workgroup>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %c24 = arith.constant 24 : index
    %c1024 = arith.constant 1024 : index
    %base = memref.extract_aligned_pointer_as_index %smem : memref<3328xi32, #gpu.address_space<workgroup>> -> index
    %blocks = arith.ceildivui %base, %c1024 : index
    %aligned = arith.muli %blocks, %c1024 : index
    %pad = arith.subi %aligned, %base : index
    %skip = arith.divui %pad, %c4 : index
    %first = arith.muli %tx, %c24 : index
    scf.for %i = %c0 to %c24 step %c1 {
      %at = arith.addi %first, %i : index
      %v = memref.load %img[%at] : memref<3072xi32>
      %to = arith.addi %skip, %at : index
      memref.store %v, %smem[%to] : memref<3328xi32, #gpu.address_space<workgroup>>
    }
)";
  if (proxyFence)
    text += "    nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
            "#nvvm.shared_space<cta>}\n";
  text += "    gpu.barrier\n";
  if (wgmmaFence)
    text += "    nvvm.wgmma.fence.aligned\n";
  text += R"(
    %alignedi = arith.index_cast %aligned : index to i64
    %s4 = arith.constant 4 : i64
    %m14 = arith.constant 16383 : i64
    %a0 = memref.load %desc[%c0] : memref<4xi64>
    %a1 = memref.load %desc[%c1] : memref<4xi64>
    %b0 = memref.load %desc[%c2] : memref<4xi64>
    %b1 = memref.load %desc[%c3] : memref<4xi64>
    %as = arith.addi %alignedi, %a0 : i64
    %ash = arith.shrui %as, %s4 : i64
    %asm = arith.andi %ash, %m14 : i64
    %da = arith.ori %asm, %a1 : i64
    %bs = arith.addi %alignedi, %b0 : i64
    %bsh = arith.shrui %bs, %s4 : i64
    %bsm = arith.andi %bsh, %m14 : i64
    %db = arith.ori %bsm, %b1 : i64
)" + zeroAccumulators("u3") +
          R"(
    %r = nvvm.wgmma.mma_async %da, %db, %u3, <m = 64, n = 8, k = 16>, D [<f32>, <one>], A [<bf16>, #nvvm.wgmma_scale_in<one>, <row>], B [<bf16>, #nvvm.wgmma_scale_in<one>, <col>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
)";
  return text + storeAccumulatorsAndEnd("r");
}

/// A K-major operand layout of the PTX ISA's shared-memory matrix
/// descriptors, restated here apart from the emulator's code: the byte
/// (from the aligned base) of element (row, k) and the descriptor's fields.
struct OperandLayout {
  int64_t start, lbo, sbo, swizzleBytes; // swizzleBytes 0: none
  int64_t at(int row, int k) const {
    if (swizzleBytes == 0)
      return start + (row / 8) * sbo + (k / 8) * lbo + (row % 8) * 16 + (k % 8) * 2;
    int64_t linear = start + (row / 8) * sbo + (row % 8) * swizzleBytes + 2 * k;
    return linear ^ (((linear >> 7) & (swizzleBytes / 16 - 1)) << 4);
  }
  int64_t fields() const {
    int64_t mode = swizzleBytes == 128 ? 1 : swizzleBytes == 64 ? 2 : swizzleBytes == 32 ? 3 : 0;
    return ((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (mode << 62);
  }
};

/// The image, descriptors and output of wgmmaKernel for A (64 x 16) and B
/// (8 x 16, B[n][k]) in `la` and `lb`; unused bytes are 0xff (NaN).
Buffers wgmmaBuffers(const std::vector<float> &a, const std::vector<float> &b,
                     const OperandLayout &la, const OperandLayout &lb) {
  std::vector<uint8_t> image(12288, 0xff);
  auto put = [&](int64_t at, float v) {
    uint16_t h = sixteenBits(v, true);
    std::memcpy(&image[at], &h, 2);
  };
  for (int i = 0; i < 64; ++i)
    for (int k = 0; k < 16; ++k)
      put(la.at(i, k), a[i * 16 + k]);
  for (int n = 0; n < 8; ++n)
    for (int k = 0; k < 16; ++k)
      put(lb.at(n, k), b[n * 16 + k]);
  std::vector<uint32_t> words(3072);
  std::memcpy(words.data(), image.data(), image.size());
  Buffers buffers;
  buffers.add(words, {3072});
  buffers.add(std::vector<int64_t>{la.start, la.fields(), lb.start, lb.fields()}, {4});
  buffers.add(std::vector<float>(512, -1.f), {512});
  return buffers;
}
} // namespace

TEST(GpuEmulator, WgmmaReadsDescriptorsAndFragmentsAsThePtxIsaSays) {
  // Without swizzle, core matrices 1024 bytes apart along K and 128 along
  // M (the two offsets told apart); with the 128-byte swizzle, A's K slice
  // 32 bytes into its atoms (the second 16 of a 64-wide tile).
  struct Case {
    const char *name;
    OperandLayout a, b;
  };
  Case cases[] = {{"no swizzle", {0, 1024, 128, 0}, {2048, 128, 256, 0}},
                  {"128-byte swizzle", {32, 16, 1024, 128}, {8192 + 32, 16, 1024, 128}},
                  {"64-byte swizzle", {0, 16, 512, 64}, {4096, 16, 512, 64}},
                  {"32-byte swizzle", {0, 16, 256, 32}, {2048, 16, 256, 32}}};
  Artifact artifact = compileBound(wgmmaKernel(true, true), "cuda", 3);
  std::vector<float> a = eighths(64 * 16, 11), b = eighths(8 * 16, 12);
  for (const Case &c : cases)
    for (emu::Schedule s : kSchedules) {
      SCOPED_TRACE(std::string(c.name) + ", " + emu::scheduleName(s).str());
      Buffers buffers = wgmmaBuffers(a, b, c.a, c.b);
      auto device = createEmulatorDevice(s);
      run(*device, artifact, buffers);
      std::vector<float> d = buffers.get<float>(2);
      // Thread 32 w + 4 g + q holds rows 16 w + g (+ 8) at columns 2 q, + 1.
      for (int t = 0; t < 128; ++t)
        for (int i = 0; i < 4; ++i) {
          int row = 16 * (t / 32) + (t % 32) / 4 + 8 * (i / 2), col = 2 * (t % 4) + i % 2;
          double want = 0;
          for (int k = 0; k < 16; ++k)
            want += double(a[row * 16 + k]) * double(b[col * 16 + k]);
          ASSERT_EQ(d[t * 4 + i], float(want)) << "D[" << row << "][" << col << "]";
        }
    }
}

TEST(GpuEmulatorDeathTest, APlantedMissingProxyFenceOrWgmmaFenceIsCaught) {
  OperandLayout la{0, 1024, 128, 0}, lb{2048, 128, 256, 0};
  std::vector<float> a = eighths(64 * 16, 11), b = eighths(8 * 16, 12);
  Artifact noProxyFence = compileBound(wgmmaKernel(false, true), "cuda", 3);
  EXPECT_EXIT(
      {
        Buffers buffers = wgmmaBuffers(a, b, la, lb);
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, noProxyFence, buffers);
      },
      testing::ExitedWithCode(70), "with no fence.proxy.async after the write");
  Artifact noWgmmaFence = compileBound(wgmmaKernel(true, false), "cuda", 3);
  EXPECT_EXIT(
      {
        Buffers buffers = wgmmaBuffers(a, b, la, lb);
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, noWgmmaFence, buffers);
      },
      testing::ExitedWithCode(70), "with no wgmma.fence");
}

namespace {
/// y = x W^T + b on a dense input: `k` inputs, `n` outputs (70: two column
/// tiles of the mma.sync kernel, one of wgmma's; 300: five and two, the
/// second partial; 40 inputs: one or two steps along K, the last partial;
/// 520: 17 steps of 32 and 9 of 64, so every stage of the rings is
/// refilled).
std::string linearKernel(int64_t k, int64_t n = 70) {
  std::string text = R"(
func.func @mtgr_forward(%x: memref<?xKxf32>, %w: memref<NxKxf32>, %b: memref<Nxf32>,
                        %out: memref<?xNxf32>) attributes {mtgr.abi = []} {
  %xt = builtin.unrealized_conversion_cast %x : memref<?xKxf32> to tensor<?xKxf32>
  %wt = builtin.unrealized_conversion_cast %w : memref<NxKxf32> to tensor<NxKxf32>
  %bt = builtin.unrealized_conversion_cast %b : memref<Nxf32> to tensor<Nxf32>
  %y = mtgr.linear %xt, %wt, %bt : tensor<?xKxf32>, tensor<NxKxf32>, tensor<Nxf32> -> tensor<?xNxf32>
  %ym = builtin.unrealized_conversion_cast %y : tensor<?xNxf32> to memref<?xNxf32>
  memref.copy %ym, %out : memref<?xNxf32> to memref<?xNxf32>
  return
}
)";
  std::string out;
  for (char c : text)
    out += c == 'K' ? std::to_string(k) : c == 'N' ? std::to_string(n) : std::string(1, c);
  return out;
}
} // namespace

TEST(GpuEmulator, TensorCoreGemmIsExactOnBf16ValuesAtEveryTileEdge) {
  // Eighths of magnitude <= 4 are exact in bf16, their products and these
  // sums exact in f32: the tensor-core kernels (mma.sync and sm_90a's
  // wgmma) must equal the float64 product bit for bit, as the fp32 SIMT
  // kernel does, at 0, 1, 37 and 130 rows (partial row tiles) under every
  // schedule.
  // (300 outputs: the wgmma kernel's second, partial column tile of 256;
  // with 130 rows its 4 tiles go to the emulator's 2 multiprocessors, two
  // to each persistent block, and with K = 520 the block's 18 steps wrap
  // the ring across its tiles.)
  for (auto [k, n] : {std::pair<int64_t, int64_t>{40, 70}, {520, 70}, {40, 300}, {520, 300}})
    for (std::string gemm : {"generated", "tensor-core", "wgmma"}) {
      if (k > 40 && gemm == "generated")
        continue;
      if (k > 40 && n > 70 && gemm != "wgmma")
        continue;
      SCOPED_TRACE(gemm + ", K " + std::to_string(k) + ", N " + std::to_string(n));
      Artifact artifact = compileBound(linearKernel(k, n), "cuda", 4, gemm);
      for (int64_t rows : {0, 1, 37, 130}) {
        std::vector<float> x = eighths(rows * k, 7 + rows), w = eighths(n * k, 8),
                           b = eighths(n, 9);
        for (emu::Schedule s : kSchedules) {
          SCOPED_TRACE(std::string(emu::scheduleName(s)) + ", rows " + std::to_string(rows));
          Buffers buffers;
          buffers.add(x, {rows, k});
          buffers.add(w, {n, k});
          buffers.add(b, {n});
          buffers.add(std::vector<float>(rows * n, -7.f), {rows, n});
          auto device = createEmulatorDevice(s);
          run(*device, artifact, buffers);
          std::vector<float> y = buffers.get<float>(3);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t o = 0; o < n; ++o) {
              double want = b[o];
              for (int64_t i = 0; i < k; ++i)
                want += double(x[r * k + i]) * double(w[o * k + i]);
              ASSERT_EQ(y[r * n + o], float(want)) << "y[" << r << "][" << o << "]";
            }
        }
      }
    }
}

namespace {
/// One warpgroup through sm_90a's TMA and mbarrier: thread 0 initialises
/// an mbarrier (1 arrival), a barrier, thread 0 arrives expecting `expect`
/// bytes and issues two TMA copies (A: 64 x 64 bf16, B: 8 x 64, both
/// 128-byte swizzled) completing on it; every thread waits for phase 0
/// (unless `wait` is false), then four wgmma m64n8k16 (K = 64) from the
/// copies; each thread stores its 4 accumulators at out[4 t ..].
std::string tmaKernel(int64_t expect, bool wait) {
  std::string text = R"(
func.func @mtgr_forward(%a: memref<2048xf32>, %b: memref<256xf32>, %amap: memref<32xf32>,
                        %bmap: memref<32xf32>, %out: memref<512xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1)
             workgroup(%smem : memref<11264xi8, #gpu.address_space<workgroup>>) {
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c1024 = arith.constant 1024 : index
    %c8192 = arith.constant 8192 : index
    %c9216 = arith.constant 9216 : index
    %i0 = arith.constant 0 : i32
    %i1 = arith.constant 1 : i32
    %base = memref.extract_aligned_pointer_as_index %smem : memref<11264xi8, #gpu.address_space<workgroup>> -> index
    %blocks = arith.ceildivui %base, %c1024 : index
    %aligned = arith.muli %blocks, %c1024 : index
    %bat = arith.addi %aligned, %c8192 : index
    %barat = arith.addi %aligned, %c9216 : index
    %ai = arith.index_cast %aligned : index to i64
    %bi = arith.index_cast %bat : index to i64
    %bari = arith.index_cast %barat : index to i64
    %asp = llvm.inttoptr %ai : i64 to !llvm.ptr<3>
    %bsp = llvm.inttoptr %bi : i64 to !llvm.ptr<3>
    %bar = llvm.inttoptr %bari : i64 to !llvm.ptr<3>
    %amapx = memref.extract_aligned_pointer_as_index %amap : memref<32xf32> -> index
    %bmapx = memref.extract_aligned_pointer_as_index %bmap : memref<32xf32> -> index
    %amapi = arith.index_cast %amapx : index to i64
    %bmapi = arith.index_cast %bmapx : index to i64
    %amapp = llvm.inttoptr %amapi : i64 to !llvm.ptr
    %bmapp = llvm.inttoptr %bmapi : i64 to !llvm.ptr
    %first = arith.cmpi eq, %tx, %c0 : index
    scf.if %first {
      nvvm.mbarrier.init %bar, %i1 : !llvm.ptr<3>, i32
    }
    gpu.barrier
    scf.if %first {
      %bytes = arith.constant )" +
                     std::to_string(expect) + R"( : i32
      nvvm.mbarrier.arrive.expect_tx %bar, %bytes : !llvm.ptr<3>, i32
      %asc = llvm.addrspacecast %asp : !llvm.ptr<3> to !llvm.ptr<7>
      %bsc = llvm.addrspacecast %bsp : !llvm.ptr<3> to !llvm.ptr<7>
      nvvm.cp.async.bulk.tensor.shared.cluster.global %asc, %amapp, %bar, box[%i0, %i0] : !llvm.ptr<7>, !llvm.ptr
      nvvm.cp.async.bulk.tensor.shared.cluster.global %bsc, %bmapp, %bar, box[%i0, %i0] : !llvm.ptr<7>, !llvm.ptr
    }
)";
  if (wait)
    text += "    %ticks = arith.constant 1000000 : i32\n"
            "    nvvm.mbarrier.try_wait.parity %bar, %i0, %ticks : !llvm.ptr<3>, i32, i32\n";
  text += R"(
    nvvm.wgmma.fence.aligned
    %s4 = arith.constant 4 : i64
    %m14 = arith.constant 16383 : i64
    %fields = arith.constant 4611686293305360384 : i64
)" + zeroAccumulators("acc0");
  for (int ks = 0; ks < 4; ++ks) {
    std::string k = std::to_string(ks), off = std::to_string(ks * 32);
    text += "    %ko" + k + " = arith.constant " + off + " : i64\n" + "    %as" + k +
            " = arith.addi %ai, %ko" + k + " : i64\n" + "    %ash" + k + " = arith.shrui %as" + k +
            ", %s4 : i64\n" + "    %asm" + k + " = arith.andi %ash" + k + ", %m14 : i64\n" +
            "    %da" + k + " = arith.ori %asm" + k + ", %fields : i64\n" + "    %bs" + k +
            " = arith.addi %bi, %ko" + k + " : i64\n" + "    %bsh" + k + " = arith.shrui %bs" + k +
            ", %s4 : i64\n" + "    %bsm" + k + " = arith.andi %bsh" + k + ", %m14 : i64\n" +
            "    %db" + k + " = arith.ori %bsm" + k + ", %fields : i64\n" + "    %acc" +
            std::to_string(ks + 1) + " = nvvm.wgmma.mma_async %da" + k + ", %db" + k + ", %acc" +
            k +
            ", <m = 64, n = 8, k = 16>, D [<f32>, <one>], A [<bf16>, "
            "#nvvm.wgmma_scale_in<one>, <row>], B [<bf16>, #nvvm.wgmma_scale_in<one>, <col>] : "
            "!llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>\n";
  }
  return text + storeAccumulatorsAndEnd("acc4");
}

/// Runs tmaKernel on A (64 x 64) and B (8 x 64, B[n][k]) of eighths; the
/// tensor maps describe the host buffers as the runtime would.
std::vector<float> runTma(const Artifact &artifact, const std::vector<float> &a,
                          const std::vector<float> &b, emu::Schedule schedule) {
  auto bits = [](const std::vector<float> &v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      h[i] = sixteenBits(v[i], true);
    std::vector<float> words(v.size() / 2);
    std::memcpy(words.data(), h.data(), h.size() * 2);
    return words;
  };
  Buffers buffers;
  buffers.add(bits(a), {2048});
  buffers.add(bits(b), {256});
  buffers.add(std::vector<float>(32, 0.f), {32});
  buffers.add(std::vector<float>(32, 0.f), {32});
  buffers.add(std::vector<float>(512, -1.f), {512});
  // The buffers in the device's memory, the maps pointing there.
  auto device = createEmulatorDevice(schedule);
  std::vector<void *> at;
  for (const std::vector<char> &d : buffers.data)
    at.push_back(device->sharesHostMemory() ? const_cast<char *>(d.data())
                                            : device->allocate(d.size()));
  auto mapOf = [&](size_t buffer, int64_t rows) {
    mtgr_emu_tensor_map m{};
    m.magic = MTGR_EMU_TENSOR_MAP_MAGIC;
    m.base = reinterpret_cast<uint64_t>(at[buffer]);
    m.rows = rows, m.cols = 64, m.row_bytes = 128;
    m.box_rows = int32_t(rows), m.box_cols = 64, m.element_bytes = 2, m.swizzle = 3;
    return m;
  };
  mtgr_emu_tensor_map am = mapOf(0, 64), bm = mapOf(1, 8);
  std::memcpy(buffers.data[2].data(), &am, sizeof am);
  std::memcpy(buffers.data[3].data(), &bm, sizeof bm);
  auto exe = device->load(artifact, "test artifact");
  EXPECT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  if (!exe)
    return {};
  std::vector<BufferView> views;
  for (size_t i = 0; i < at.size(); ++i) {
    if (!device->sharesHostMemory())
      device->copyToDevice(at[i], buffers.data[i].data(), buffers.data[i].size());
    views.push_back({at[i], buffers.shapes[i]});
  }
  (*exe)->call(artifact.entryPoints[0], views, 1);
  device->synchronize();
  std::vector<float> out(512);
  if (device->sharesHostMemory())
    std::memcpy(out.data(), at[4], 512 * 4);
  else
    device->copyToHost(out.data(), at[4], 512 * 4);
  return out;
}
} // namespace

TEST(GpuEmulator, TmaAndMbarrierFeedWgmma) {
  static_assert(sizeof(mtgr_emu_tensor_map) == 128, "a CUtensorMap's size");
  Artifact artifact = compileBound(tmaKernel(8192 + 1024, true), "cuda", 5);
  std::vector<float> a = eighths(64 * 64, 21), b = eighths(8 * 64, 22);
  for (emu::Schedule s : kSchedules) {
    SCOPED_TRACE(emu::scheduleName(s).str());
    std::vector<float> d = runTma(artifact, a, b, s);
    for (int t = 0; t < 128; ++t)
      for (int i = 0; i < 4; ++i) {
        int row = 16 * (t / 32) + (t % 32) / 4 + 8 * (i / 2), col = 2 * (t % 4) + i % 2;
        double want = 0;
        for (int k = 0; k < 64; ++k)
          want += double(a[row * 64 + k]) * double(b[col * 64 + k]);
        ASSERT_EQ(d[t * 4 + i], float(want)) << "D[" << row << "][" << col << "]";
      }
  }
}

TEST(GpuEmulatorDeathTest, APlantedMissingMbarrierWaitOrWrongByteCountIsCaught) {
  std::vector<float> a = eighths(64 * 64, 21), b = eighths(8 * 64, 22);
  // wgmma reading the copies with no wait for their phase.
  Artifact noWait = compileBound(tmaKernel(8192 + 1024, false), "cuda", 5);
  EXPECT_EXIT(runTma(noWait, a, b, emu::Schedule::InOrder), testing::ExitedWithCode(70),
              "which a TMA copy writes, before the warpgroup saw phase 0");
  // Expecting more bytes than the copies bring: the phase never completes.
  Artifact tooMany = compileBound(tmaKernel(8192 + 2048, true), "cuda", 5);
  EXPECT_EXIT(runTma(tooMany, a, b, emu::Schedule::Reverse), testing::ExitedWithCode(70),
              "deadlock: a wait for the phase of parity 0 of the mbarrier at byte");
}

namespace {
/// 256 threads stage 16384 floats (64 KB, above the 48 KB of static shared
/// memory) in dynamic shared memory, a barrier, then each reads another
/// thread's values: out[i] = in[16383 - i] + 1.
std::string dynamicSharedKernel(int64_t bytes) {
  return R"(
func.func @mtgr_forward(%in: memref<16384xf32>, %out: memref<16384xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %bytes = arith.constant )" +
         std::to_string(bytes) + R"( : i32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1)
             dynamic_shared_memory_size %bytes {
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %last = arith.constant 16383 : index
    %one = arith.constant 1.0 : f32
    %dyn = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %tile = memref.view %dyn[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<16384xf32, #gpu.address_space<workgroup>>
    scf.for %i = %c0 to %c64 step %c1 {
      %s = arith.muli %i, %c256 : index
      %at = arith.addi %s, %tx : index
      %v = memref.load %in[%at] : memref<16384xf32>
      memref.store %v, %tile[%at] : memref<16384xf32, #gpu.address_space<workgroup>>
    }
    gpu.barrier
    scf.for %i = %c0 to %c64 step %c1 {
      %s = arith.muli %i, %c256 : index
      %at = arith.addi %s, %tx : index
      %from = arith.subi %last, %at : index
      %v = memref.load %tile[%from] : memref<16384xf32, #gpu.address_space<workgroup>>
      %w = arith.addf %v, %one : f32
      memref.store %w, %out[%at] : memref<16384xf32>
    }
    gpu.terminator
  }
  return
}
)";
}
} // namespace

TEST(GpuEmulator, DynamicSharedMemoryAbove48KB) {
  Artifact artifact = compileBound(dynamicSharedKernel(65536), "cuda", 2);
  std::vector<float> in = randomFloats(16384, 3);
  for (emu::Schedule s : kSchedules) {
    SCOPED_TRACE(emu::scheduleName(s).str());
    Buffers buffers;
    buffers.add(in, {16384});
    buffers.add(std::vector<float>(16384, 0.f), {16384});
    auto device = createEmulatorDevice(s);
    run(*device, artifact, buffers);
    std::vector<float> out = buffers.get<float>(1);
    for (int i = 0; i < 16384; ++i)
      ASSERT_EQ(out[i], in[16383 - i] + 1.f) << i;
  }
}

TEST(GpuEmulatorDeathTest, DynamicSharedMemoryIsBounded) {
  // Too little for the kernel's 64 KB: its accesses past the launch's
  // 32 KB are out of its shared memory; more than the emulator's 227 KB:
  // the launch is refused.
  Artifact small = compileBound(dynamicSharedKernel(32768), "cuda", 2);
  EXPECT_EXIT(
      {
        Buffers buffers;
        buffers.add(std::vector<float>(16384, 1.f), {16384});
        buffers.add(std::vector<float>(16384, 0.f), {16384});
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, small, buffers);
      },
      testing::ExitedWithCode(70), "outside the kernel's shared memory");
  Artifact huge = compileBound(dynamicSharedKernel(300000), "cuda", 2);
  EXPECT_EXIT(
      {
        Buffers buffers;
        buffers.add(std::vector<float>(16384, 1.f), {16384});
        buffers.add(std::vector<float>(16384, 0.f), {16384});
        auto device = createEmulatorDevice(emu::Schedule::InOrder);
        run(*device, huge, buffers);
      },
      testing::ExitedWithCode(70), "a launch with 300000 bytes of dynamic shared memory, above");
}

TEST(GpuEmulatorDeathTest, CudaDeviceOptsInToSharedMemoryAbove48KB) {
  // A kernel asking for 64 KB of dynamic shared memory, on the CUDA device
  // over the stand-in driver, which refuses a launch above 48 KB without
  // the kernel's opt-in (cuFuncSetAttribute): the launch goes through, with
  // its shared bytes. (The kernel leaves it unused: DynamicSharedMemory*
  // use it on the emulator; the artifact gets an ELF stand-in as its
  // sm_90a cubin.)
  const char *text = R"(
func.func @mtgr_forward(%out: memref<32xf32>) attributes {mtgr.abi = []} {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %bytes = arith.constant 65536 : i32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             dynamic_shared_memory_size %bytes {
    %one = arith.constant 1.0 : f32
    memref.store %one, %out[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}
)";
  Artifact artifact = compileBound(text, "cuda", 1);
  artifact.code.push_back(CodeSection{"cuda.sm_90a", "sm_90a", std::string("\x7f" "ELF", 4)});
  EXPECT_EXIT(
      {
        ::setenv("MTGR_LIBCUDA", MTGR_FAKE_CUDA, 1);
        ::setenv("FAKE_CUDA_TRACE", "1", 1);
        auto device = createCudaDevice(0);
        if (!device)
          std::_Exit(2);
        Buffers buffers;
        buffers.add(std::vector<float>(32, 0.f), {32});
        run(**device, artifact, buffers);
        std::_Exit(0);
      },
      testing::ExitedWithCode(0), "fake-cuda: launch mtgr_forward_kernel grid 1 x 1 x 1 block 32 "
                                  "x 1 x 1 shared 65536");
}

namespace {
/// The golden kernels (issue 25, bench/gpu): tensor-core micro-kernels on
/// exact values (k / 8: every product and sum exact in f32) whose outputs a
/// GPU records once, so that the emulator is checked against the hardware
/// and not only against this file's reading of the PTX ISA: mma.sync
/// m16n8k16 bf16 and f16 fed by cp.async and ldmatrix (.x4, .x1.trans);
/// the generated GEMMs on mma.sync and on sm_90a's wgmma fed by TMA
/// (128-byte swizzle, mbarriers, the persistent warp-specialised kernel;
/// 520 x 300 takes 4 tiles and wraps the ring), each at a jagged row count.
struct GoldenKernel {
  std::string name, text, gemm, archs;
  size_t args;
  Buffers buffers;
};

std::vector<GoldenKernel> goldenKernels() {
  std::vector<GoldenKernel> kernels;
  for (bool bf16 : {true, false})
    kernels.push_back({bf16 ? "mma-bf16" : "mma-f16", tensorCoreKernel(bf16, /*wait=*/true), "",
                       "sm_90a,sm_80", 5,
                       tensorCoreBuffers(eighths(256, 1), eighths(128, 2), eighths(128, 3), bf16)});
  struct Gemm {
    const char *gemm, *archs;
    int64_t rows, n, k;
  };
  for (Gemm g : {Gemm{"tensor-core", "sm_90a,sm_80", 130, 70, 40},
                 Gemm{"wgmma", "sm_90a", 37, 70, 40}, Gemm{"wgmma", "sm_90a", 130, 300, 520}}) {
    Buffers b;
    b.add(eighths(g.rows * g.k, 7 + g.rows), {g.rows, g.k});
    b.add(eighths(g.n * g.k, 8), {g.n, g.k});
    b.add(eighths(g.n, 9), {g.n});
    b.add(std::vector<float>(g.rows * g.n, -7.f), {g.rows, g.n});
    kernels.push_back({std::string("gemm-") + (g.gemm == std::string("wgmma") ? "wgmma" : "tc") +
                           "-" + std::to_string(g.rows) + "x" + std::to_string(g.n) + "x" +
                           std::to_string(g.k),
                       linearKernel(g.k, g.n), g.gemm, g.archs, 4, std::move(b)});
  }
  return kernels;
}

/// A call's buffers as `mtgr-run call` reads and writes them: arg0, arg1,
/// ... (all f32 here, raw bits included).
std::map<std::string, Tensor> asTensors(const Buffers &b) {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < b.data.size(); ++i) {
    Tensor t{b.shapes[i], std::vector<float>(b.data[i].size() / 4)};
    if (!t.data.empty())
      std::memcpy(t.data.data(), b.data[i].data(), b.data[i].size());
    out["arg" + std::to_string(i)] = std::move(t);
  }
  return out;
}
} // namespace

// With MTGR_GOLDEN_DIR set (bench/gpu/build.sh): writes each golden
// kernel as a kernel artifact (cubins for its architectures) and its
// inputs, <name>.mtgr and <name>.in.npz, for `mtgr-run call` on a GPU.
TEST(GoldenKernels, WrittenForTheDeviceScript) {
  const char *dir = std::getenv("MTGR_GOLDEN_DIR");
  if (!dir)
    GTEST_SKIP() << "MTGR_GOLDEN_DIR is not set (bench/gpu/build.sh sets it)";
  ASSERT_FALSE(llvm::sys::fs::create_directories(dir));
  for (const GoldenKernel &k : goldenKernels()) {
    Artifact a = compileBound(k.text, "cuda", k.args, k.gemm, k.archs);
    std::string base = std::string(dir) + "/" + k.name;
    ASSERT_FALSE(static_cast<bool>(a.write(base + ".mtgr"))) << base;
    ParamStore inputs;
    for (auto &[name, tensor] : asTensors(k.buffers))
      inputs.set(name, tensor);
    ASSERT_FALSE(static_cast<bool>(writeNpz(base + ".in.npz", inputs))) << base;
  }
}

// The emulator's outputs of each golden kernel equal, bit for bit, what a
// GPU recorded (test/golden/<name>.out.npz, from bench/gpu/run.sh).
TEST(GoldenKernels, EmulatorMatchesTheOutputsAGpuRecorded) {
  int recorded = 0;
  for (const GoldenKernel &k : goldenKernels()) {
    std::string path = std::string(MTGR_SOURCE_DIR) + "/test/golden/" + k.name + ".out.npz";
    auto bytes = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
    if (!bytes)
      continue;
    ++recorded;
    SCOPED_TRACE(k.name);
    auto golden = parseNpz((*bytes)->getBuffer(), path);
    ASSERT_TRUE(static_cast<bool>(golden)) << llvm::toString(golden.takeError());
    Artifact a = compileBound(k.text, "cuda", k.args, k.gemm);
    Buffers buffers = k.buffers;
    auto device = createEmulatorDevice(emu::Schedule::InOrder);
    run(*device, a, buffers);
    std::string report;
    llvm::raw_string_ostream os(report);
    EXPECT_TRUE(compareBits(asTensors(buffers), *golden, path, os)) << report;
  }
  if (recorded == 0)
    GTEST_SKIP() << "no GPU has recorded the golden kernels' outputs yet (test/golden/README.md: "
                    "bench/gpu/run.sh records them on a lent GPU)";
}
