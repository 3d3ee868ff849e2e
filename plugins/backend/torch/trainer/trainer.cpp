#include "trainer/trainer.h"

#include "tensor_io.h"
#include "torch_compat.h"
#include "trainer/batches.h"
#include "trainer/gpu_utilization.h"
#include "trainer/run_meter.h"
#include "trainer/step_loss.h"
#include "trainer/train_checkpoint.h"
#include "trainer/trainable.h"
#include "trainer/training_examples.h"
#include "training/adamw.h"
#include "training/grad_clip.h"
#include "training/lr_schedule.h"

#include <lmf/sdk/error.h>
#include <lmf/sdk/host.h>

#include <chrono>
#include <cmath>
#include <filesystem>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Datasets {
  std::unique_ptr<ExampleSet> train, eval;
  int64_t skipped = 0;  // records with nothing to learn
  int64_t pad_id = 0;
};

Datasets open_datasets(const LoadedModel& model, const TrainConfig& config) {
  Datasets data;
  const int64_t vocab = model.config.vocab_size;
  if (!model.config.eos_token_ids.empty()) data.pad_id = model.config.eos_token_ids.front();
  if (config.objective == "causal_lm") {
    data.train = token_blocks(config.train_data.shards, config.train_data.split, config.seq_length, vocab);
    if (!config.eval_data.empty()) {
      auto eval = token_blocks(config.eval_data.shards, config.eval_data.split, config.seq_length, vocab);
      if (eval->size() > 0) data.eval = std::move(eval);
    }
    return data;
  }
  const TokenizerClient& tokenizer = model.require_tokenizer("training on " + config.objective + " records");
  ChatDataOptions options;
  options.chat_template = config.chat_template == "auto" ? detect_chat_template(model.folder)
                                                          : parse_chat_template(config.chat_template);
  options.eos_text = data.pad_id >= 0 ? tokenizer.decode({data.pad_id}, /*skip_special_tokens=*/false) : "";
  options.max_length = config.seq_length;
  options.pairs = config.objective == "dpo";
  data.train = chat_examples(config.train_data.jsonl, tokenizer, options, vocab, &data.skipped);
  if (data.skipped > 0)
    sdk::log_warning("train: " + std::to_string(data.skipped) + " records have no answer token left within seq_length " +
                     std::to_string(config.seq_length) + " and are skipped");
  if (!config.eval_data.empty()) {
    int64_t eval_skipped = 0;
    data.eval = chat_examples(config.eval_data.jsonl, tokenizer, options, vocab, &eval_skipped);
  }
  return data;
}

// Seeds the generators for one micro-batch (Note [Resuming bit for bit]).
void seed_micro_batch(uint64_t seed, int64_t step, int64_t micro) {
  torch::manual_seed(seed * 1000003ULL + static_cast<uint64_t>(step) * 4099ULL + static_cast<uint64_t>(micro));
}

Batch to_device(Batch batch, torch::Device device) {
  batch.ids = batch.ids.to(device);
  batch.labels = batch.labels.to(device);
  return batch;
}

