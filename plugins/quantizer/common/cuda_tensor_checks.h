// The checks a quantizer's dequantize and matmul make of CUDA tensors lent through the ABI
// (the GPTQ layout's layers, NF4's), each naming the tensor at fault, and the mapping of what
// their device code throws onto statuses. Host code, no CUDA headers (lmf_quant_common).
#pragma once

#include "plugins/quantizer/common/device_dtype.h"

#include <lmf/sdk/quantizer.h>

#include <cstdint>
#include <string>

namespace lmf::quant {

bool on_cuda(const DLTensor& tensor);
// "cpu", "cuda:N" or "device type N".
std::string device_text(const DLDevice& device);

// Refuses the CUDA tensor `name` where this build of `plugin` ("the plugin", "the nf4
// plugin") has no CUDA kernels (`compiled` false): LMF_ERR_UNSUPPORTED naming the device.
void expect_cuda_kernels(bool compiled, const DLTensor& tensor, const std::string& name,
                         const std::string& plugin);

// The kernels' type of a contiguous CUDA tensor of `rank` dimensions in float32, float16 or
// bfloat16; anything else is refused, naming the tensor.
DeviceDtype cuda_dtype(const DLTensor& tensor, const std::string& name, int rank);

// matmul's x [tokens, in] and y [tokens, out], at least one on CUDA: both on one CUDA
// device, contiguous, of one dtype. Refusals name the tensor or the mismatch.
struct CudaMatmul {
  DeviceDtype dtype;
  int64_t tokens;
};
CudaMatmul check_cuda_matmul(const DLTensor& x, const DLTensor& y, int64_t in, int64_t out,
                             bool compiled, const std::string& plugin);

// Runs `body`, turning what device code throws into statuses with `op` in front: bad
// arguments, a first use inside a graph capture (unsupported: call once before capturing),
// CUDA's failures (out of memory, a failed launch).
template <class Body>
void run_cuda(const char* op, Body&& body) {
  try {
    body();
  } catch (const sdk::Error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, std::string(op) + ": " + e.what());
  } catch (const DeviceCaptureError& e) {
    sdk::fail(LMF_ERR_UNSUPPORTED, std::string(op) + ": " + e.what());
  } catch (const std::runtime_error& e) {
    sdk::fail(LMF_ERR_INTERNAL, std::string(op) + ": " + e.what());
  }
}

}  // namespace lmf::quant
