// The torch model backend plugin: Llama and Qwen2 family models from Hugging Face folders
// on libtorch (CPU with Debian's 1.13, CUDA with 2.x) — forward, generation with a KV
// cache and request batching, evaluation, and checkpoint saving (docs/backend.md).
#include "eval_tasks.h"
#include "generation.h"
#include "loaded_model.h"
#include "request_batcher.h"
#include "save_model.h"
#include "quantize/quantize_model.h"
#include "trainer/model_init.h"
#include "trainer/train_config.h"
#include "trainer/trainer.h"

#include <lmf/sdk.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace {

using lmf::sdk::fail;
using lmf::sdk::operator==;
using lmf::sdk::Json;
namespace tb = lmf::torch_backend;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "device": {"type": "string", "default": "auto",
               "description": "auto (the first CUDA device when there is one, else cpu), cpu, cuda or cuda:N."},
    "dtype": {"enum": ["auto", "float32", "bfloat16", "float16"], "default": "auto",
              "description": "Weights and activations. auto: the checkpoint's dtype on CUDA, float32 on the CPU."},
    "fused_attention": {"type": "boolean", "default": true,
                        "description": "Use libtorch's scaled-dot-product attention kernels (libtorch 2.5 and later); false computes attention as transformers' eager mode does."},
    "tokenizer": {"type": "string", "default": "hf",
                  "description": "Tokenizer component for the model folder's tokenizer.json (text prompts, stop strings, text datasets); empty for none."},
    "fuse_projections": {"enum": ["auto", "on", "off"], "default": "auto",
                         "description": "One matmul for q/k/v and one for gate/up (auto: on CUDA)."},
    "packed_weights": {"enum": ["auto", "on", "off"], "default": "auto",
                       "description": "A quantized checkpoint's modules kept packed, multiplied by through the quantizer plugin's kernels (auto: on CUDA where the plugin has CUDA kernels); off: dequantized once on load."},
    "quantize_on_load": {"type": ["object", "null"], "default": null,
                         "description": "Quantize a full-precision checkpoint's projections as it loads and keep them packed: {\"quantizer\": \"nf4\", \"config\": {...}} (Note [Quantized on load]); null: no."},
    "fused_kernels": {"type": "boolean", "default": true,
                      "description": "RMSNorm, SwiGLU and rotary embedding as single CUDA kernels with their backward passes (CUDA builds); false: libtorch's elementwise operations, as transformers computes them."},
    "decode_kernels": {"type": "boolean", "default": true,
                       "description": "A decode step of one sequence through the decode kernels (Note [Decode kernels]: matrix-vector products with the norm, rotary embedding, residual and SwiGLU folded in, split-key attention, launches overlapped; CUDA builds). false: cuBLAS GEMVs and the fused elementwise kernels."},
    "cuda_graphs": {"type": "boolean", "default": true,
                    "description": "Decode steps recorded as CUDA graphs and replayed (CUDA builds)."},
    "max_batch": {"type": "integer", "minimum": 1, "default": 64,
                  "description": "Concurrent generate calls batched together at most."}
  }
})";

class TorchBackend final : public lmf::sdk::Backend {
 public:
  explicit TorchBackend(const Json& config)
      : defaults_(tb::LoadOptions::from_json(
            Json{{"device", config.value("device", "auto")},
                 {"dtype", config.value("dtype", "auto")},
                 {"fused_attention", config.value("fused_attention", true)},
                 {"tokenizer", config.value("tokenizer", "hf")},
                 {"fuse_projections", config.value("fuse_projections", "auto")},
                 {"packed_weights", config.value("packed_weights", "auto")},
                 {"quantize_on_load", config.value("quantize_on_load", Json())},
                 {"cuda_graphs", config.value("cuda_graphs", true)},
                 {"fused_kernels", config.value("fused_kernels", true)},
                 {"decode_kernels", config.value("decode_kernels", true)}},
            {})),
        batcher_([this](std::vector<tb::GenerationRequest>& requests) { return run_batch(requests); },
                 static_cast<size_t>(config.value("max_batch", 64))) {}

  void load(const std::string& path, const Json& options) override {
    std::unique_lock lock(model_mutex_);
    model_.reset();  // free the old model's memory before the new one arrives
    loaded_options_ = tb::LoadOptions::from_json(options, defaults_);
    model_ = tb::LoadedModel::load(path, loaded_options_);
  }

