#include "quantize/quantize_model.h"

#include "quantize/block_stage.h"
#include "quantize/input_scale_folding.h"
#include "quantize/quantizer_client.h"
#include "save_model.h"
#include "trainer/training_examples.h"

#include <lmf/sdk/host.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

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

using Projection = NamedLinear;

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

// config.json's quantization_config: transformers' and vLLM's fields for the GPTQ and AWQ
// layouts, the format's own otherwise; "lmforge" says which component wrote each module.
// `not_converted`: the projections left unquantized, which a loader must keep dense.
json quantization_config(const std::string& quantizer, const json& format, const json& layers,
                         const std::vector<std::string>& not_converted) {
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
  } else if (format.value("format", "") == "awq") {
    // What AutoAWQ writes (AwqConfig.to_transformers_dict), which transformers and vLLM read;
    // its modules_to_not_convert is null when every projection is quantized, and absent
    // here then (a null would delete the key from config.json, which reads the same).
    config = {{"quant_method", "awq"},
              {"bits", format.at("bits")},
              {"group_size", format.at("group_size")},
              {"zero_point", format.value("zero_point", true)},
              {"version", format.value("version", "gemm")}};
    if (!not_converted.empty()) config["modules_to_not_convert"] = not_converted;
  } else {
    config["quant_method"] = format.value("format", quantizer);
  }
  config["lmforge"] = {{"quantizer", quantizer}, {"layers", layers}};
  return config;
}

// Note [AWQ scale folding]: for each of the block's fold groups (Note [Fold groups]) whose
// consumers include projections being quantized, asks the quantizer for the scales of those
// projections (all of them observed) on their weights as they are, as AutoAWQ searches
// every group of a block before it applies any; then folds every group's scales. Returns
// how many groups were folded.
int64_t search_and_fold(const QuantizerClient& quantizer, DecoderLayer& block, int64_t index,
                        const std::vector<Projection>& quantized) {
  std::vector<std::pair<FoldGroup, torch::Tensor>> found;
  for (FoldGroup& group : fold_groups(block, index)) {
    std::vector<std::string> names;
    std::vector<torch::Tensor> weights;
    for (const NamedLinear& consumer : group.consumers)
      for (const Projection& p : quantized)
        if (p.name == consumer.name) {
          names.push_back(p.name);
          weights.push_back(p.linear->weight);
        }
    if (names.empty()) continue;
    torch::Tensor scales = quantizer.search_input_scales(names, weights);
    found.emplace_back(std::move(group), std::move(scales));
  }
  for (const auto& [group, scales] : found) fold_input_scales(group, scales);
  return static_cast<int64_t>(found.size());
}

// A CUDA device with its index (libtorch's "cuda" means the current one, 0 here).
torch::Device with_index(const torch::Device& device) {
  return device.is_cuda() && !device.has_index() ? torch::Device(torch::kCUDA, 0) : device;
}

// Where blocks calibrate (Note [One block on the device]): the model's device, or the one
// calibration.device names, which must exist.
torch::Device calibration_device(const QuantizeConfig& config, const torch::Device& model_device) {
  if (config.calibration_device.empty()) return with_index(model_device);
  torch::Device device = torch::kCPU;
  try {
    device = with_index(resolve_device(config.calibration_device));
  } catch (const sdk::Error& e) {
    sdk::fail(e.code(), std::string("quantize: field \"calibration.device\": ") + e.what());
  }
  if (device.is_cuda() && device.index() >= static_cast<int64_t>(torch::cuda::device_count()))
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "quantize: field \"calibration.device\" names " + device.str() +
                                            ", but this machine has " +
                                            std::to_string(torch::cuda::device_count()) + " CUDA devices");
  return device;
}

}  // namespace

