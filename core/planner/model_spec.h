// A decoder-only transformer as the planner sees it: the shapes that decide parameter
// counts, activation memory and the KV cache. Filled from a Hugging Face config.json
// (hf_config_reader.h), a preset (presets.h) or numbers given on the command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::planner {

enum class MlpKind {
  gated,  // SwiGLU: gate, up and down projections (Llama, Qwen2, DeepSeek)
  plain,  // GELU: up and down projections (GPT); only from the command line
};

enum class AttentionKind {
  standard,  // multi-head or grouped-query attention
  mla,       // DeepSeek-V2/V3 multi-head latent attention
};

// Multi-head latent attention (DeepSeek-V2 paper, sec. 2.1).
struct MlaSpec {
  std::int64_t q_lora_rank = 0;  // 0: queries are projected directly (V2-Lite)
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;
};

struct MoeSpec {
  std::int64_t routed_experts = 0;  // 0: a dense model
  std::int64_t experts_per_token = 0;
  std::int64_t expert_intermediate = 0;
  std::int64_t shared_experts = 0;       // as the config counts them (DeepSeek)
  std::int64_t shared_intermediate = 0;  // width of all shared experts together
  bool shared_expert_gate = false;       // Qwen2-MoE: a sigmoid gate of h parameters
  bool router_bias = false;              // DeepSeek-V3: e_score_correction_bias
  std::vector<bool> moe_layers;          // per layer: true for an MoE layer
};

struct ModelSpec {
  std::string name;    // "deepseek-r1-distill-qwen-7b", or the config file's folder name
  std::string family;  // the config's model_type: "llama", "qwen2", "deepseek_v2", ...
  std::string source;  // "preset", the config file, or "command line"

  // A bare parameter count with no architecture (--params): weights and optimizer states
  // are exact, activations and KV cache cannot be estimated.
  double bare_params = 0;

  std::int64_t vocab = 0;
  std::int64_t hidden = 0;
  std::int64_t layers = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;      // of queries and keys (standard attention)
  std::int64_t intermediate = 0;  // of the dense MLP
  bool tied_embeddings = false;
  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;  // Qwen3: RMSNorm over each query and key head
  bool dropout = false;  // GPT-style dropout after attention and MLP (command line only)
  MlpKind mlp = MlpKind::gated;
  AttentionKind attention = AttentionKind::standard;
  MlaSpec mla;
  MoeSpec moe;
  // What the reader noticed and the report should say: a quantization_config, a sliding
  // window that is not modeled, a module that is not counted.
  std::vector<std::string> notes;

  bool has_architecture() const { return bare_params <= 0; }
  bool is_moe() const { return moe.routed_experts > 0; }
  bool is_moe_layer(std::int64_t layer) const;
  std::int64_t moe_layer_count() const;
  // Per-head widths used by attention: MLA decompresses to nope + rope for q and k.
  std::int64_t qk_head_dim() const;
  std::int64_t v_head_dim() const;
  // Heads whose keys and values are cached/computed separately (MLA: all query heads).
  std::int64_t key_value_heads() const;
};

// "28 layers, hidden 3584, 28 heads (4 KV), vocab 152064" or "70 B parameters (no
// architecture)".
std::string describe_shape(const ModelSpec& spec);

}  // namespace lmf::planner
