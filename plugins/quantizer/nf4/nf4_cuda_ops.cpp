#include "plugins/quantizer/nf4/nf4_cuda_ops.h"

#include "plugins/quantizer/common/layer_tensors.h"
#include "plugins/quantizer/nf4/nf4_device_layer.h"
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"

#include <stdexcept>
#include <string>

namespace lmf::quant::nf4 {
namespace {

using sdk::fail;

std::string device_text(const DLDevice& device) {
  return device.device_type == kDLCPU    ? std::string("cpu")
         : device.device_type == kDLCUDA ? "cuda:" + std::to_string(device.device_id)
                                         : "device type " + std::to_string(device.device_type);
}

// Refuses a CUDA tensor where this build has no CUDA kernels, naming the op and the device.
void expect_cuda_kernels(const DLTensor& tensor, const std::string& name) {
  if (!nf4_cuda_kernels_compiled())
    fail(LMF_ERR_UNSUPPORTED,
         name + " is on " + device_text(tensor.device) +
             ", but this build of the nf4 plugin has no CUDA kernels (CPU only)");
}

// The kernels' type of a contiguous CUDA tensor of `rank` dimensions in float32, float16 or
// bfloat16; anything else is refused, naming the tensor.
CudaDtype cuda_dtype(const DLTensor& tensor, const std::string& name, int rank) {
  if (tensor.ndim != rank)
    fail(LMF_ERR_INVALID_ARGUMENT, name + ": expected " + std::to_string(rank) +
                                       " dimensions, got " + std::to_string(tensor.ndim));
  if (!sdk::TensorView(tensor, name).contiguous())
    fail(LMF_ERR_INVALID_ARGUMENT, name + ": must be contiguous");
  const DLDataType type = tensor.dtype;
  if (type.lanes == 1 && type.bits == 32 && type.code == kDLFloat) return CudaDtype::f32;
  if (type.lanes == 1 && type.bits == 16 && type.code == kDLFloat) return CudaDtype::f16;
  if (type.lanes == 1 && type.bits == 16 && type.code == kDLBfloat) return CudaDtype::bf16;
  fail(LMF_ERR_INVALID_ARGUMENT,
       name + ": expected float32, float16 or bfloat16 on CUDA, got " + sdk::dtype_name(type));
}

// Runs `body`, turning what the kernels and the device copy throw into statuses with `op` in
// front: bad arguments, a first use inside a graph capture (unsupported: call once before
// capturing), CUDA's failures.
template <class Body>
void run_cuda(const char* op, Body&& body) {
  try {
    body();
  } catch (const sdk::Error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    fail(LMF_ERR_INVALID_ARGUMENT, std::string(op) + ": " + e.what());
  } catch (const Nf4CaptureError& e) {
    fail(LMF_ERR_UNSUPPORTED, std::string(op) + ": " + e.what());
  } catch (const std::runtime_error& e) {
    fail(LMF_ERR_INTERNAL, std::string(op) + ": " + e.what());
  }
}

}  // namespace

bool on_cuda(const DLTensor& tensor) {
  return tensor.device.device_type == kDLCUDA;
}

sdk::Json nf4_devices() {
  return nf4_cuda_kernels_compiled() ? sdk::Json::array({"cpu", "cuda"})
                                     : sdk::Json::array({"cpu"});
}

void dequantize_on_cuda(const Nf4Layer& layer, DLTensor& weight, void* stream) {
  const std::string name = "dequantize: weight";
  expect_cuda_kernels(weight, name);
  const CudaDtype dtype = cuda_dtype(weight, name, 2);
  expect_shape(weight, name, {layer.out_features(), layer.in_features()});
  run_cuda("dequantize", [&] {
    layer.on_device(weight.device.device_id, stream)
        .dequantize(dtype, sdk::TensorView(weight, name).data<void>(), stream);
  });
}

void matmul_on_cuda(const Nf4Layer& layer, const DLTensor& x, DLTensor& y, void* stream) {
  expect_cuda_kernels(on_cuda(x) ? x : y, on_cuda(x) ? "matmul: x" : "matmul: y");
  if (!on_cuda(x) || !on_cuda(y) || x.device.device_id != y.device.device_id)
    fail(LMF_ERR_INVALID_ARGUMENT, "matmul: x is on " + device_text(x.device) + " and y on " +
                                       device_text(y.device) + ": they must be on one device");
  const CudaDtype x_dtype = cuda_dtype(x, "matmul: x", 2);
  const CudaDtype y_dtype = cuda_dtype(y, "matmul: y", 2);
  if (x_dtype != y_dtype)
    fail(LMF_ERR_INVALID_ARGUMENT, "matmul: x is " + sdk::dtype_name(x.dtype) + " and y " +
                                       sdk::dtype_name(y.dtype) + ": they must have one dtype");
  const int64_t tokens = x.shape[0];
  expect_shape(x, "matmul: x [tokens, in_features]", {tokens, layer.in_features()});
  expect_shape(y, "matmul: y [tokens, out_features]", {tokens, layer.out_features()});
  run_cuda("matmul", [&] {
    layer.on_device(x.device.device_id, stream)
        .matmul(x_dtype, sdk::TensorView(x, "").data<const void>(), tokens,
                sdk::TensorView(y, "").data<void>(), stream);
  });
}

}  // namespace lmf::quant::nf4
