#include "random_packed.h"

#include "core/plugin/host_api.h"
#include "core/plugin/host_services.h"
#include "core/plugin/loaded_plugin.h"
#include "core/plugin/registry.h"
#include "quantize/packed_linear.h"
#include "quantize/quantizer_client.h"

#include <lmf/sdk/host.h>

#if LMF_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <climits>
#include <iostream>

namespace lmf::bench {
namespace {

namespace tb = lmf::torch_backend;

// Logs to stderr; no metrics, progress or configuration.
class StderrServices final : public plugin::HostServices {
 public:
  void log(lmf_log_level, std::string_view source, std::string_view message) override {
    std::cerr << source << ": " << message << "\n";
  }
  void metric(std::string_view, std::string_view, double, int64_t) override {}
  uint64_t progress_begin(std::string_view, std::string_view, int64_t, std::string_view) override { return 0; }
  void progress_advance(uint64_t, int64_t) override {}
  void progress_end(uint64_t) override {}
  bool cancelled() override { return false; }
  std::optional<std::string> config_value(std::string_view) override { return std::nullopt; }
};

constexpr int64_t kGroup = 128;
constexpr const char* kProjections[] = {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj",
                                        ".self_attn.o_proj", ".mlp.gate_proj",    ".mlp.up_proj",
                                        ".mlp.down_proj"};

// The GPTQ tensors of a random symmetric 4-bit layer [out, in], groups of 128 in order.
std::vector<std::pair<std::string, torch::Tensor>> random_gptq_layer(int64_t out, int64_t in) {
  const int64_t groups = in / kGroup;
  const auto i32 = torch::TensorOptions().dtype(torch::kInt32);
  return {{"qweight", torch::randint(INT32_MIN, INT32_MAX, {in / 8, out}, i32)},
          {"qzeros", torch::full({groups, out / 8}, 0x77777777, i32)},  // zero 8, stored as 7
          {"scales", (torch::rand({groups, out}) * 0.002 + 0.001).to(torch::kFloat16)},
          {"g_idx", torch::arange(in, i32).div(kGroup, "floor").to(torch::kInt32)}};
}

}  // namespace

struct QuantizerHost::State {
  StderrServices services;
  plugin::PluginRegistry registry{services};
  lmf_host host{};
};

QuantizerHost::QuantizerHost(const std::string& plugin_file) : state_(std::make_unique<State>()) {
  state_->registry.load_file(plugin_file);
  state_->host.services = &state_->services;
  state_->host.registry = &state_->registry;
  sdk::g_host_context = {plugin::host_api(), &state_->host};
}

QuantizerHost::~QuantizerHost() { sdk::g_host_context = {}; }

void pack_random_int4(tb::Weights& weights, const tb::ModelConfig& config, const std::string& component,
                      torch::Device device, torch::ScalarType dtype) {
  auto quantizer = std::make_shared<const tb::QuantizerClient>(component, nlohmann::json::object());
  const nlohmann::json format = {{"format", "gptq"}, {"bits", 4}, {"group_size", kGroup}, {"sym", true},
                                 {"desc_act", false}};
  const int64_t matmul_tokens = quantizer->capabilities().value("matmul_tokens", int64_t{8});
  torch::manual_seed(0);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    for (const char* module : kProjections) {
      const std::string name = p + module;
      const torch::Tensor dense = weights.at(name + ".weight");
      tb::QuantizedLayer layer = quantizer->import_layer(random_gptq_layer(dense.size(0), dense.size(1)), format);
      weights.erase(name + ".weight");
      weights.add_packed(name, std::make_shared<tb::PackedLinear>(quantizer, std::move(layer), matmul_tokens,
                                                                  device, dtype));
    }
  }
}

size_t packed_bytes(const tb::Weights& weights, const tb::ModelConfig& config) {
  size_t total = 0;
  for (int64_t i = 0; i < config.num_layers; ++i)
    for (const char* module : kProjections)
      if (auto packed = weights.packed("model.layers." + std::to_string(i) + module)) total += packed->bytes();
  return total;
}

void reset_peak_memory(torch::Device device) {
#if LMF_TORCH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
  (void)device;
}

}  // namespace lmf::bench
