// Qwen2/Qwen2.5 and DeepSeek-R1-Distill-Qwen: biases on q/k/v (never on o_proj), usually
// tied embeddings in the small sizes. Sliding-window layers are refused until the
// Mistral-style window lands (they are off in every released Qwen2 checkpoint).
#include "config_fields.h"
#include "families.h"

namespace lmf::torch_backend {
namespace {

void read_qwen2_options(const FieldReader& config, ModelConfig& out) {
  out.attention_bias = true;
  out.qkv_bias_only = true;
  if (config.bool_or("use_sliding_window", false))
    config.bad("use_sliding_window", "is true; sliding-window attention is not implemented yet");
}

}  // namespace

const Family kQwen2Family{"qwen2", {"Qwen2ForCausalLM"}, {"qwen2"}, &read_qwen2_options};

}  // namespace lmf::torch_backend
