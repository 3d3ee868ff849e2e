// Generation speed of the torch backend on random weights of a named shape (bf16 on CUDA):
// batch-1 and batch-N decode, and prefill. Prints one JSON line per measurement, which
// bench/run_backend_bench.sh sets beside transformers' figures from hf_decode_bench.py.
//
// decode: time(generate N new tokens) - time(generate 1) over N - 1 steps, so that the
// prefill is excluded and the per-token cost includes sampling and the host round trip
// a user pays. Roofline: bytes read per decode step (weights + the KV cache of the
// batch) / measured device copy bandwidth.
#include "generation.h"
#include "loaded_model.h"
#include "model_config.h"
#include "torch_compat.h"
#include "bench_shapes.h"
#include "kineto_trace.h"
#include "random_packed.h"

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace tb = lmf::torch_backend;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Device-to-device copy bandwidth: (read + written bytes) / time, of a 1 GiB copy.
double copy_bandwidth(torch::Device device) {
  torch::Tensor a = torch::empty({1 << 29}, torch::TensorOptions().dtype(torch::kBFloat16).device(device));
  torch::Tensor b = torch::empty_like(a);
  for (int i = 0; i < 3; ++i) b.copy_(a);
  synchronize(device);
  const int reps = 20;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) b.copy_(a);
  synchronize(device);
  return 2.0 * a.nbytes() * reps / seconds_since(start);
}

