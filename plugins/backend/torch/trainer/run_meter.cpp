#include "trainer/run_meter.h"

#include "torch_compat.h"

#include <fstream>
#include <string>

namespace lmf::torch_backend {

double flops_per_token(const ModelConfig& c, int64_t sequence_length, bool weight_gradients) {
  const double q = static_cast<double>(c.num_heads * c.head_dim), kv = static_cast<double>(c.num_kv_heads * c.head_dim);
  const double h = static_cast<double>(c.hidden_size), m = static_cast<double>(c.intermediate_size);
  const double per_layer = h * (q + 2 * kv) + q * h + 3 * h * m;
  const double matmul_weights = static_cast<double>(c.num_layers) * per_layer + static_cast<double>(c.vocab_size) * h;
  const double forward = 2 * matmul_weights + 4.0 * static_cast<double>(c.num_layers) * q * static_cast<double>(sequence_length);
  return forward * (weight_gradients ? 3.0 : 2.0);
}

double known_peak_tflops(const std::string& name) {
  struct Known {
    const char* marker;
    double tflops;
  };
  static const Known known[] = {{"H200", 989.4}, {"H100", 989.4}, {"A100", 312.0}, {"L40", 181.0},
                                {"A10", 125.0},  {"RTX 6000 Ada", 364.2}, {"4090", 165.2}, {"V100", 125.0}, {"T4", 65.0}};
  for (const Known& k : known)
    if (name.find(k.marker) != std::string::npos) return k.tflops;
  return 0.0;
}

RunMeter::RunMeter(torch::Device device, double flops_per_token, double peak_tflops)
    : device_(device), flops_per_token_(flops_per_token), peak_flops_(peak_tflops * 1e12) {
  start();
}

void RunMeter::start() {
  compat::synchronize(device_);
  started_ = std::chrono::steady_clock::now();
  tokens_ = 0;
}

double RunMeter::tokens_per_second() const {
  compat::synchronize(device_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return seconds > 0 ? static_cast<double>(tokens_) / seconds : 0.0;
}

double RunMeter::mfu() const {
  if (peak_flops_ <= 0) return 0.0;
  return tokens_per_second() * flops_per_token_ / peak_flops_;
}

double RunMeter::peak_memory_gib() const {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  if (device_.is_cuda()) return static_cast<double>(compat::peak_allocated_bytes(device_)) / kGiB;
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      status >> kib;
      return kib * 1024.0 / kGiB;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0.0;
}

}  // namespace lmf::torch_backend