  void save(const std::string& path, const Json& options) override {
    std::shared_lock lock(model_mutex_);
    tb::save_model(require_model(), path, options);
  }

  Json info() override {
    std::shared_lock lock(model_mutex_);
    return require_model().info();
  }

  lmf::sdk::ManagedTensor forward(const DLTensor& input_ids) override {
    std::shared_lock lock(model_mutex_);
    tb::LoadedModel& model = require_model();
    torch::Tensor ids = ids_tensor(input_ids, model.config.vocab_size);
    torch::NoGradGuard no_grad;
    const int64_t steps = ids.size(1);
    torch::Tensor positions = torch::arange(steps, ids.options()).expand({ids.size(0), steps});
    torch::Tensor hidden = model.decoder->hidden_states(
        ids.to(model.decoder->device()), tb::ForwardContext{positions.to(model.decoder->device()), {}, nullptr, steps});
    torch::Tensor logits = model.decoder->logits(hidden).to(torch::kCPU).contiguous();
    lmf::sdk::ManagedTensor out = lmf::sdk::make_cpu_tensor(
        lmf::sdk::dtype_of<float>(), {logits.size(0), logits.size(1), logits.size(2)});
    std::memcpy(out.tensor().data, logits.data_ptr<float>(), logits.numel() * sizeof(float));
    return out;
  }

  lmf::sdk::GenerateResult generate(const lmf::sdk::GenerateRequest& request) override {
    std::shared_lock lock(model_mutex_);
    tb::LoadedModel& model = require_model();
    tb::GenerationRequest job;
    job.prompt.assign(request.prompt.begin(), request.prompt.end());
    job.sampling = tb::parse_sampling(request.sampling, model.sampling_defaults);
    if (request.on_token) job.on_token = [&](int64_t id) { return request.on_token(static_cast<int32_t>(id)); };
    if (!job.sampling.stop.empty()) job.hit_stop_string = stop_string_check(model, job.sampling.stop);
    tb::check_request(job, "generate: the prompt", model.config);
    tb::GenerationOutput output = batcher_.submit(std::move(job));
    return {std::vector<int32_t>(output.ids.begin(), output.ids.end()), output.finish_reason};
  }

  // Trains the loaded model, or a new one when the config has "init" (docs/training.md);
  // the trained model stays loaded for generation and evaluation.
  Json train(const Json& config) override {
    std::unique_lock lock(model_mutex_);
    const tb::TrainConfig train = tb::TrainConfig::from_json(config);
    std::string folder = model_ ? model_->folder : "";
    if (!train.init.empty()) {
      folder = (std::filesystem::path(train.output) / "init").string();
      if (!std::filesystem::exists(std::filesystem::path(folder) / "config.json"))
        tb::create_model_folder(folder, train.init, train.seed);
    }
    if (folder.empty()) fail(LMF_ERR_INVALID_ARGUMENT, "train: no model loaded and no \"init\" architecture given");
    reload_for_training(folder, train);
    model_->decoder->release_decode_steppers();  // generation's caches: memory training needs
    return tb::run_training(*model_, train);
  }

  Json quantize(const Json& config) override {
    std::unique_lock lock(model_mutex_);
    const tb::QuantizeConfig quantize = tb::QuantizeConfig::from_json(config);
    const std::string folder = require_model().folder;
    // Each projection quantizes on its own, from a dense weight.
    if (loaded_options_.fuse_projections != "off" || require_model().weights.has_packed()) {
      tb::LoadOptions options = loaded_options_;
      options.fuse_projections = "off";
      options.packed_weights = "off";
      options.quantize_on_load = nullptr;
      model_.reset();
      loaded_options_ = options;
      model_ = tb::LoadedModel::load(folder, loaded_options_);
    }
    model_->decoder->release_decode_steppers();
    Json summary = tb::quantize_model(*model_, quantize);
    return summary;
  }

  Json evaluate(const Json& config) override {
    std::shared_lock lock(model_mutex_);
    return tb::run_evaluation(require_model(), config);
  }

 private:
  tb::LoadedModel& require_model() {
    if (!model_) fail(LMF_ERR_INVALID_ARGUMENT, "torch backend: no model loaded (call load first)");
    return *model_;
  }

