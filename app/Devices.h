//===- Devices.h - what a session can run on, for people -----*- C++ -*-===//
//
// `mtgr-run devices` (and a server's status page next): the CPU the runtime
// runs on, and the CUDA driver with its GPUs, or why there is none. Listing
// never fails: the CPU is always there, and a missing driver or GPU is a line
// saying so.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_APP_DEVICES_H
#define MTGR_APP_DEVICES_H

#include "abi/Artifact.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mtgr {

/// The machine a CPU artifact's tiles were derived for, as its section
/// cpu.target records it (codegen/cpu/Target.h describe(): FMA units,
/// vector width, registers, caches, tiles), or "" when it has none.
std::string recordedTarget(const Artifact &artifact);

/// Writes one line for the CPU, then the CUDA driver's line and one line per
/// GPU ("cuda:0: NVIDIA H200, sm_90, 132 multiprocessors, 139.8 GiB"), or
/// "cuda: none (...)" with the reason. Returns the number of GPUs found.
int describeDevices(llvm::raw_ostream &os);

/// Then, per GPU, the ceilings mtgr's own paths reach (runtime/cuda
/// CudaDevice.h measureCudaCeilings): a device-to-device copy and cuBLASLt
/// GEMMs of size^3 in bf16 and fp32. Returns 1 when a measurement failed.
int describeCeilings(llvm::raw_ostream &os, int64_t size, int repeats);

} // namespace mtgr

#endif
