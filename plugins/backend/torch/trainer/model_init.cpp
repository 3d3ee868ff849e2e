#include "model_init.h"

#include "model_config.h"
#include "tensor_io.h"
#include "tokenizer_client.h"
#include "weights.h"

#include <lmf/sdk/error.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "train: field \"init." + field + "\" " + what);
}

int64_t positive(const json& init, const char* field, int64_t fallback) {
  if (!init.contains(field)) {
    if (fallback > 0) return fallback;
    bad(field, "is missing");
  }
  if (!init[field].is_number_integer() || init[field].get<int64_t>() <= 0)
    bad(field, "must be a positive integer, not " + init[field].dump());
  return init[field].get<int64_t>();
}

void write_json(const fs::path& path, const json& value) {
  std::ofstream out(path);
  out << value.dump(2) << "\n";
  if (!out.flush()) sdk::fail(LMF_ERR_IO, path.string() + ": write failed");
}

// The id of the first of `names` the tokenizer knows, or -1.
int64_t special_id(const TokenizerClient& tokenizer, const json& init, const char* field,
                   std::initializer_list<const char*> names) {
  if (init.contains(field)) {
    if (!init[field].is_string()) bad(field, "must be a token written as text");
    const int64_t id = tokenizer.token_id(init[field].get<std::string>());
    if (id < 0) bad(field, "\"" + init[field].get<std::string>() + "\" is not a token of the tokenizer");
    return id;
  }
  for (const char* name : names)
    if (int64_t id = tokenizer.token_id(name); id >= 0) return id;
  return -1;
}

}  // namespace

void create_model_folder(const std::string& folder, const json& init, uint64_t seed) {
  static const std::set<std::string> known = {
      "architecture", "tokenizer", "hidden_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "intermediate_size", "max_position_embeddings", "rope_theta",
      "rms_norm_eps", "tie_word_embeddings", "vocab_size", "bos_token", "eos_token"};
  for (const auto& [key, value] : init.items())
    if (!known.count(key)) bad(key, "is not a field of init");
  const std::string architecture = init.value("architecture", std::string("llama"));
  if (architecture != "llama" && architecture != "qwen2")
    bad("architecture", "is \"" + architecture + "\"; expected llama or qwen2");
  if (!init.contains("tokenizer") || !init["tokenizer"].is_string())
    bad("tokenizer", "is missing: the folder of the tokenizer.json the model will use");
  const fs::path tokenizer_folder = init["tokenizer"].get<std::string>();
  if (!fs::exists(tokenizer_folder / "tokenizer.json"))
    bad("tokenizer", tokenizer_folder.string() + " has no tokenizer.json");
  TokenizerClient tokenizer("hf", json{{"path", tokenizer_folder.string()}}.dump());

  const int64_t hidden = positive(init, "hidden_size", 0);
  const int64_t heads = positive(init, "num_attention_heads", 0);
  if (hidden % heads != 0) bad("num_attention_heads", "must divide hidden_size");
  const int64_t kv_heads = positive(init, "num_key_value_heads", heads);
  if (heads % kv_heads != 0) bad("num_key_value_heads", "must divide num_attention_heads");
  const int64_t vocab = positive(init, "vocab_size", tokenizer.vocab_size());
  if (vocab < tokenizer.vocab_size())
    bad("vocab_size", "is smaller than the tokenizer's " + std::to_string(tokenizer.vocab_size()) + " tokens");
  const int64_t bos = special_id(tokenizer, init, "bos_token", {"<bos>", "<s>", "<|begin_of_text|>", "<|endoftext|>"});
  const int64_t eos = special_id(tokenizer, init, "eos_token", {"<eos>", "</s>", "<|end_of_text|>", "<|endoftext|>"});
  if (eos < 0) bad("eos_token", "is missing and the tokenizer has none of <eos>, </s>, <|end_of_text|>, <|endoftext|>");

  json config = {
      {"architectures", {architecture == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"}},
      {"model_type", architecture},
      {"hidden_size", hidden},
      {"intermediate_size", positive(init, "intermediate_size", 0)},
      {"num_hidden_layers", positive(init, "num_hidden_layers", 0)},
      {"num_attention_heads", heads},
      {"num_key_value_heads", kv_heads},
      {"max_position_embeddings", positive(init, "max_position_embeddings", 2048)},
      {"rope_theta", init.value("rope_theta", 10000.0)},
      {"rms_norm_eps", init.value("rms_norm_eps", 1e-6)},
      {"tie_word_embeddings", init.value("tie_word_embeddings", true)},
      {"vocab_size", vocab},
      {"hidden_act", "silu"},
      {"initializer_range", 0.02},
      {"attention_dropout", 0.0},
      {"use_cache", true},
      {"torch_dtype", "float32"},
      {"eos_token_id", eos},
  };
  if (bos >= 0) config["bos_token_id"] = bos;
  if (architecture == "llama") {
    config["attention_bias"] = false;
    config["mlp_bias"] = false;
  }
  const ModelConfig parsed = parse_model_config(config, "train init");

  fs::create_directories(folder);
  Weights weights = Weights::random(parsed, torch::kCPU, torch::kFloat32, seed);
  NamedTensors tensors;
  for (const std::string& name : weights.names()) {
    torch::Tensor tensor = weights.at(name);
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) tensor = torch::zeros_like(tensor);
    tensors.emplace_back(name, tensor);
  }
  write_tensor_folder(folder, tensors, 5'000'000'000);
  write_json(fs::path(folder) / "config.json", config);
  json generation = {{"eos_token_id", eos}};
  if (bos >= 0) generation["bos_token_id"] = bos;
  write_json(fs::path(folder) / "generation_config.json", generation);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(tokenizer_folder / name))
      fs::copy_file(tokenizer_folder / name, fs::path(folder) / name, fs::copy_options::overwrite_existing);
}

}  // namespace lmf::torch_backend