double time_generate(tb::Decoder& decoder, int64_t batch, int64_t prompt_len, int64_t new_tokens) {
  std::vector<tb::GenerationRequest> requests(batch);
  for (int64_t b = 0; b < batch; ++b) {
    requests[b].prompt.resize(prompt_len);
    for (int64_t i = 0; i < prompt_len; ++i) requests[b].prompt[i] = (b * 7919 + i * 104729) % 32000 + 100;
    requests[b].sampling.max_new_tokens = new_tokens;
    requests[b].sampling.ignore_eos = true;
  }
  synchronize(decoder.device());
  auto start = std::chrono::steady_clock::now();
  tb::generate(decoder, requests, {}, {});
  synchronize(decoder.device());
  return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: lmf_backend_decode_bench SHAPE [batch...]\n";
    return 2;
  }
  const std::string shape = argv[1];
  std::vector<int64_t> batches;
  for (int i = 2; i < argc; ++i) batches.push_back(std::stoll(argv[i]));
  if (batches.empty()) batches = {1, 32};
  torch::NoGradGuard no_grad;
  const torch::Device device = torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  const auto dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
  tb::ModelConfig config = tb::parse_model_config(lmf::bench::shape_config(shape), shape);
  // LMF_BENCH_INT4=PLUGIN_FILE (the rtn or gptq quantizer's .so): int4 decode, every
  // projection a random 4-bit group-128 layer computed by that plugin's kernels. Declared
  // before the weights: the plugin stays loaded while its layers live.
  const char* int4_plugin = std::getenv("LMF_BENCH_INT4");
  std::optional<lmf::bench::QuantizerHost> quantizer_host;
  if (int4_plugin != nullptr) quantizer_host.emplace(int4_plugin);
  tb::Weights weights = tb::Weights::random(config, device, dtype, /*seed=*/0);
  if (int4_plugin != nullptr) {
    const char* component = std::getenv("LMF_BENCH_INT4_COMPONENT");
    lmf::bench::pack_random_int4(weights, config, component != nullptr ? component : "rtn", device, dtype);
  }
  // As LoadedModel sets it up on CUDA (fused projections, CUDA graphs); LMF_BENCH_EAGER=1
  // turns both off to measure what they bring.
  const bool eager = std::getenv("LMF_BENCH_EAGER") != nullptr;
  tb::Decoder decoder(config, weights, device, /*fuse_projections=*/device.is_cuda() && !eager);
  decoder.set_cuda_graphs(!eager);
  // Note [Decode kernels]: on, as LoadedModel has them; LMF_BENCH_CUBLAS=1 measures the
  // path they replace (cuBLAS GEMVs and the fused elementwise kernels).
  const bool cublas = std::getenv("LMF_BENCH_CUBLAS") != nullptr;
  decoder.set_decode_kernels(!cublas);
  const std::string impl = std::string(eager ? "lmforge-eager" : cublas ? "lmforge-cublas" : "lmforge") +
                           (int4_plugin != nullptr ? "-int4" : "");
  const double bandwidth = copy_bandwidth(device);
  const double weight_bytes = static_cast<double>(weights.bytes());

  // With LMF_BENCH_PEAK=PROMPT: one generation of PROMPT + PROMPT tokens for the first
  // batch size, and the CUDA allocator's peak of allocated bytes — what the planner's
  // inference estimate is checked against (docs/planner.md).
  if (const char* peak = std::getenv("LMF_BENCH_PEAK")) {
    const int64_t prompt = std::stoll(peak), batch = batches.front();
    time_generate(decoder, batch, prompt, prompt);
    std::cout << json{{"impl", "lmforge"}, {"shape", shape}, {"test", "peak"}, {"batch", batch}, {"prompt", prompt},
                      {"new_tokens", prompt}, {"weight_bytes", weight_bytes},
                      {"peak_allocated_bytes", tb::compat::peak_allocated_bytes(device)}}.dump()
              << std::endl;
    return 0;
  }
  if (const auto trace = lmf::bench::trace_file()) {  // one generation of 33 tokens, graphs captured before
    time_generate(decoder, batches.front(), 128, 33);
    lmf::bench::write_kineto_trace(*trace, [&] { time_generate(decoder, batches.front(), 128, 33); });
    return 0;
  }
  for (int64_t batch : batches) {
    const int64_t prompt = 128, steps = 128;
    // Warm-up with the very calls timed below: kernels, the allocator, cuDNN's attention
    // plans and the decode graphs (kept per shape: Note [Reused decode graphs]) are made
    // before the clock runs, as a server makes them once. bench/backend/hf_decode_bench.py
    // warms transformers up the same way.
    for (int64_t new_tokens : {int64_t{1}, steps + 1, 2 * steps + 1}) time_generate(decoder, batch, prompt, new_tokens);
    const double one = time_generate(decoder, batch, prompt, 1);
    const double many = time_generate(decoder, batch, prompt, steps + 1);
    const double per_step = (many - one) / steps;
    // The same from the difference of two calls that both pay what a call pays once: a
    // check that the warm-up left nothing to the timed calls.
    const double twice = time_generate(decoder, batch, prompt, 2 * steps + 1);
    const double steady_step = (twice - many) / steps;
    // KV bytes read per step at the mean cache length during the steps.
    const double kv_bytes = 2.0 * config.num_layers * config.num_kv_heads * config.head_dim * 2 /*bf16*/ *
                            batch * (prompt + steps / 2.0);
    const double roofline = (weight_bytes + kv_bytes) / bandwidth;
    std::cout << json{{"impl", impl}, {"shape", shape}, {"test", "decode"}, {"batch", batch},
                      {"ms_per_step", per_step * 1e3}, {"tokens_per_s", batch / per_step},
                      {"steady_ms_per_step", steady_step * 1e3}, {"steady_roofline_fraction", roofline / steady_step},
                      {"roofline_ms", roofline * 1e3}, {"roofline_fraction", roofline / per_step},
                      {"copy_bandwidth_GBps", bandwidth / 1e9}, {"device", device.str()}}.dump()
              << std::endl;
  }
  {
    const int64_t batch = 1, prompt = 2048;
    time_generate(decoder, batch, prompt, 1);
    const int reps = 5;
    double total = 0;
    for (int i = 0; i < reps; ++i) total += time_generate(decoder, batch, prompt, 1);
    std::cout << json{{"impl", impl}, {"shape", shape}, {"test", "prefill"}, {"batch", batch},
                      {"prompt", prompt}, {"tokens_per_s", prompt * batch / (total / reps)},
                      {"ms", total / reps * 1e3}, {"device", device.str()}}.dump()
              << std::endl;
  }
  return 0;
}
