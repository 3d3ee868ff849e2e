// GptqDeviceLayer in a build without the GPTQ CUDA kernels (as
// gptq_kernels_cuda_unavailable.cpp): the same symbols, and none can be made.
#include "plugins/quantizer/common/gptq_device_layer.h"

#include <stdexcept>

namespace lmf::quant {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("GPTQ device layers used in a build without the GPTQ CUDA kernels");
}
}  // namespace

GptqDeviceLayer::GptqDeviceLayer(const GptqView&, int, void*) {
  unavailable();
}

GptqDeviceLayer::~GptqDeviceLayer() = default;

void GptqDeviceLayer::dequantize(DeviceDtype, void*, void*) const {
  unavailable();
}

void GptqDeviceLayer::matmul(DeviceDtype, const void*, int64_t, DeviceDtype, void*, void*) {
  unavailable();
}

const GptqDeviceLayer::Plans& GptqDeviceLayer::plans_for(DeviceDtype) {
  unavailable();
}

}  // namespace lmf::quant