  // Training wants the run's precision (bf16 on CUDA, fp32 on the CPU by default) and,
  // for full fine-tuning, separate projection matrices (each its own parameter).
  void reload_for_training(const std::string& folder, const tb::TrainConfig& train) {
    tb::LoadOptions options = model_ && model_->folder == folder ? loaded_options_ : defaults_;
    const torch::Device device = tb::resolve_device(options.device);
    options.dtype = train.precision == "fp32" ? "float32"
                    : train.precision == "bf16" || device.is_cuda() ? "bfloat16"
                                                                    : "float32";
    // Full fine-tuning changes every weight: separate, dense projections. LoRA trains
    // beside a packed base as well (Note [Gradient through packed weights]).
    if (train.method == "full") options.fuse_projections = options.packed_weights = "off";
    if (train.merge_lora) options.packed_weights = "off";  // the merge goes into dense weights
    // QLoRA: the base quantized as it loads, adapters beside it (Note [Quantized on load]).
    options.quantize_on_load = train.method == "qlora" ? train.quantization : nlohmann::json();
    const bool same = model_ && model_->folder == folder && options.dtype == loaded_options_.dtype &&
                      options.fuse_projections == loaded_options_.fuse_projections &&
                      options.packed_weights == loaded_options_.packed_weights &&
                      options.quantize_on_load == loaded_options_.quantize_on_load &&
                      options.device == loaded_options_.device;
    if (same) return;
    model_.reset();
    loaded_options_ = options;
    model_ = tb::LoadedModel::load(folder, loaded_options_);
  }

  std::vector<tb::GenerationOutput> run_batch(std::vector<tb::GenerationRequest>& requests) {
    // Generation runs under the shared lock its callers hold; the model cannot change.
    return tb::generate(*model_->decoder, requests, model_->config.eos_token_ids,
                        [] { return lmf::sdk::cancelled(); });
  }

  // Stop strings are found in the decoded text of what was generated so far.
  static std::function<bool(const std::vector<int64_t>&)> stop_string_check(
      tb::LoadedModel& model, const std::vector<std::string>& stops) {
    const tb::TokenizerClient& tokenizer = model.require_tokenizer("a stop string");
    return [&tokenizer, stops](const std::vector<int64_t>& ids) {
      const std::string text = tokenizer.decode(ids, /*skip_special_tokens=*/false);
      for (const std::string& stop : stops)
        if (text.find(stop) != std::string::npos) return true;
      return false;
    };
  }

  static torch::Tensor ids_tensor(const DLTensor& input, int64_t vocab) {
    lmf::sdk::TensorView view(input, "input_ids");
    if (view.ndim() != 2) fail(LMF_ERR_INVALID_ARGUMENT, "input_ids: expected [batch, seq], got " + std::to_string(view.ndim()) + " dimensions");
    if (!view.on_cpu() || !view.contiguous()) fail(LMF_ERR_INVALID_ARGUMENT, "input_ids: must be a contiguous CPU tensor");
    torch::Tensor ids;
    if (view.dtype() == lmf::sdk::dtype_of<int64_t>())
      ids = torch::from_blob(view.data<int64_t>(), {view.dim(0), view.dim(1)}, torch::kInt64).clone();
    else if (view.dtype() == lmf::sdk::dtype_of<int32_t>())
      ids = torch::from_blob(view.data<int32_t>(), {view.dim(0), view.dim(1)}, torch::kInt32).to(torch::kInt64);
    else
      fail(LMF_ERR_INVALID_ARGUMENT, "input_ids: must be int64 or int32, not " + lmf::sdk::dtype_name(view.dtype()));
    if (ids.numel() == 0) fail(LMF_ERR_INVALID_ARGUMENT, "input_ids: empty");
    if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= vocab)
      fail(LMF_ERR_INVALID_ARGUMENT, "input_ids: ids must be in [0, " + std::to_string(vocab) + ")");
    return ids;
  }

  tb::LoadOptions defaults_;
  tb::LoadOptions loaded_options_;
  std::shared_mutex model_mutex_;
  std::unique_ptr<tb::LoadedModel> model_;
  tb::RequestBatcher batcher_;
};

}  // namespace

LMF_PLUGIN("lmforge-backend-torch", "0.1.0", "lmforge",
           "Llama and Qwen2 models on libtorch: Hugging Face checkpoints, generation, evaluation",
           lmf::sdk::component<TorchBackend>("torch", "libtorch model backend (Llama, Qwen2 families)",
                                             kConfigSchema));
