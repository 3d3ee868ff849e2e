// A GPTQ layer's packed tensors copied to one CUDA device, with the matrix-vector plans and
// the split-K workspace its products need there, made once so that later calls allocate
// nothing and may be captured in a CUDA graph (Note [GPTQ device layers]). Plain CUDA
// runtime, no libtorch (library lmf_quant_cuda). In a build without the CUDA kernels
// (gptq_device_layer_unavailable.cpp) making one throws std::logic_error: ask
// gptq_cuda_kernels_compiled() first. Bad arguments throw std::invalid_argument, CUDA
// failures (out of memory, a failed launch) std::runtime_error.
#pragma once

#include "plugins/quantizer/common/gptq_kernels_cuda.h"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace lmf::quant {

// Note [GPTQ device layers]
// GptqLayer (gptq_sdk_layer.h) keeps one GptqDeviceLayer per CUDA device, made on the first
// dequantize or matmul with tensors there and freed with the layer (release_layer).
// - Upload: qweight, qzeros, scales and g_idx are copied with cudaMalloc + cudaMemcpy on
//   the layer's device, then the device is synchronized, so that any stream may read them.
// - Plans: the first matmul with an x dtype makes the plans for 1 to 8 tokens
//   (gptq_matvec_plan), plus CUDA-core plans for an x that is not 16-byte aligned where the
//   chosen kernel is the tensor-core one. More than 8 tokens run 8 at a time.
// - Workspace: a split plan needs fp32 partial sums and per-tile counters that start at
//   zero (Note [GPTQ CUDA kernels]). Sized per layer and per 8 tokens they would cost about
//   20 MB a Llama-8B block, so one workspace serves every layer of the device in this
//   plugin library, one per stream: calls on one stream are ordered by it, so its layers
//   may share one; calls on different streams never share (cudaStreamPerThread counts as
//   one stream per thread). A stream gets its workspace on its first call that needs one,
//   sized to the largest need of the device's layers so far (counters zeroed with
//   cudaMemsetAsync on that stream), and a larger one when a later layer needs more. All
//   are freed with the device's last GptqDeviceLayer, the replaced ones too, since a graph
//   captured earlier may still use them.
// - Graph capture: after one call of a layer with an x dtype on a stream (the warm-up), its
//   calls with that dtype on that stream, any number of tokens, make no allocation and no
//   synchronizing call: only kernel launches, cudaGetDevice/cudaSetDevice and host locks.
//   A call that would allocate while its stream is being captured throws GptqCaptureError
//   instead (the capture stays valid), saying which warm-up is missing. A graph captured on stream
//   S uses S's workspace wherever it is replayed: replay it ordered with other work on S.
// - Threading: any number of threads may call any layers on any streams at once. A first
//   use (the upload and cudaFree at destruction synchronize the device) must not overlap a
//   graph capture in another thread that uses cudaStreamCaptureModeGlobal.
class GptqDeviceWorkspaces;

// What a call throws instead of allocating while its stream is being captured.
using GptqCaptureError = DeviceCaptureError;

class GptqDeviceLayer {
 public:
  // Copies the tensors of `host` (host pointers) to CUDA device `device`; the caller's
  // current device is restored. Refuses a device that does not exist, and refuses to
  // allocate while `stream` (the stream of the call that needs the copy) is being captured.
  GptqDeviceLayer(const GptqView& host, int device, void* stream);
  ~GptqDeviceLayer();
  GptqDeviceLayer(const GptqDeviceLayer&) = delete;
  GptqDeviceLayer& operator=(const GptqDeviceLayer&) = delete;

  int device() const { return device_; }
  const GptqView& view() const { return view_; }  // device pointers

  // weight [out, in] row-major in `dtype`, on this device, ordered on `stream` (a
  // cudaStream_t; null: the legacy default stream). gptq_dequantize_cuda's values.
  void dequantize(DeviceDtype dtype, void* weight, void* stream) const;

  // y [tokens, out] = x [tokens, in] · Wᵀ, row-major on this device, ordered on `stream`;
  // tokens ≥ 0, 8 at a time. The first call with an x dtype makes its plans, the first on
  // a stream its workspace (Note [GPTQ device layers]).
  void matmul(DeviceDtype x_dtype, const void* x, int64_t tokens, DeviceDtype y_dtype, void* y,
              void* stream);

 private:
  // The plans of one x dtype; index tokens − 1.
  struct Plans {
    std::array<GptqMatvecPlan, kGptqMatvecMaxTokens> chosen;
    std::array<GptqMatvecPlan, kGptqMatvecMaxTokens> unaligned_x;  // where chosen uses tensor cores
    int64_t workspace_floats = 0, counters = 0;                    // the most any of them needs
  };
  const Plans& plans_for(DeviceDtype x_dtype);

  int device_ = 0;
  GptqView view_;  // device pointers, owned
  std::mutex mutex_;
  std::array<std::unique_ptr<const Plans>, 3> plans_;  // by DeviceDtype, made on first use
  std::shared_ptr<GptqDeviceWorkspaces> workspaces_;
};

}  // namespace lmf::quant
