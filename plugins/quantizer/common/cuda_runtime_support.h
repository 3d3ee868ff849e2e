// Host-side CUDA runtime helpers the quantizers' device code shares (the GPTQ layout's
// and NF4's device layers): errors as exceptions, the current device for a scope, whether
// a stream is being captured into a graph, and host-to-device copies. Plain CUDA runtime;
// .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace lmf::quant::cuda {

// Throws std::runtime_error "WHAT: <CUDA's message>" unless `status` is cudaSuccess.
inline void check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) throw std::runtime_error(what + ": " + cudaGetErrorString(status));
}

inline std::string device_name(int device) {
  return "cuda:" + std::to_string(device);
}

// Makes `device` current for a scope, then gives the caller back its own.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) check(cudaSetDevice(device), "cudaSetDevice(" + device_name(device) + ")");
  }
  ~DeviceScope() {
    int current = previous_;
    if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

// Whether work queued on `stream` now would be recorded into a graph rather than run. A
// failed query (the legacy stream while another thread captures) counts as capturing.
inline bool capturing(void* stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(static_cast<cudaStream_t>(stream), &status) != cudaSuccess) {
    (void)cudaGetLastError();  // not left for the next launch's check to find
    return true;
  }
  return status != cudaStreamCaptureStatusNone;
}

// A new device copy of `count` elements at `host` (on the current device), or an exception
// naming the tensor `name`; nothing is left allocated when it throws.
template <class T>
T* upload(const T* host, int64_t count, const char* name) {
  if (host == nullptr)
    throw std::invalid_argument(std::string("copying the layer: the host tensor ") + name + " is null");
  void* device = nullptr;
  const size_t bytes = static_cast<size_t>(count) * sizeof(T);
  check(cudaMalloc(&device, bytes),
        std::string("copying the layer: allocating ") + name + " (" + std::to_string(bytes) + " bytes)");
  const cudaError_t copied = cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice);
  if (copied != cudaSuccess) {
    cudaFree(device);
    check(copied, std::string("copying the layer: ") + name);
  }
  return static_cast<T*>(device);
}

}  // namespace lmf::quant::cuda
