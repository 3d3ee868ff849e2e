#include "plugins/quantizer/nf4/nf4_cuda_ops.h"

#include "plugins/quantizer/common/cuda_tensor_checks.h"
#include "plugins/quantizer/common/layer_tensors.h"
#include "plugins/quantizer/nf4/nf4_device_layer.h"
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"

#include <string>

namespace lmf::quant::nf4 {

sdk::Json nf4_devices() {
  return nf4_cuda_kernels_compiled() ? sdk::Json::array({"cpu", "cuda"})
                                     : sdk::Json::array({"cpu"});
}

void dequantize_on_cuda(const Nf4Layer& layer, DLTensor& weight, void* stream) {
  const std::string name = "dequantize: weight";
  expect_cuda_kernels(nf4_cuda_kernels_compiled(), weight, name, "the nf4 plugin");
  const CudaDtype dtype = cuda_dtype(weight, name, 2);
  expect_shape(weight, name, {layer.out_features(), layer.in_features()});
  run_cuda("dequantize", [&] {
    layer.on_device(weight.device.device_id, stream)
        .dequantize(dtype, sdk::TensorView(weight, name).data<void>(), stream);
  });
}

void matmul_on_cuda(const Nf4Layer& layer, const DLTensor& x, DLTensor& y, void* stream) {
  const CudaMatmul call = check_cuda_matmul(x, y, layer.in_features(), layer.out_features(),
                                            nf4_cuda_kernels_compiled(), "the nf4 plugin");
  run_cuda("matmul", [&] {
    layer.on_device(x.device.device_id, stream)
        .matmul(call.dtype, sdk::TensorView(x, "").data<const void>(), call.tokens,
                sdk::TensorView(y, "").data<void>(), stream);
  });
}

}  // namespace lmf::quant::nf4
