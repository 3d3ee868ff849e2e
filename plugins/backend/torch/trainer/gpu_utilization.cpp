#include "trainer/gpu_utilization.h"

#include <dlfcn.h>

namespace lmf::torch_backend {
namespace {

// From nvml.h (Note [NVML without linking it]); 0 is NVML_SUCCESS.
struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};
using NvmlInit = int (*)();
using NvmlShutdown = int (*)();
using NvmlHandleByBusId = int (*)(const char*, void**);
using NvmlUtilizationRates = int (*)(void*, NvmlUtilization*);

}  // namespace

struct GpuUtilization::Api {
  NvmlShutdown shutdown;
  NvmlUtilizationRates utilization;
};

std::optional<GpuUtilization> GpuUtilization::open(const std::string& pci_bus_id) {
  if (pci_bus_id.empty()) return std::nullopt;
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return std::nullopt;
  auto init = reinterpret_cast<NvmlInit>(dlsym(library, "nvmlInit_v2"));
  auto by_bus_id = reinterpret_cast<NvmlHandleByBusId>(dlsym(library, "nvmlDeviceGetHandleByPciBusId_v2"));
  static Api api{};
  api.shutdown = reinterpret_cast<NvmlShutdown>(dlsym(library, "nvmlShutdown"));
  api.utilization = reinterpret_cast<NvmlUtilizationRates>(dlsym(library, "nvmlDeviceGetUtilizationRates"));
  void* device = nullptr;
  if (init == nullptr || by_bus_id == nullptr || api.shutdown == nullptr || api.utilization == nullptr ||
      init() != 0) {
    dlclose(library);
    return std::nullopt;
  }
  if (by_bus_id(pci_bus_id.c_str(), &device) != 0) {
    api.shutdown();
    dlclose(library);
    return std::nullopt;
  }
  return GpuUtilization(library, &api, device);
}

GpuUtilization::GpuUtilization(GpuUtilization&& other) noexcept
    : library_(other.library_), api_(other.api_), device_(other.device_) {
  other.library_ = nullptr;
}

GpuUtilization::~GpuUtilization() {
  if (library_ == nullptr) return;
  api_->shutdown();
  dlclose(library_);
}

std::optional<double> GpuUtilization::percent() const {
  NvmlUtilization rates{};
  if (library_ == nullptr || api_->utilization(device_, &rates) != 0) return std::nullopt;
  return static_cast<double>(rates.gpu);
}

}  // namespace lmf::torch_backend
