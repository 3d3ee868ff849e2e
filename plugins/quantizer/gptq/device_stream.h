// Where gptq's CUDA calls (gptq_cuda.h) run: the tensor's device made current and libtorch's
// current stream on it, so that they queue behind the tensor operations around them.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace lmf::quant::gptq {

// Calls `launch(stream)` with `device` current and its current cudaStream_t. Throws
// lmf::sdk::Error (LMF_ERR_UNSUPPORTED) in a libtorch without CUDA.
void run_on_stream(const torch::Device& device, const std::function<void(void*)>& launch);

}  // namespace lmf::quant::gptq
