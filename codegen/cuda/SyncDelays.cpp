//===- SyncDelays.cpp - random delays around synchronisation points -------===//
//
// mtgr-gpu-sync-delays (Passes.td): the test build of issue 25's device
// script. Each synchronisation point of a kernel gets a nanosleep before
// and after it whose length is a hash of the clock, the thread, the block
// and the site: threads reach and leave every barrier, wait and copy in an
// order the plain build rarely shows, so a kernel that is right by timing
// alone shows it.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::mtgr {
#define GEN_PASS_DEF_MTGRGPUSYNCDELAYSPASS
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::mtgr

using namespace mlir;
using namespace mlir::mtgr;

namespace {
/// Whether `op` orders threads or memory: block barriers, cp.async groups,
/// mbarriers, TMA copies, wgmma's fence / commit / wait, proxy fences.
bool isSynchronisationPoint(Operation *op) {
  if (isa<gpu::BarrierOp>(op))
    return true;
  StringRef name = op->getName().getStringRef();
  for (StringRef prefix : {"nvvm.barrier", "nvvm.cp.async.wait.group", "nvvm.cp.async.commit.group",
                           "nvvm.mbarrier.", "nvvm.cp.async.bulk.", "nvvm.wgmma.fence",
                           "nvvm.wgmma.commit", "nvvm.wgmma.wait", "nvvm.fence.proxy"})
    if (name.starts_with(prefix))
      return true;
  return false;
}

/// nanosleep(hash(clock, thread, block, site) % maxNs) at b's insertion point:
/// straight-line i32 arithmetic (a murmur-style finaliser), no branch.
void delay(OpBuilder &b, Location loc, uint32_t site, int64_t maxNs) {
  Type i32 = b.getI32Type();
  auto constant = [&](uint32_t v) {
    return arith::ConstantIntOp::create(b, loc, i32, static_cast<int32_t>(v)).getResult();
  };
  auto asI32 = [&](Value index) {
    return arith::IndexCastUIOp::create(b, loc, i32, index).getResult();
  };
  auto mix = [&](Value x, Value y, uint32_t k) { // x ^ (y * k)
    return arith::XOrIOp::create(b, loc, x, arith::MulIOp::create(b, loc, y, constant(k)))
        .getResult();
  };
  auto shiftXor = [&](Value x, uint32_t s) {
    return arith::XOrIOp::create(b, loc, x, arith::ShRUIOp::create(b, loc, x, constant(s)))
        .getResult();
  };
  Value x = NVVM::ClockOp::create(b, loc, i32);
  x = mix(x, asI32(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x)), 0x9E3779B1u);
  x = mix(x, asI32(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x)), 0x85EBCA77u);
  x = mix(x, asI32(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y)), 0xC2B2AE3Du);
  x = arith::XOrIOp::create(b, loc, x, constant(site * 0x27D4EB2Fu));
  x = shiftXor(x, 15);
  x = arith::MulIOp::create(b, loc, x, constant(0x2C1B3C6Du));
  x = shiftXor(x, 12);
  Value ns = arith::RemUIOp::create(b, loc, x, constant(static_cast<uint32_t>(maxNs)));
  NVVM::NanosleepOp::create(b, loc, ns);
}

struct GpuSyncDelays : mlir::mtgr::impl::MTGRGpuSyncDelaysPassBase<GpuSyncDelays> {
  using Base::Base;

  void runOnOperation() override {
    if (maxNs < 1 || maxNs > 1000000) {
      getOperation().emitError("mtgr-gpu-sync-delays: max-ns must be 1 .. 1000000 (nanosleep "
                               "sleeps at most 1 ms), not ")
          << static_cast<int64_t>(maxNs);
      return signalPassFailure();
    }
    SmallVector<Operation *> points;
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      kernel.walk([&](Operation *op) {
        if (isSynchronisationPoint(op))
          points.push_back(op);
      });
    });
    uint32_t site = 0;
    for (Operation *op : points) {
      OpBuilder b(op);
      delay(b, op->getLoc(), site++, maxNs);
      b.setInsertionPointAfter(op);
      delay(b, op->getLoc(), site++, maxNs);
    }
  }
};
} // namespace
