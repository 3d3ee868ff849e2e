// Throughput and efficiency of a training run: tokens per second, model FLOPs
// utilisation (MFU) against the device's peak, peak memory.
#pragma once

#include "model_config.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>

namespace lmf::torch_backend {

// Note [Counting FLOPs]: per trained token, a forward pass costs 2 FLOPs per weight of
// the matmuls (the LM head included, the embedding lookup not) plus attention's
// 4·layers·hidden·T (scores and values, causal halving ignored, as PaLM's appendix B);
// backward costs twice the forward with weight gradients (full fine-tuning: 6·N), and
// once the forward without them (LoRA: 4·N, the adapters' own FLOPs neglected).
// Recomputation under activation checkpointing is not counted (MFU, not HFU).
double flops_per_token(const ModelConfig& config, int64_t sequence_length, bool weight_gradients);

// Dense bf16 tensor-core TFLOPS of a GPU by its name (H100/H200 SXM 989, A100 312, …), or
// 0 when unknown (MFU is then not reported unless the config gives peak_tflops).
double known_peak_tflops(const std::string& device_name);

class RunMeter {
 public:
  RunMeter(torch::Device device, double flops_per_token, double peak_tflops);

  // Marks the start of a measured interval (after the first step: warm-up excluded).
  void start();
  void add_tokens(int64_t tokens) { tokens_ += tokens; }
  double tokens_per_second() const;
  // Fraction of the peak; 0 when the peak is unknown.
  double mfu() const;
  // Peak memory in GiB: the CUDA allocator's peak on a GPU, the process's peak resident
  // size on the CPU.
  double peak_memory_gib() const;

 private:
  torch::Device device_;
  double flops_per_token_, peak_flops_;
  std::chrono::steady_clock::time_point started_;
  int64_t tokens_ = 0;
};

}  // namespace lmf::torch_backend
