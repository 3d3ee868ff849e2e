#include "quantize/quantize_model.h"

#include "quantize/quantizer_client.h"
#include "save_model.h"
#include "trainer/training_examples.h"

#include <lmf/sdk/host.h>

#include <cmath>
#include <functional>
#include <map>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

// Hands a projection's inputs to the quantizer and adds nothing to its output.
class ObservingAdapter final : public LinearAdapter {
 public:
  ObservingAdapter(const QuantizerClient& quantizer, std::string name, int64_t out_features)
      : quantizer_(quantizer), name_(std::move(name)), out_features_(out_features) {}
  torch::Tensor operator()(const torch::Tensor& x) const override {
    quantizer_.observe(name_, x.reshape({-1, x.size(-1)}));
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = out_features_;
    return torch::zeros(shape, x.options());
  }

 private:
  const QuantizerClient& quantizer_;
  std::string name_;
  int64_t out_features_;
};

struct Projection {
  std::string name;  // "model.layers.3.self_attn.q_proj"
  Linear* linear;
};

// The block's projections in the order of Note [Sequential groups], named as checkpoints name them.
std::vector<std::vector<Projection>> sequential_groups(DecoderLayer& layer, int64_t index,
                                                       const std::vector<std::string>& modules, bool sequential) {
  const std::string prefix = "model.layers." + std::to_string(index) + ".";
  const std::vector<std::vector<std::pair<std::string, Linear*>>> order = {
      {{"self_attn.q_proj", &layer.q_proj}, {"self_attn.k_proj", &layer.k_proj}, {"self_attn.v_proj", &layer.v_proj}},
      {{"self_attn.o_proj", &layer.o_proj}},
      {{"mlp.gate_proj", &layer.gate_proj}, {"mlp.up_proj", &layer.up_proj}},
      {{"mlp.down_proj", &layer.down_proj}}};
  std::vector<std::vector<Projection>> groups;
  for (const auto& group : order) {
    std::vector<Projection> chosen;
    for (const auto& [name, linear] : group) {
      const std::string module = name.substr(name.find('.') + 1);
      if (std::find(modules.begin(), modules.end(), module) != modules.end()) chosen.push_back({prefix + name, linear});
    }
    if (chosen.empty()) continue;
    if (sequential || groups.empty()) groups.push_back(std::move(chosen));
    else groups.front().insert(groups.front().end(), chosen.begin(), chosen.end());
  }
  return groups;
}

// The calibration batches: `samples` blocks of seq_length tokens, spread evenly over the
// split so that they do not all come from its first documents.
std::vector<torch::Tensor> calibration_batches(const QuantizeConfig& config, int64_t vocab_size) {
  if (config.calibration_shards.empty())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              "quantize: field \"calibration.shards\" is missing: this quantizer calibrates on samples (data prepare's shards)");
  std::unique_ptr<ExampleSet> blocks =
      token_blocks(config.calibration_shards, config.calibration_split, config.seq_length, vocab_size);
  if (blocks->size() < config.samples)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              "quantize: too few calibration samples: " + config.calibration_shards + " (" + config.calibration_split +
                  ") holds " + std::to_string(blocks->size()) + " blocks of " + std::to_string(config.seq_length) +
                  " tokens, calibration.samples asks for " + std::to_string(config.samples));
  std::vector<torch::Tensor> batches;
  std::vector<int64_t> rows;
  for (int64_t s = 0; s < config.samples; ++s) {
    const int64_t index = s * blocks->size() / config.samples;
    const std::vector<int64_t> ids = blocks->at(index).front().ids;  // at() returns by value
    rows.insert(rows.end(), ids.begin(), ids.end());
    if (static_cast<int64_t>(rows.size()) == config.batch * config.seq_length || s + 1 == config.samples) {
      batches.push_back(torch::tensor(rows, torch::kInt64).view({-1, config.seq_length}));
      rows.clear();
    }
  }
  return batches;
}

double relative_error(const torch::Tensor& original, const torch::Tensor& dequantized) {
  const torch::Tensor w = original.to(torch::kFloat32);
  const double norm = w.norm().item<double>();
  return norm > 0 ? (w - dequantized.to(w.device())).norm().item<double>() / norm : 0.0;
}

