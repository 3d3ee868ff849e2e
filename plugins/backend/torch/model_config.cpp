#include "model_config.h"

#include "config_fields.h"
#include "families.h"

#include <lmf/sdk/error.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;
using sdk::fail;

json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail(LMF_ERR_NOT_FOUND, path.string() + ": cannot open (" + std::strerror(errno) + ")");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    fail(LMF_ERR_DATA, path.string() + ": not valid JSON: " + e.what());
  }
}

// A token id field that may be an integer or a list of integers (eos_token_id).
std::vector<int64_t> token_ids(const json& value, const FieldReader& reader, const char* field) {
  std::vector<int64_t> ids;
  auto add = [&](const json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      reader.bad(field, "must be a token id or a list of them, not " + value.dump());
    ids.push_back(v.get<int64_t>());
  };
  if (value.is_array())
    for (const json& v : value) add(v);
  else if (!value.is_null())
    add(value);
  return ids;
}

// RoPE settings: transformers < 5 writes rope_theta and rope_scaling at the top level
// (rope_scaling's kind under "type" or "rope_type"); transformers ≥ 5 writes both into
// rope_parameters. Both occur in the checkpoints users have.
void read_rope(const json& config, const FieldReader& top, const std::string& origin,
               ModelConfig& out) {
  out.rope_theta = top.number_or("rope_theta", 10000.0);
  const char* scaling_field = nullptr;
  if (top.present("rope_parameters"))
    scaling_field = "rope_parameters";
  else if (top.present("rope_scaling"))
    scaling_field = "rope_scaling";
  if (scaling_field == nullptr) return;
  const json& scaling = config.at(scaling_field);
  if (!scaling.is_object()) top.bad(scaling_field, "must be an object, not " + scaling.dump());
  FieldReader reader(scaling, origin + " (" + scaling_field + ")");
  out.rope_theta = reader.number_or("rope_theta", out.rope_theta);
  RopeScaling& rope = out.rope_scaling;
  rope.type = reader.string_or("rope_type", reader.string_or("type", "default"));
  if (rope.type == "default") return;
  if (rope.type != "linear" && rope.type != "llama3")
    reader.bad("rope_type", "is \"" + rope.type +
                                "\", which this backend does not implement (it implements "
                                "default, linear and llama3)");
  rope.factor = reader.number_or("factor", 1.0);
  if (!(rope.factor > 0)) reader.bad("factor", "must be positive");
  if (rope.type == "llama3") {
    rope.low_freq_factor = reader.number_or("low_freq_factor", 1.0);
    rope.high_freq_factor = reader.number_or("high_freq_factor", 4.0);
    rope.original_max_position_embeddings =
        reader.positive_int("original_max_position_embeddings");
    if (!(rope.high_freq_factor > rope.low_freq_factor))
      reader.bad("high_freq_factor", "must be larger than low_freq_factor");
  }
}

}  // namespace

ModelConfig parse_model_config(const json& config, const std::string& origin) {
  if (!config.is_object()) fail(LMF_ERR_DATA, origin + ": must be a JSON object");
  FieldReader reader(config, origin);
  ModelConfig out;
  out.raw = config;
  out.model_type = reader.string_or("model_type", "");
  if (reader.present("architectures")) {
    const json& archs = config.at("architectures");
    if (!archs.is_array() || archs.empty() || !archs[0].is_string())
      reader.bad("architectures", "must be a list of names, not " + archs.dump());
    out.architecture = archs[0].get<std::string>();
  }
  const Family& family = find_family(out.architecture, out.model_type, origin);

  out.vocab_size = reader.positive_int("vocab_size");
  out.hidden_size = reader.positive_int("hidden_size");
  out.intermediate_size = reader.positive_int("intermediate_size");
  out.num_layers = reader.positive_int("num_hidden_layers");
  out.num_heads = reader.positive_int("num_attention_heads");
  out.num_kv_heads = reader.int_or("num_key_value_heads", out.num_heads);
  out.head_dim = reader.int_or("head_dim", out.hidden_size / out.num_heads);
  out.max_position_embeddings = reader.int_or("max_position_embeddings", 2048);
  out.rms_norm_eps = reader.number_or("rms_norm_eps", 1e-6);
  out.tie_word_embeddings = reader.bool_or("tie_word_embeddings", false);
  out.torch_dtype = reader.string_or("dtype", reader.string_or("torch_dtype", "float32"));
  if (out.num_heads % out.num_kv_heads != 0)
    reader.bad("num_key_value_heads", "(" + std::to_string(out.num_kv_heads) +
                                          ") must divide num_attention_heads (" +
                                          std::to_string(out.num_heads) + ")");
  if (!reader.present("head_dim") && out.hidden_size % out.num_heads != 0)
    reader.bad("num_attention_heads", "must divide hidden_size");
  const std::string activation = reader.string_or("hidden_act", "silu");
  if (activation != "silu") reader.bad("hidden_act", "is \"" + activation + "\"; only silu is implemented");
  read_rope(config, reader, origin, out);
  family.read_options(reader, out);
  if (reader.present("eos_token_id"))
    out.eos_token_ids = token_ids(config.at("eos_token_id"), reader, "eos_token_id");
  if (reader.present("bos_token_id"))
    out.bos_token_id = token_ids(config.at("bos_token_id"), reader, "bos_token_id").at(0);
  if (reader.present("pad_token_id"))
    out.pad_token_id = token_ids(config.at("pad_token_id"), reader, "pad_token_id").at(0);
  return out;
}

ModelConfig read_model_config(const std::string& folder) {
  namespace fs = std::filesystem;
  fs::path config_path = fs::path(folder) / "config.json";
  if (!fs::exists(config_path))
    fail(LMF_ERR_NOT_FOUND, folder + ": no config.json (a Hugging Face model folder has one)");
  ModelConfig config = parse_model_config(read_json_file(config_path), config_path.string());
  fs::path generation_path = fs::path(folder) / "generation_config.json";
  if (fs::exists(generation_path)) {
    json generation = read_json_file(generation_path);
    FieldReader reader(generation, generation_path.string());
    if (reader.present("eos_token_id"))
      config.eos_token_ids = token_ids(generation.at("eos_token_id"), reader, "eos_token_id");
    if (reader.present("bos_token_id"))
      config.bos_token_id = token_ids(generation.at("bos_token_id"), reader, "bos_token_id").at(0);
    if (reader.present("pad_token_id"))
      config.pad_token_id = token_ids(generation.at("pad_token_id"), reader, "pad_token_id").at(0);
  }
  return config;
}

}  // namespace lmf::torch_backend
