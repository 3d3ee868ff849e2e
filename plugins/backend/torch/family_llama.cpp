// Llama-2, Llama-3/3.1 (llama3 RoPE scaling is read with the common RoPE fields) and
// DeepSeek-R1-Distill-Llama. Optional biases as transformers' LlamaConfig has them.
#include "config_fields.h"
#include "families.h"

namespace lmf::torch_backend {
namespace {

void read_llama_options(const FieldReader& config, ModelConfig& out) {
  out.attention_bias = config.bool_or("attention_bias", false);
  out.mlp_bias = config.bool_or("mlp_bias", false);
  if (config.int_or("pretraining_tp", 1) != 1)
    config.bad("pretraining_tp", "other than 1 is not implemented (it only changes rounding)");
}

}  // namespace

const Family kLlamaFamily{"llama", {"LlamaForCausalLM"}, {"llama"}, &read_llama_options};

}  // namespace lmf::torch_backend