// The reference model's log-probabilities of every pair, before any update (DPO). Kept in
// the run folder, so that a resumed run uses the same ones.
std::pair<torch::Tensor, torch::Tensor> reference_logprobs(Decoder& decoder, const ExampleSet& set, int64_t micro_batch,
                                                           int64_t pad_id, int64_t chunk_rows, const fs::path& file) {
  if (fs::exists(file)) {
    auto saved = read_tensor_file(file);
    if (saved.count("chosen") && saved.count("rejected") && saved["chosen"].size(0) == set.size())
      return {saved["chosen"], saved["rejected"]};
    sdk::fail(LMF_ERR_DATA, file.string() + ": does not hold the reference log-probabilities of this dataset");
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> chosen, rejected;
  for (int64_t begin = 0; begin < set.size(); begin += micro_batch) {
    std::vector<int64_t> indices;
    for (int64_t i = begin; i < std::min(set.size(), begin + micro_batch); ++i) indices.push_back(i);
    Batch batch = to_device(collate(set, indices, pad_id), decoder.device());
    torch::Tensor logps = batch_sequence_logprobs(decoder, batch, chunk_rows).to(torch::kCPU);
    chosen.push_back(logps.narrow(0, 0, batch.pairs));
    rejected.push_back(logps.narrow(0, batch.pairs, batch.pairs));
  }
  torch::Tensor c = torch::cat(chosen), r = torch::cat(rejected);
  write_tensor_file(file, {{"chosen", c}, {"rejected", r}});
  return {c, r};
}

struct EvalResult {
  double loss = 0;
  int64_t tokens = 0;
};

EvalResult evaluate_loss(Decoder& decoder, TrainableWeights& trainable, const ExampleSet& set,
                         const TrainConfig& config, int64_t pad_id) {
  torch::NoGradGuard no_grad;
  trainable.set_training(false);
  torch::Tensor sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(decoder.device()));
  torch::Tensor tokens = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(decoder.device()));
  int64_t batches = 0;
  for (int64_t begin = 0; begin < set.size(); begin += config.micro_batch) {
    if (config.eval_batches > 0 && batches++ >= config.eval_batches) break;
    std::vector<int64_t> indices;
    for (int64_t i = begin; i < std::min(set.size(), begin + config.micro_batch); ++i) indices.push_back(i);
    Batch batch = to_device(collate(set, indices, pad_id), decoder.device());
    if (batch.pairs > 0) {  // DPO: the chosen answers' language-model loss
      batch.ids = batch.ids.narrow(0, 0, batch.pairs);
      batch.labels = batch.labels.narrow(0, 0, batch.pairs);
    }
    MicroBatchLoss loss = language_model_loss(decoder, batch, config.loss_chunk_tokens);
    sum += loss.sum.to(torch::kFloat64);
    tokens += loss.tokens;
  }
  trainable.set_training(true);
  EvalResult result;
  result.tokens = tokens.item<int64_t>();
  result.loss = result.tokens > 0 ? sum.item<double>() / static_cast<double>(result.tokens) : 0.0;
  return result;
}

}  // namespace

