// Nf4DeviceLayer in a build without the NF4 CUDA kernels (as nf4_kernels_cuda_unavailable.cpp):
// the same symbols, and none can be made.
#include "plugins/quantizer/nf4/nf4_device_layer.h"

#include <stdexcept>

namespace lmf::quant::nf4 {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("NF4 device layers used in a build without the NF4 CUDA kernels");
}
}  // namespace

Nf4DeviceLayer::Nf4DeviceLayer(const Nf4StoredView&, int, void*) {
  unavailable();
}

Nf4DeviceLayer::~Nf4DeviceLayer() = default;

void Nf4DeviceLayer::dequantize(CudaDtype, void*, void*) const {
  unavailable();
}

void Nf4DeviceLayer::matmul(CudaDtype, const void*, int64_t, void*, void*) const {
  unavailable();
}

}  // namespace lmf::quant::nf4
