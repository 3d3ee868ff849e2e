// The decode steps of a generation after its prefill: one token per sequence in, fp32
// logits [B, vocab] on the CPU out. Eager on the CPU; on CUDA (when allowed) a static
// step captured as a CUDA graph and replayed (Note [Static decode step]).
#pragma once

#include "decoder.h"
#include "kv_cache.h"
#include "torch_compat.h"

#include <torch/torch.h>

#include <vector>

namespace lmf::torch_backend {

class DecodeStepper {
 public:
  // `positions` [B,1]: the positions of the prompts' last tokens; `key_valid` [B, capacity]
  // bool: false at left-padding slots; `padded`: whether any row has padding; the cache
  // holds the prefill.
  DecodeStepper(Decoder& decoder, KvCache& cache, torch::Tensor positions, torch::Tensor key_valid,
                bool padded, bool use_graph);

  // Feeds one token per sequence; returns the next logits [B, vocab] (fp32, CPU).
  torch::Tensor step(const std::vector<int64_t>& tokens);

  bool uses_graph() const { return use_graph_; }

 private:
  void static_step();  // what the graph records: reads ids_, writes logits_

  Decoder& decoder_;
  KvCache& cache_;
  torch::Tensor positions_, key_valid_, ids_, slot_, logits_;
  bool padded_;
  bool use_graph_;
  bool captured_ = false;
  compat::StepGraph graph_;
};

}  // namespace lmf::torch_backend
