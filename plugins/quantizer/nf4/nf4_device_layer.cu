// Nf4DeviceLayer (Note [NF4 device layers] in nf4_device_layer.h). Host code only: the
// kernels are nf4_kernels_cuda.cu's.
#include "plugins/quantizer/nf4/nf4_device_layer.h"

#include "plugins/quantizer/common/cuda_runtime_support.h"

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace lmf::quant::nf4 {
namespace {

using cuda::capturing;
using cuda::check;
using cuda::device_name;
using cuda::DeviceScope;

using cuda::upload;

void free_view(Nf4StoredView& view) {
  cudaFree(const_cast<uint8_t*>(view.packed));
  cudaFree(const_cast<float*>(view.absmax));
  cudaFree(const_cast<uint8_t*>(view.absmax_codes));
  cudaFree(const_cast<float*>(view.nested_absmax));
  cudaFree(const_cast<float*>(view.nested_map));
  view.packed = view.absmax_codes = nullptr;
  view.absmax = view.nested_absmax = view.nested_map = nullptr;
}

}  // namespace

Nf4DeviceLayer::Nf4DeviceLayer(const Nf4StoredView& host, int device, void* stream)
    : device_(device) {
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device < 0 || device >= count)
    throw std::invalid_argument(device_name(device) + " does not exist (" + std::to_string(count) +
                                " CUDA devices)");
  if (host.out_features <= 0 || host.in_features <= 0 || host.block_size <= 0 ||
      host.elements() % host.block_size != 0 || host.elements() % 2 != 0 ||
      (host.double_quant && host.nested_block_size <= 0))
    throw std::invalid_argument("copying the layer: shape [" + std::to_string(host.out_features) +
                                ", " + std::to_string(host.in_features) + "], block size " +
                                std::to_string(host.block_size) + " is not an NF4 layout");
  DeviceScope scope(device);
  if (capturing(stream))
    throw Nf4CaptureError(
        "the layer's first call on " + device_name(device) +
        " copies it there, which cannot happen while the stream is being captured into a CUDA "
        "graph: call it once before capturing (Note [NF4 device layers])");
  view_ = host;
  view_.packed = view_.absmax_codes = nullptr;
  view_.absmax = view_.nested_absmax = view_.nested_map = nullptr;
  try {
    view_.packed = upload(host.packed, host.elements() / 2, "weight");
    if (host.double_quant) {
      view_.absmax_codes = upload(host.absmax_codes, host.blocks(), "absmax");
      view_.nested_absmax = upload(host.nested_absmax, host.nested_blocks(), "nested_absmax");
      view_.nested_map = upload(host.nested_map, 256, "nested_quant_map");
    } else {
      view_.absmax = upload(host.absmax, host.blocks(), "absmax");
    }
    // cudaMemcpy from pageable memory may return before the copy lands, ordered on the
    // legacy stream only: wait, so that any stream may read the tensors.
    check(cudaDeviceSynchronize(), "copying the layer to " + device_name(device));
  } catch (...) {
    free_view(view_);
    throw;
  }
}

Nf4DeviceLayer::~Nf4DeviceLayer() {
  int previous = 0;
  const bool restore = cudaGetDevice(&previous) == cudaSuccess;
  if (cudaSetDevice(device_) == cudaSuccess) free_view(view_);
  if (restore) cudaSetDevice(previous);
}

void Nf4DeviceLayer::dequantize(CudaDtype dtype, void* weight, void* stream) const {
  DeviceScope scope(device_);
  nf4_dequantize_cuda(view_, dtype, weight, stream);
}

void Nf4DeviceLayer::matmul(CudaDtype dtype, const void* x, int64_t tokens, void* y,
                            void* stream) const {
  DeviceScope scope(device_);
  nf4_matmul_cuda(view_, dtype, x, tokens, y, stream);
}

}  // namespace lmf::quant::nf4
