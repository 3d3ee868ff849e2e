// A DLTensor the host lends for one call, seen as a torch::Tensor without copying: how the
// quantizers written on libtorch (gptq, awq) read the weights and inputs they are given.
#pragma once

#include <dlpack/dlpack.h>
#include <torch/torch.h>

#include <string>

namespace lmf::quant {

// A view of `tensor` (CPU, or CUDA in a CUDA build of libtorch; float16, bfloat16, float32
// or float64), valid while the host's tensor is. Throws lmf::sdk::Error naming `what` for
// other dtypes and devices.
torch::Tensor borrow_tensor(const DLTensor& tensor, const std::string& what);

}  // namespace lmf::quant
