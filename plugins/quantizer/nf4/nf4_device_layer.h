// An NF4 layer's stored tensors copied to one CUDA device, once, so that later calls allocate
// nothing and may be captured in a CUDA graph (Note [NF4 device layers]). Plain CUDA runtime,
// no libtorch (library lmf_nf4_cuda). In a build without the CUDA kernels
// (nf4_device_layer_unavailable.cpp) making one throws std::logic_error: ask
// nf4_cuda_kernels_compiled() first. Bad arguments throw std::invalid_argument, CUDA failures
// (out of memory, a failed launch) std::runtime_error.
#pragma once

#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"

#include <cstdint>
#include <stdexcept>

namespace lmf::quant::nf4 {

// Note [NF4 device layers]
// Nf4Layer (nf4_layer.h) keeps one Nf4DeviceLayer per CUDA device, made under the layer's
// lock by the first dequantize or matmul with tensors there, and freed with the layer.
// - Upload: the tensors as the layout stores them (packed codes; absmax codes, nested absmax
//   and map, or the plain absmax), 4.13 bits a weight at block 64 with double quantization:
//   the kernels decode the absmax as they go (Note [NF4 CUDA kernels]). cudaMalloc +
//   cudaMemcpy on that device, the caller's current device restored, then the device is
//   synchronized, so that any stream may read them.
// - Graph capture: after that, a call only launches kernels (plus cudaGetDevice/cudaSetDevice
//   and host locks): no allocation, no synchronization, so once a layer has been used on a
//   device its calls there, on any stream, may be captured in a CUDA graph. A first use while
//   its stream is being captured throws Nf4CaptureError instead of allocating (the capture
//   stays valid), saying what to do.
// - Threading: any number of threads may call any layers on any streams at once. A first use
//   (the upload, and cudaFree at destruction, synchronize the device) must not overlap a graph
//   capture in another thread that uses cudaStreamCaptureModeGlobal.

// What a first use throws instead of allocating while its stream is being captured.
using Nf4CaptureError = DeviceCaptureError;

class Nf4DeviceLayer {
 public:
  // Copies the tensors of `host` (host pointers) to CUDA device `device`; the caller's current
  // device is restored. Refuses a device that does not exist, and refuses to allocate while
  // `stream` (the stream of the call that needs the copy) is being captured.
  Nf4DeviceLayer(const Nf4StoredView& host, int device, void* stream);
  ~Nf4DeviceLayer();
  Nf4DeviceLayer(const Nf4DeviceLayer&) = delete;
  Nf4DeviceLayer& operator=(const Nf4DeviceLayer&) = delete;

  int device() const { return device_; }
  const Nf4StoredView& view() const { return view_; }  // device pointers

  // weight [out, in] row-major in `dtype` on this device, ordered on `stream` (a
  // cudaStream_t; null: the legacy default stream): nf4_dequantize_cuda's values.
  void dequantize(CudaDtype dtype, void* weight, void* stream) const;

  // y [tokens, out] = x [tokens, in] · Wᵀ, row-major in `dtype` on this device, ordered on
  // `stream`; any tokens ≥ 0, kNf4MatvecMaxTokens a launch.
  void matmul(CudaDtype dtype, const void* x, int64_t tokens, void* y, void* stream) const;

 private:
  int device_ = 0;
  Nf4StoredView view_;  // device pointers, owned
};

}  // namespace lmf::quant::nf4
