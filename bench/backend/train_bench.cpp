// Training speed of the torch backend on random weights of a named shape (bf16 weights
// with fp32 master weights and moments on CUDA): full fine-tuning or LoRA r=16 on all
// projections, sequences of SEQ tokens. Prints one JSON line, which
// bench/run_train_bench.sh sets beside transformers' (+ PEFT) figures from hf_train_bench.py.
//
// tokens/s over the steps after two warm-up steps; MFU by Note [Counting FLOPs]
// (trainer/run_meter.h) against the GPU's dense bf16 peak; peak memory: the CUDA caching
// allocator's peak of allocated bytes over the whole run (torch.cuda.max_memory_allocated).
// qlora (LMF_BENCH_NF4=the nf4 quantizer's .so): the random bf16 weights made on the CPU,
// every projection quantized to NF4 as a model loads with quantize_on_load (Note [Quantized
// on load]), LoRA r=16 beside the packed base.
#include "bench_shapes.h"
#include "kineto_trace.h"
#include "loaded_model.h"
#include "model_config.h"
#include "quantize/quantize_on_load.h"
#include "random_packed.h"
#include "torch_compat.h"
#include "trainer/batches.h"
#include "trainer/run_meter.h"
#include "trainer/step_loss.h"
#include "trainer/trainable.h"
#include "training/adamw.h"
#include "training/grad_clip.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace tb = lmf::torch_backend;
using nlohmann::json;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: lmf_backend_train_bench SHAPE full|lora|qlora [SEQ] [MICRO_BATCH] [STEPS] [checkpointing 0|1]\n";
    return 2;
  }
  const std::string shape = argv[1], method = argv[2];
  const int64_t seq = argc > 3 ? std::stoll(argv[3]) : 2048;
  const int64_t micro_batch = argc > 4 ? std::stoll(argv[4]) : 4;
  const int64_t steps = argc > 5 ? std::stoll(argv[5]) : 8;
  const bool checkpointing = argc > 6 && std::string(argv[6]) == "1";
  const torch::Device device = torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  const auto dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;

  std::optional<lmf::bench::QuantizerHost> quantizer_host;  // outlives the packed layers
  tb::LoadedModel model;
  model.folder = "(random " + shape + ")";
  model.config = tb::parse_model_config(lmf::bench::shape_config(shape), shape);
  if (method == "qlora") {
    const char* nf4 = std::getenv("LMF_BENCH_NF4");
    if (nf4 == nullptr) {
      std::cerr << "qlora needs LMF_BENCH_NF4=the nf4 quantizer plugin's .so\n";
      return 2;
    }
    quantizer_host.emplace(nf4);
    // Made on the device (random numbers on the CPU would take minutes), each module copied
    // to the CPU as quantize_on_load reads it; the peak is counted from after the load, when
    // only the packed base is left, as it is when a checkpoint loads from its mapped files.
    model.weights = tb::Weights::random(model.config, device, dtype, /*seed=*/0);
    tb::quantize_modules_on_load(model.weights, model.config, "nf4", json::object(), device, dtype);
    lmf::bench::reset_peak_memory(device);
  } else {
    model.weights = tb::Weights::random(model.config, device, dtype, /*seed=*/0);
  }
  model.decoder = std::make_unique<tb::Decoder>(model.config, model.weights, device, /*fuse_projections=*/method == "lora");
  model.decoder->set_activation_checkpointing(checkpointing);
  std::unique_ptr<tb::TrainableWeights> trainable;
  if (method == "full") {
    trainable = tb::full_weights(model);
  } else {
    tb::LoraSettings lora;
    lora.rank = 16;
    lora.alpha = 32;
    trainable = tb::lora_weights(model, lora, /*seed=*/0);
  }
  tb::AdamW optimizer(trainable->parameters(), tb::AdamWSettings{});
  const std::vector<torch::Tensor> parameters = optimizer.parameters();

  tb::Batch batch;
  batch.ids = torch::randint(100, model.config.vocab_size - 100, {micro_batch, seq},
                             torch::TensorOptions().dtype(torch::kInt64).device(device));
  batch.labels = torch::cat({batch.ids.narrow(1, 1, seq - 1),
                             torch::full({micro_batch, 1}, tb::kIgnore, batch.ids.options())}, 1);
  auto step = [&] {
    tb::MicroBatchLoss loss = tb::language_model_loss(*model.decoder, batch, 4096);
    (loss.sum / static_cast<double>(micro_batch * (seq - 1))).backward();
    optimizer.step(1e-5, tb::clip_coefficient(parameters, 1.0).coefficient);  // clipped as it reads the grads
    optimizer.zero_grad();
    return loss.sum;
  };
  const double peak_tflops = tb::known_peak_tflops(tb::compat::device_name(device));
  tb::RunMeter meter(device, tb::flops_per_token(model.config, seq, method == "full"), peak_tflops);
  for (int i = 0; i < 2; ++i) step();
  if (const auto trace = lmf::bench::trace_file()) {  // two steps after the warm-up
    lmf::bench::write_kineto_trace(*trace, [&] {
      for (int i = 0; i < 2; ++i) step();
      torch::cuda::synchronize();
    });
    return 0;
  }
  meter.start();
  torch::Tensor last;
  for (int64_t i = 0; i < steps; ++i) {
    last = step();
    meter.add_tokens(micro_batch * seq);
  }
  // The packed base lives in the plugin's own device memory, outside libtorch's allocator.
  const double packed_gib = static_cast<double>(lmf::bench::packed_bytes(model.weights, model.config)) / (1 << 30);
  std::cout << json{{"impl", "lmforge"}, {"shape", shape}, {"method", method}, {"seq", seq},
                    {"micro_batch", micro_batch}, {"activation_checkpointing", checkpointing},
                    {"tokens_per_s", meter.tokens_per_second()}, {"mfu", meter.mfu()},
                    {"peak_memory_gib", meter.peak_memory_gib() + packed_gib},
                    {"packed_base_gib", packed_gib}, {"loss", last.item<double>() / (micro_batch * (seq - 1))},
                    {"trainable_parameters", trainable->parameter_count()},
                    {"device", tb::compat::device_name(device)}}.dump()
            << std::endl;
  return 0;
}
