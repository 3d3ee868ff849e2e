#include "device_stream.h"

#include <lmf/sdk/error.h>

#if LMF_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace lmf::quant::gptq {

void run_on_stream(const torch::Device& device, const std::function<void(void*)>& launch) {
#if LMF_TORCH_CUDA
  const c10::cuda::CUDAGuard current(device);
  launch(static_cast<void*>(c10::cuda::getCurrentCUDAStream(device.index()).stream()));
#else
  (void)launch;
  lmf::sdk::fail(LMF_ERR_UNSUPPORTED, "gptq: " + device.str() + " needs libtorch with CUDA");
#endif
}

}  // namespace lmf::quant::gptq
