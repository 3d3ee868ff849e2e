// The GPU's utilisation as nvidia-smi shows it, through NVML, for the seed's alarm on
// `gpu/utilization` (below 70 %: the GPU waits for data or the host; above 98 %: saturated).
#pragma once

#include <optional>
#include <string>

namespace lmf::torch_backend {

// Note [NVML without linking it]: libnvidia-ml.so.1 comes with the driver, not with CUDA's
// toolkit, and the machines that build lmforge have no driver. So the library is opened
// at run time and the four functions used are declared here from NVML's stable C API
// (nvml.h); without the library or a GPU there is simply no reading.
class GpuUtilization {
 public:
  // Opens NVML for the GPU with this PCI bus id (compat::pci_bus_id); std::nullopt when
  // NVML or the GPU is not there.
  static std::optional<GpuUtilization> open(const std::string& pci_bus_id);

  GpuUtilization(GpuUtilization&& other) noexcept;
  GpuUtilization& operator=(GpuUtilization&&) = delete;
  GpuUtilization(const GpuUtilization&) = delete;
  ~GpuUtilization();

  // Percent of the last sample period (1/6 s to 1 s, by GPU) in which a kernel ran.
  std::optional<double> percent() const;

 private:
  struct Api;
  GpuUtilization(void* library, const Api* api, void* device) : library_(library), api_(api), device_(device) {}
  void* library_ = nullptr;
  const Api* api_ = nullptr;
  void* device_ = nullptr;
};

}  // namespace lmf::torch_backend
