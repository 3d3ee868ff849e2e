#include "plugins/quantizer/common/borrowed_tensor.h"

#include <lmf/sdk/error.h>
#include <lmf/sdk/tensor.h>

#include <vector>

namespace lmf::quant {

using lmf::sdk::fail;

namespace {

torch::ScalarType scalar_type(DLDataType type, const std::string& what) {
  if (type.lanes == 1 && type.code == kDLFloat && type.bits == 32) return torch::kFloat32;
  if (type.lanes == 1 && type.code == kDLFloat && type.bits == 16) return torch::kFloat16;
  if (type.lanes == 1 && type.code == kDLBfloat && type.bits == 16) return torch::kBFloat16;
  if (type.lanes == 1 && type.code == kDLFloat && type.bits == 64) return torch::kFloat64;
  fail(LMF_ERR_INVALID_ARGUMENT, what + ": expected float32, float16, bfloat16 or float64, got " +
                                     lmf::sdk::dtype_name(type));
}

torch::Device device_of(DLDevice device, const std::string& what) {
  if (device.device_type == kDLCPU) return torch::kCPU;
#if LMF_TORCH_CUDA
  if (device.device_type == kDLCUDA)
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device.device_id));
  fail(LMF_ERR_UNSUPPORTED, what + ": only CPU and CUDA tensors are supported");
#else
  fail(LMF_ERR_UNSUPPORTED, what + ": only CPU tensors are supported (libtorch without CUDA)");
#endif
}

}  // namespace

torch::Tensor borrow_tensor(const DLTensor& tensor, const std::string& what) {
  const torch::ScalarType type = scalar_type(tensor.dtype, what);
  const torch::Device device = device_of(tensor.device, what);
  if (tensor.ndim < 0 || (tensor.ndim > 0 && tensor.shape == nullptr))
    fail(LMF_ERR_INVALID_ARGUMENT, what + ": bad rank or shape");
  const std::vector<int64_t> sizes(tensor.shape, tensor.shape + tensor.ndim);
  void* data = static_cast<char*>(tensor.data) + tensor.byte_offset;
  const auto options = torch::TensorOptions().dtype(type).device(device);
  if (tensor.strides == nullptr) return torch::from_blob(data, sizes, options);
  const std::vector<int64_t> strides(tensor.strides, tensor.strides + tensor.ndim);
  return torch::from_blob(data, sizes, strides, options);
}

}  // namespace lmf::quant
