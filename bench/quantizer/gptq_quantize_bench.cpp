// GPTQ of a random model of a named shape through the quantize driver that `lmforge
// quantize` runs (quantize_model: calibration forward passes block by block, Hessians and
// solves in the gptq plugin, the folder written), on the GPU when there is one (Note
// [Calibration on the device]). Prints one JSON line: wall seconds from the first
// calibration pass to the written folder, and the CUDA allocator's peak.
//   lmf_gptq_quantize_bench SHAPE GPTQ_PLUGIN_SO OUT_DIR [SAMPLES 128] [SEQ 2048]
#include "bench_shapes.h"
#include "loaded_model.h"
#include "model_config.h"
#include "quantize/quantize_config.h"
#include "quantize/quantize_model.h"
#include "random_packed.h"
#include "tests/hosts/random_shards.h"
#include "torch_compat.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace tb = lmf::torch_backend;
using nlohmann::json;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: lmf_gptq_quantize_bench SHAPE GPTQ_PLUGIN_SO OUT_DIR [SAMPLES] [SEQ] [LAYERS] [cpu]\n";
    return 2;
  }
  if (argc > 7 && std::string(argv[7]) != "cpu") {
    std::cerr << "lmf_gptq_quantize_bench: the 7th argument is `cpu` (the model in host memory) or absent, got "
              << argv[7] << "\n";
    return 2;
  }
  const std::string shape = argv[1];
  const std::filesystem::path out = argv[3];
  const int64_t samples = argc > 4 ? std::stoll(argv[4]) : 128;
  const int64_t seq = argc > 5 ? std::stoll(argv[5]) : 2048;
  const int64_t layers = argc > 6 ? std::stoll(argv[6]) : 0;
  const bool staged = argc > 7 && std::string(argv[7]) == "cpu";
  const torch::Device gpu = torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  const torch::Device device = staged ? torch::Device(torch::kCPU) : gpu;
  const auto dtype = gpu.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
  json shape_config = lmf::bench::shape_config(shape);
  if (layers > 0) shape_config["num_hidden_layers"] = layers;

  lmf::bench::QuantizerHost host(argv[2]);  // outlives the model and the driver's client
  tb::LoadedModel model;
  model.folder = "(random " + shape + ")";
  model.config = tb::parse_model_config(shape_config, shape);
  model.weights = tb::Weights::random(model.config, device, dtype, /*seed=*/0);
  model.decoder = std::make_unique<tb::Decoder>(model.config, model.weights, device, /*fuse_projections=*/false);

  // Documents a little longer than a block, so that every calibration block is whole.
  std::filesystem::remove_all(out);
  lmf::cli_test::write_random_shards(out / "shards", model.config.vocab_size, static_cast<uint64_t>(samples),
                                     static_cast<size_t>(seq + seq / 8));
  tb::QuantizeConfig config;
  config.quantizer = "gptq";
  config.quantizer_config = {{"bits", 4}, {"group_size", 128}};
  config.output = (out / "gptq4").string();
  config.calibration_shards = (out / "shards").string();
  config.samples = samples;
  config.seq_length = seq;
  if (staged) config.calibration_device = gpu.str();
  lmf::bench::reset_peak_memory(gpu);
  const auto start = std::chrono::steady_clock::now();
  const json summary = tb::quantize_model(model, config);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << json{{"impl", "lmforge"}, {"shape", shape}, {"quantizer", "gptq"}, {"bits", 4}, {"group_size", 128},
                    {"samples", samples}, {"seq", seq}, {"layers", model.config.num_layers},
                    {"model_on", device.str()}, {"seconds", seconds},
                    {"peak_gpu_memory_gib", static_cast<double>(tb::compat::peak_allocated_bytes(gpu)) / (1 << 30)},
                    {"modules", summary.value("modules", 0)}, {"device", tb::compat::device_name(gpu)}}.dump()
            << std::endl;
  return 0;
}
