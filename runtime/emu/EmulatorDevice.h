//===- EmulatorDevice.h - `--device=cuda-emu` ---------------------*- C++ -*-===//
//
// A device that runs the CUDA back end's artifacts on the host: the host
// code of the `cuda.host.so` section launches through this device's
// launcher, which runs the section's emulated kernels under runtime/emu's
// checks. Its memory is separate from the session's (buffers are copied in
// and out, as for a GPU) and starts as NaN, like every buffer the host code
// allocates, so a read of something never written shows. A fault the
// emulator finds (out-of-bounds access, shared-memory race, barrier
// divergence) is a compiler bug: it is reported with the kernel, block and
// thread and the process ends with exit status 70.
//
//===----------------------------------------------------------------------===//
#ifndef MTGR_RUNTIME_EMU_EMULATORDEVICE_H
#define MTGR_RUNTIME_EMU_EMULATORDEVICE_H

#include "runtime/Device.h"
#include "runtime/emu/Emulator.h"

namespace mtgr {

/// The emulator as a device, running launches in `schedule` order
/// (MTGR_EMU_SCHEDULE names one when the device is made by name).
std::unique_ptr<Device> createEmulatorDevice(emu::Schedule schedule);

} // namespace mtgr

#endif
