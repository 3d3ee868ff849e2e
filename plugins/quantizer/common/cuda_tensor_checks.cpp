#include "plugins/quantizer/common/cuda_tensor_checks.h"

#include "plugins/quantizer/common/layer_tensors.h"

namespace lmf::quant {

using sdk::fail;

bool on_cuda(const DLTensor& tensor) {
  return tensor.device.device_type == kDLCUDA;
}

std::string device_text(const DLDevice& device) {
  return device.device_type == kDLCPU    ? std::string("cpu")
         : device.device_type == kDLCUDA ? "cuda:" + std::to_string(device.device_id)
                                         : "device type " + std::to_string(device.device_type);
}

void expect_cuda_kernels(bool compiled, const DLTensor& tensor, const std::string& name,
                         const std::string& plugin) {
  if (!compiled)
    fail(LMF_ERR_UNSUPPORTED, name + " is on " + device_text(tensor.device) + ", but this build of " +
                                  plugin + " has no CUDA kernels (CPU only)");
}

DeviceDtype cuda_dtype(const DLTensor& tensor, const std::string& name, int rank) {
  if (tensor.ndim != rank)
    fail(LMF_ERR_INVALID_ARGUMENT, name + ": expected " + std::to_string(rank) +
                                       " dimensions, got " + std::to_string(tensor.ndim));
  if (!sdk::TensorView(tensor, name).contiguous())
    fail(LMF_ERR_INVALID_ARGUMENT, name + ": must be contiguous");
  const DLDataType type = tensor.dtype;
  if (type.lanes == 1 && type.bits == 32 && type.code == kDLFloat) return DeviceDtype::f32;
  if (type.lanes == 1 && type.bits == 16 && type.code == kDLFloat) return DeviceDtype::f16;
  if (type.lanes == 1 && type.bits == 16 && type.code == kDLBfloat) return DeviceDtype::bf16;
  fail(LMF_ERR_INVALID_ARGUMENT,
       name + ": expected float32, float16 or bfloat16 on CUDA, got " + sdk::dtype_name(type));
}

CudaMatmul check_cuda_matmul(const DLTensor& x, const DLTensor& y, int64_t in, int64_t out,
                             bool compiled, const std::string& plugin) {
  expect_cuda_kernels(compiled, on_cuda(x) ? x : y, on_cuda(x) ? "matmul: x" : "matmul: y", plugin);
  if (!on_cuda(x) || !on_cuda(y) || x.device.device_id != y.device.device_id)
    fail(LMF_ERR_INVALID_ARGUMENT, "matmul: x is on " + device_text(x.device) + " and y on " +
                                       device_text(y.device) + ": they must be on one device");
  const DeviceDtype x_dtype = cuda_dtype(x, "matmul: x", 2);
  const DeviceDtype y_dtype = cuda_dtype(y, "matmul: y", 2);
  if (x_dtype != y_dtype)
    fail(LMF_ERR_INVALID_ARGUMENT, "matmul: x is " + sdk::dtype_name(x.dtype) + " and y " +
                                       sdk::dtype_name(y.dtype) + ": they must have one dtype");
  const int64_t tokens = x.shape[0];
  expect_shape(x, "matmul: x [tokens, in_features]", {tokens, in});
  expect_shape(y, "matmul: y [tokens, out_features]", {tokens, out});
  return {x_dtype, tokens};
}

}  // namespace lmf::quant
