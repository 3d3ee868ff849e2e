// The nf4 plugin's dequantize and matmul on CUDA tensors (kDLCUDA): the checks, naming the
// tensor at fault; the layer's copy on the tensors' device (Note [NF4 device layers]); the
// kernels' failures turned into statuses. A refused call writes nothing.
#pragma once

#include "plugins/quantizer/common/cuda_tensor_checks.h"
#include "plugins/quantizer/nf4/nf4_layer.h"

#include <lmf/sdk/quantizer.h>

namespace lmf::quant::nf4 {

using lmf::quant::on_cuda;  // plugins/quantizer/common/cuda_tensor_checks.h

// What the plugin's capabilities say of where dequantize and matmul run: "devices" is
// ["cpu"], plus "cuda" where the CUDA kernels are built.
sdk::Json nf4_devices();

// weight [out, in] on a CUDA device, contiguous, float32, float16 or bfloat16: the layer's
// weight, exactly the CPU dequantize's values (rounded once to the 16-bit types), ordered on
// `stream` (a cudaStream_t, null: the legacy default stream). In a build without the kernels,
// LMF_ERR_UNSUPPORTED naming the op and the device.
void dequantize_on_cuda(const Nf4Layer& layer, DLTensor& weight, void* stream);

// y [tokens, out] = x [tokens, in] · Wᵀ with x or y on CUDA: both must be on one device,
// contiguous, of one dtype (float32, float16 or bfloat16); any number of tokens,
// kNf4MatvecMaxTokens a launch. As dequantize_on_cuda otherwise.
void matmul_on_cuda(const Nf4Layer& layer, const DLTensor& x, DLTensor& y, void* stream);

}  // namespace lmf::quant::nf4
