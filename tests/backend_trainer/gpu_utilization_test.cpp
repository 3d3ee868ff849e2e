// NVML's utilisation reading for the gpu/utilization alarm (trainer/gpu_utilization.h):
// on a CUDA device it must find the GPU by its bus id and read a percentage.
#include "torch_compat.h"
#include "trainer/gpu_utilization.h"

#include <gtest/gtest.h>

namespace lmf::torch_backend {
namespace {

TEST(GpuUtilization, ReadsAPercentageForTheCudaDeviceByItsBusId) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string bus_id = compat::pci_bus_id(torch::Device(torch::kCUDA, 0));
  ASSERT_EQ(bus_id.size(), 16u) << bus_id;  // DDDDDDDD:BB:DD.F
  std::optional<GpuUtilization> gpu = GpuUtilization::open(bus_id);
  ASSERT_TRUE(gpu.has_value()) << "NVML did not find " << bus_id;
  torch::Tensor a = torch::randn({4096, 4096}, torch::Device(torch::kCUDA, 0));
  for (int i = 0; i < 50; ++i) a = torch::tanh(a.mm(a));
  compat::synchronize(a.device());
  const std::optional<double> percent = gpu->percent();
  ASSERT_TRUE(percent.has_value());
  EXPECT_GE(*percent, 0.0);
  EXPECT_LE(*percent, 100.0);
}

TEST(GpuUtilization, TheCpuHasNoReading) {
  EXPECT_EQ(compat::pci_bus_id(torch::Device(torch::kCPU)), "");
  EXPECT_FALSE(GpuUtilization::open("").has_value());
}

}  // namespace
}  // namespace lmf::torch_backend
