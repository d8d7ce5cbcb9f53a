//===- CpuDevice.h - the CPU as a device -------------------------*- C++ -*-===//
//
// Loads an artifact's "host.so" (an x86-64 shared object whose entry points
// are `void <symbol>(void **args, const mtgr_environment *env)`,
// abi/Environment.h) from memory with dlopen, after checking that this CPU
// can run it, and checks the code's own ABI record against the manifest
// before any call. Each executable is its own loaded copy with its own
// environment (buffer pool, profile counters).
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_CPU_CPUDEVICE_H
#define MTGR_RUNTIME_CPU_CPUDEVICE_H

#include "runtime/Device.h"

namespace mtgr {

std::unique_ptr<Device> createCpuDevice();

} // namespace mtgr

#endif