json run_training(LoadedModel& model, const TrainConfig& config) {
  const auto started = std::chrono::steady_clock::now();
  const fs::path output = config.output;
  fs::create_directories(output);
  Decoder& decoder = *model.decoder;

  Datasets data = open_datasets(model, config);
  const int64_t per_step = config.micro_batch * config.gradient_accumulation;
  if (data.train->size() < per_step)
    sdk::fail(LMF_ERR_DATA, "train: the dataset has " + std::to_string(data.train->size()) +
                                " examples, fewer than one optimizer step takes (micro_batch × gradient_accumulation = " +
                                std::to_string(per_step) + ")");
  const int64_t total_steps = config.max_steps > 0
                                  ? config.max_steps
                                  : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(
                                                             config.epochs * static_cast<double>(data.train->size()) /
                                                             static_cast<double>(per_step))));

  std::unique_ptr<TrainableWeights> trainable =
      config.method == "lora" || config.method == "qlora" ? lora_weights(model, LoraSettings::from_json(config.lora, "lora"), config.seed)
                              : full_weights(model);
  decoder.set_activation_checkpointing(config.activation_checkpointing);
  AdamW optimizer(trainable->parameters(), AdamWSettings::from_json(config.optimizer, "train: optimizer"));
  const LrSchedule schedule = LrSchedule::from_json(config.schedule, optimizer.settings().lr, total_steps, "train: schedule");
  ExampleOrder order(data.train->size(), config.seed);
  TrainProgress progress;
  json resumed_from;
  int64_t resumed_step = 0;

  if (config.resume) {
    if (std::optional<CheckpointInfo> checkpoint = latest_checkpoint(output)) {
      if (checkpoint->fingerprint != config.fingerprint())
        sdk::fail(LMF_ERR_INVALID_ARGUMENT, "train: " + checkpoint->folder.string() +
                                                " was written by a run with other settings; use another output folder or set resume to false");
      trainable->read_checkpoint(checkpoint->folder);
      auto state = read_tensor_file(checkpoint->folder / "optimizer.safetensors");
      for (auto& [name, tensor] : state) tensor = tensor.to(decoder.device());
      optimizer.load_state(state, checkpoint->progress.step);
      order.seek(checkpoint->progress.data);
      progress = checkpoint->progress;
      resumed_from = checkpoint->folder.string();
      resumed_step = progress.step;
      sdk::log_info("train: resuming from " + checkpoint->folder.string() + " (step " + std::to_string(progress.step) + ")");
    }
  }

  std::pair<torch::Tensor, torch::Tensor> reference;
  if (config.objective == "dpo")
    reference = reference_logprobs(decoder, *data.train, config.micro_batch, data.pad_id, config.loss_chunk_tokens,
                                   output / "dpo_reference.safetensors");

  const json fingerprint = config.fingerprint();
  std::string last_checkpoint = resumed_from.is_string() ? resumed_from.get<std::string>() : "";
  auto checkpoint = [&] {
    CheckpointInfo info = save_checkpoint(
        output, progress, fingerprint, config.keep_checkpoints,
        [&](const fs::path& folder) { trainable->write_checkpoint(folder); },
        [&](const fs::path& file) {
          OptimizerState state = optimizer.state();
          write_tensor_file(file, state.tensors);
        });
    last_checkpoint = info.folder.string();
  };

  const double peak_tflops = config.peak_tflops > 0 ? config.peak_tflops
                                                     : known_peak_tflops(compat::device_name(decoder.device()));
  RunMeter meter(decoder.device(), flops_per_token(model.config, config.seq_length, config.method == "full"), peak_tflops);
  const std::optional<GpuUtilization> gpu = GpuUtilization::open(compat::pci_bus_id(decoder.device()));
  trainable->set_training(true);
  sdk::Progress bar("train", total_steps - progress.step, "steps");
  const std::vector<torch::Tensor> parameters = optimizer.parameters();
  double first_loss = NAN, last_loss = NAN, last_eval = NAN;
  json last_dpo;
  const int64_t first_step = progress.step;
  const bool dpo = config.objective == "dpo";

  while (progress.step < total_steps) {
    const int64_t step = progress.step;
    // The whole step's micro-batches first: the loss is normalised by the step's target
    // count (tokens, or pairs for DPO), as transformers ≥ 4.46 does across accumulation.
    std::vector<std::vector<int64_t>> micro_indices;
    std::vector<Batch> micro_batches;
    int64_t step_targets = 0;
    for (int64_t m = 0; m < config.gradient_accumulation; ++m) {
      micro_indices.push_back(order.take(config.micro_batch));
      micro_batches.push_back(collate(*data.train, micro_indices.back(), data.pad_id));
      step_targets += dpo ? micro_batches.back().pairs : micro_batches.back().targets;
    }
    if (step_targets == 0) sdk::fail(LMF_ERR_DATA, "train: step " + std::to_string(step + 1) + " has no target token");

    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(decoder.device());
    torch::Tensor loss_sum = torch::zeros({}, f64);
    torch::Tensor reward_sums = torch::zeros({3}, f64);  // DPO: chosen, rejected, correct
    for (int64_t m = 0; m < config.gradient_accumulation; ++m) {
      seed_micro_batch(config.seed, step, m);
      Batch batch = to_device(std::move(micro_batches[m]), decoder.device());
      MicroBatchLoss loss;
      if (dpo) {
        torch::Tensor at = torch::tensor(micro_indices[m], torch::kInt64);
        loss = preference_loss(decoder, batch, reference.first.index_select(0, at).to(decoder.device()),
                               reference.second.index_select(0, at).to(decoder.device()), config.dpo_beta,
                               config.loss_chunk_tokens);
        reward_sums += torch::stack({loss.chosen_reward_sum, loss.rejected_reward_sum, loss.correct}).to(torch::kFloat64);
      } else {
        loss = language_model_loss(decoder, batch, config.loss_chunk_tokens);
      }
      (loss.sum / static_cast<double>(step_targets)).backward();
      loss_sum += loss.sum.detach().to(torch::kFloat64);
    }

    const double mean_loss = loss_sum.item<double>() / static_cast<double>(step_targets);
    // The optimizer applies the clip coefficient as it reads each grad (on CUDA in the
    // same pass as the update: Note [Fused AdamW on CUDA]), exactly as clipping first.
    torch::Tensor clip_scale;
    double grad_norm = 0;
    if (config.max_grad_norm > 0) {
      const ClipCoefficient clip = clip_coefficient(parameters, config.max_grad_norm);
      grad_norm = clip.total_norm.item<double>();
      clip_scale = clip.coefficient;
    } else {
      grad_norm = grad_total_norm(parameters).item<double>();
    }
    if (!std::isfinite(mean_loss) || !std::isfinite(grad_norm))
      sdk::fail(LMF_ERR_DATA, "train: the " + std::string(std::isfinite(mean_loss) ? "gradient norm" : "loss") +
                                  " is not finite at step " + std::to_string(step + 1) + "; stopped without updating. " +
                                  (last_checkpoint.empty() ? "No checkpoint was written yet."
                                                           : "The last good checkpoint is " + last_checkpoint + "."));
    const double lr = schedule.lr_at(step);
    optimizer.step(lr, clip_scale);
    optimizer.zero_grad();

    ++progress.step;
    progress.data = order.position();
    progress.tokens += step_targets;
    if (step == first_step) {
      first_loss = mean_loss;
      meter.start();  // the first step warms up kernels and allocators: not measured
    } else {
      meter.add_tokens(step_targets);
    }
    last_loss = mean_loss;
    bar.advance();

    if (progress.step % config.log_every == 0 || progress.step == total_steps) {
      sdk::metric("train/loss", mean_loss, progress.step);
      sdk::metric("train/lr", lr, progress.step);
      sdk::metric("train/grad_norm", grad_norm, progress.step);
      sdk::metric("train/epoch", static_cast<double>(order.taken()) / static_cast<double>(data.train->size()), progress.step);
      if (progress.step > first_step + 1) {
        sdk::metric("train/tokens_per_s", meter.tokens_per_second(), progress.step);
        if (const double mfu = meter.mfu(); mfu > 0) sdk::metric("train/mfu", mfu, progress.step);
      }
      sdk::metric("train/memory_gib", meter.peak_memory_gib(), progress.step);
      if (std::optional<double> utilization = gpu ? gpu->percent() : std::nullopt)
        sdk::metric("gpu/utilization", *utilization, progress.step);
      if (dpo) {
        torch::Tensor r = (reward_sums / static_cast<double>(step_targets)).to(torch::kCPU);
        const double chosen = r[0].item<double>(), rejected = r[1].item<double>();
        last_dpo = {{"rewards_chosen", chosen}, {"rewards_rejected", rejected},
                    {"rewards_margin", chosen - rejected}, {"rewards_accuracy", r[2].item<double>()}};
        for (const auto& [name, value] : last_dpo.items()) sdk::metric("train/" + name, value.get<double>(), progress.step);
      }
    }
    const bool last = progress.step == total_steps;
    if (data.eval && ((config.eval_every > 0 && progress.step % config.eval_every == 0) || last)) {
      EvalResult eval = evaluate_loss(decoder, *trainable, *data.eval, config, data.pad_id);
      last_eval = eval.loss;
      sdk::metric("eval/loss", eval.loss, progress.step);
      sdk::metric("eval/perplexity", std::exp(eval.loss), progress.step);
    }
    if ((config.save_every > 0 && progress.step % config.save_every == 0) || last) checkpoint();
    if (!last && sdk::cancelled()) {
      checkpoint();
      sdk::fail(LMF_ERR_CANCELLED, "train: stopped at step " + std::to_string(progress.step) + " of " +
                                       std::to_string(total_steps) + "; " + last_checkpoint +
                                       " holds it: run the same command again to resume");
    }
  }

  json written = trainable->save_final(output, config.merge_lora);
  trainable->freeze();
  decoder.set_activation_checkpointing(false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json summary = {{"method", config.method},
                  {"objective", config.objective},
                  {"steps", progress.step},
                  {"total_steps", total_steps},
                  {"examples", data.train->size()},
                  {"trained_tokens", progress.tokens},
                  {"trainable_parameters", trainable->parameter_count()},
                  {"first_loss", first_loss},
                  {"final_loss", last_loss},
                  {"seconds", seconds},
                  {"checkpoint", last_checkpoint},
                  {"output", written}};
  if (std::isfinite(last_eval)) {
    summary["eval_loss"] = last_eval;
    summary["eval_perplexity"] = std::exp(last_eval);
  }
  if (progress.step > first_step + 1) summary["tokens_per_second"] = meter.tokens_per_second();
  if (meter.mfu() > 0) summary["mfu"] = meter.mfu();
  summary["peak_memory_gib"] = meter.peak_memory_gib();
  if (!resumed_from.is_null()) {
    summary["resumed_from"] = resumed_from;
    summary["resumed_from_step"] = resumed_step;
  }
  if (data.skipped > 0) summary["skipped_records"] = data.skipped;
  if (!last_dpo.is_null()) summary["dpo"] = last_dpo;
  return summary;
}

}  // namespace lmf::torch_backend