json quantize_model(LoadedModel& model, const QuantizeConfig& config) {
  Decoder& decoder = *model.decoder;
  QuantizerClient quantizer(config.quantizer, config.quantizer_config);
  torch::NoGradGuard no_grad;

  // Note [One block on the device]: blocks calibrate on `device`, staged there one at a
  // time when the model lives elsewhere.
  const torch::Device device = calibration_device(config, decoder.device());
  std::optional<BlockStage> stage;
  if (quantizer.needs_calibration() && device != with_index(decoder.device())) {
    sdk::log_info("quantize: the model stays on " + decoder.device().str() + "; each block calibrates on " +
                  device.str() + " in turn");
    stage.emplace(model.config, model.weights, device);
  }

  std::vector<torch::Tensor> hidden, positions;
  if (quantizer.needs_calibration()) {
    for (const torch::Tensor& ids : calibration_batches(config, model.config.vocab_size)) {
      hidden.push_back(decoder.embed(ids.to(decoder.device())).to(device));
      positions.push_back(torch::arange(ids.size(1), ids.options().device(device)).expand({ids.size(0), ids.size(1)}));
    }
  }
  // Block `index`'s forward pass, where it calibrates.
  auto run_block = [&](int64_t index, const torch::Tensor& h, const torch::Tensor& at) {
    return stage ? stage->run(h, at) : decoder.block(index, h, at);
  };

  SaveOverrides saved;
  json layers = json::object(), errors = json::object();
  json first_format;
  // The block's mapped (read-only) tensors get memory of their own as its turn comes, so
  // that host memory grows block by block.
  auto make_block_writable = [&](int64_t index) {
    const std::string prefix = "model.layers." + std::to_string(index) + ".";
    std::vector<std::string> writable;
    for (const std::string& name : model.weights.names())
      if (name.rfind(prefix, 0) == 0) writable.push_back(name);
    model.weights.make_writable(writable);
  };

  // Hands the group's inputs on the calibration samples to the quantizer (one pass of the block).
  auto observe = [&](int64_t index, const std::vector<Projection>& group) {
    if (hidden.empty()) return;
    for (const Projection& p : group)
      p.linear->adapter = std::make_shared<ObservingAdapter>(quantizer, p.name, p.linear->weight.size(0));
    for (size_t b = 0; b < hidden.size(); ++b) run_block(index, hidden[b], positions[b]);
    for (const Projection& p : group) p.linear->adapter.reset();
  };
  // Quantizes p's weight as it is now and replaces it by its dequantized value.
  auto quantize = [&](const Projection& p) {
    QuantizedLayer layer = quantizer.quantize(p.name, p.linear->weight);
    const torch::Tensor dequantized = quantizer.dequantize(layer);
    errors[p.name] = relative_error(p.linear->weight, dequantized);
    p.linear->weight.copy_(dequantized.to(p.linear->weight.device(), p.linear->weight.scalar_type()));
    layers[p.name] = layer.format();
    if (first_format.is_null()) first_format = layers[p.name];
    saved.drop.insert(p.name + ".weight");
    for (auto& [tensor_name, tensor] : layer.tensors()) saved.add.emplace_back(p.name + "." + tensor_name, tensor);
  };

  // Note [AWQ scale folding] (docs/quantization.md): a quantizer that chooses input scales
  // sees the whole block observed at once on its full-precision weights; the scales of
  // every group are searched, then folded, then the projections quantized.
  const bool folds = quantizer.folds_input_scales() && !hidden.empty();
  if (folds)
    sdk::log_info("quantize: " + config.quantizer +
                  " chooses input scales, folded into each block before it is quantized; each block is observed "
                  "at once (true_sequential does not apply)");
  int64_t folded = 0;

  sdk::Progress bar("quantize", decoder.num_layers(), "layers");
  for (int64_t index = 0; index < decoder.num_layers(); ++index) {
    make_block_writable(index);
    DecoderLayer& block = stage ? stage->load(decoder.layer(index)) : decoder.layer(index);
    if (folds) {
      for (const std::vector<Projection>& all : sequential_groups(block, index, config.modules, false)) {
        observe(index, all);
        folded += search_and_fold(quantizer, block, index, all);
        for (const Projection& p : all) quantize(p);
      }
    } else {
      for (const std::vector<Projection>& group :
           sequential_groups(block, index, config.modules, config.true_sequential)) {
        observe(index, group);
        for (const Projection& p : group) quantize(p);
      }
    }
    for (size_t b = 0; b < hidden.size(); ++b) hidden[b] = run_block(index, hidden[b], positions[b]);
    if (stage) stage->store(decoder.layer(index));
    bar.advance();
    sdk::throw_if_cancelled();
  }
  if (first_format.is_null()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "quantize: no projection was quantized (field \"modules\")");

  for (const auto& [name, format] : layers.items())
    if (format.value("group_size", int64_t{0}) != first_format.value("group_size", int64_t{0}))
      sdk::log_warning("quantize: " + name + " has group_size " + format["group_size"].dump() + ", config.json's " +
                       "quantization_config says " + first_format["group_size"].dump() +
                       " (from the first module): lmforge reads each module's own, transformers and vLLM do not");
  std::vector<std::string> not_converted;
  for (const std::string& module : QuantizeConfig{}.modules)
    if (std::find(config.modules.begin(), config.modules.end(), module) == config.modules.end())
      not_converted.push_back(module);
  saved.config_patch = {
      {"quantization_config", quantization_config(config.quantizer, first_format, layers, not_converted)}};
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
          {"input_scale_folds", folded},
          {"mean_relative_weight_error", sum / static_cast<double>(errors.size())},
          {"max_relative_weight_error", worst},
          {"output", config.output},
          {"weight_errors", errors}};
}

}  // namespace lmf::torch_backend
