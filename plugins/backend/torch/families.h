// Model families: the architectures this backend runs, and what sets them apart.
//
// Note [Families]
// Llama and Qwen2 (and the DeepSeek-R1-Distill models built on them) share one decoder
// (decoder.h): pre-norm blocks of RMSNorm, GQA attention with RoPE, SwiGLU MLP, and the
// same Hugging Face weight names. A family says which config.json architectures it
// accepts and reads its own options (biases, tied embeddings, windows) into ModelConfig.
// A new family is one small file with a `Family` and a line in families.cpp.
#pragma once

#include "model_config.h"

#include <string>
#include <vector>

namespace lmf::torch_backend {

class FieldReader;

struct Family {
  const char* name;
  std::vector<std::string> architectures;  // config.json "architectures"[0]
  std::vector<std::string> model_types;    // config.json "model_type"
  void (*read_options)(const FieldReader& config, ModelConfig& out);
};

const std::vector<const Family*>& families();

// The family of a config.json; throws naming the architecture and what is supported.
const Family& find_family(const std::string& architecture, const std::string& model_type,
                          const std::string& origin);

// One per file (family_llama.cpp, family_qwen2.cpp).
extern const Family kLlamaFamily;
extern const Family kQwen2Family;

}  // namespace lmf::torch_backend