// config.json's quantization_config: transformers' and vLLM's fields for the GPTQ layout,
// the format's own otherwise; "lmforge" says which component wrote each module.
json quantization_config(const std::string& quantizer, const json& format, const json& layers) {
  json config = format;
  if (format.value("format", "") == "gptq") {
    config = {{"quant_method", "gptq"},
              {"bits", format.at("bits")},
              {"group_size", format.at("group_size")},
              {"sym", format.value("sym", true)},
              {"desc_act", format.value("desc_act", false)},
              {"checkpoint_format", "gptq"}};
    if (format.contains("damp_percent")) config["damp_percent"] = format["damp_percent"];
    if (format.contains("static_groups")) config["static_groups"] = format["static_groups"];
  } else {
    config["quant_method"] = format.value("format", quantizer);
  }
  config["lmforge"] = {{"quantizer", quantizer}, {"layers", layers}};
  return config;
}

}  // namespace

json quantize_model(LoadedModel& model, const QuantizeConfig& config) {
  Decoder& decoder = *model.decoder;
  QuantizerClient quantizer(config.quantizer, config.quantizer_config);
  torch::NoGradGuard no_grad;

  std::vector<torch::Tensor> hidden, positions;
  if (quantizer.needs_calibration()) {
    for (const torch::Tensor& ids : calibration_batches(config, model.config.vocab_size)) {
      hidden.push_back(decoder.embed(ids.to(decoder.device())));
      positions.push_back(torch::arange(ids.size(1), ids.options().device(decoder.device())).expand({ids.size(0), ids.size(1)}));
    }
  }

  SaveOverrides saved;
  json layers = json::object(), errors = json::object();
  json first_format;
  std::vector<std::string> writable;
  for (const std::string& name : model.weights.names())
    if (name.rfind("model.layers.", 0) == 0) writable.push_back(name);
  model.weights.make_writable(writable);

  sdk::Progress bar("quantize", decoder.num_layers(), "layers");
  for (int64_t index = 0; index < decoder.num_layers(); ++index) {
    for (const std::vector<Projection>& group :
         sequential_groups(decoder.layer(index), index, config.modules, config.true_sequential)) {
      if (!hidden.empty()) {
        for (const Projection& p : group)
          p.linear->adapter = std::make_shared<ObservingAdapter>(quantizer, p.name, p.linear->weight.size(0));
        for (size_t b = 0; b < hidden.size(); ++b) decoder.block(index, hidden[b], positions[b]);
        for (const Projection& p : group) p.linear->adapter.reset();
      }
      for (const Projection& p : group) {
        QuantizedLayer layer = quantizer.quantize(p.name, p.linear->weight);
        const torch::Tensor dequantized = quantizer.dequantize(layer);
        errors[p.name] = relative_error(p.linear->weight, dequantized);
        p.linear->weight.copy_(dequantized.to(p.linear->weight.device(), p.linear->weight.scalar_type()));
        layers[p.name] = layer.format();
        if (first_format.is_null()) first_format = layers[p.name];
        saved.drop.insert(p.name + ".weight");
        for (auto& [tensor_name, tensor] : layer.tensors()) saved.add.emplace_back(p.name + "." + tensor_name, tensor);
      }
    }
    for (size_t b = 0; b < hidden.size(); ++b) hidden[b] = decoder.block(index, hidden[b], positions[b]);
    bar.advance();
    sdk::throw_if_cancelled();
  }
  if (first_format.is_null()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "quantize: no projection was quantized (field \"modules\")");

  saved.config_patch = {{"quantization_config", quantization_config(config.quantizer, first_format, layers)}};
  save_model(model, config.output, {{"overwrite", config.overwrite}}, saved);

  double worst = 0, sum = 0;
  for (const auto& [name, error] : errors.items()) {
    worst = std::max(worst, error.get<double>());
    sum += error.get<double>();
  }
  return {{"quantizer", config.quantizer},
          {"format", first_format},
          {"modules", errors.size()},
          {"calibration_samples", quantizer.needs_calibration() ? config.samples : 0},
          {"mean_relative_weight_error", sum / static_cast<double>(errors.size())},
          {"max_relative_weight_error", worst},
          {"output", config.output},
          {"weight_errors", errors}};
}

}  // namespace lmf::torch_backend
