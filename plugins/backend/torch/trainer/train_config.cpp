#include "train_config.h"

#include "run_config_fields.h"

#include <lmf/sdk/error.h>

#include <set>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "train: field \"" + field + "\" " + what);
}

struct Fields : run_config::Fields {
  Fields(const json& object, std::string prefix) : run_config::Fields(object, std::move(prefix), "train") {}
};

DataSpec read_data(const json& value, const std::string& field) {
  Fields f(value, field + ".");
  f.only({"shards", "split", "jsonl"});
  DataSpec spec;
  spec.shards = f.text("shards", "");
  spec.split = f.text("split", "train");
  spec.jsonl = f.paths("jsonl");
  if (!spec.shards.empty() && !spec.jsonl.empty()) bad(field, "names both shards and jsonl; give one");
  if (spec.empty()) bad(field, "names no data: give \"shards\" (a data prepare folder) or \"jsonl\"");
  return spec;
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& config) {
  Fields f(config, "");
  f.only({"method", "objective", "output", "init", "data", "eval_data", "seq_length", "micro_batch",
          "gradient_accumulation", "max_steps", "epochs", "optimizer", "schedule", "max_grad_norm",
          "lora", "merge_lora", "quantization", "precision", "activation_checkpointing", "loss_chunk_tokens",
          "chat_template", "dpo_beta", "eval_every", "eval_batches", "save_every", "keep_checkpoints",
          "log_every", "resume", "seed", "peak_tflops"});
  TrainConfig c;
  c.method = f.text("method", c.method, {"full", "lora", "qlora"});
  c.objective = f.text("objective", c.objective, {"causal_lm", "sft", "dpo"});
  c.output = f.text("output", "");
  if (c.output.empty()) bad("output", "is missing: the folder for checkpoints and the trained model");
  c.init = f.object("init");
  if (!f.has("data")) bad("data", "is missing: {\"shards\": FOLDER} or {\"jsonl\": FILES}");
  c.train_data = read_data(config.at("data"), "data");
  if (f.has("eval_data")) c.eval_data = read_data(config.at("eval_data"), "eval_data");
  if (c.objective == "causal_lm" && c.train_data.shards.empty())
    bad("data", "objective causal_lm reads packed shards: give \"shards\" (lmforge data prepare's output)");
  if (c.objective != "causal_lm" && c.train_data.jsonl.empty())
    bad("data", "objective " + c.objective + " reads JSON Lines records: give \"jsonl\"");
  if (!c.eval_data.empty() && c.eval_data.shards.empty() != c.train_data.shards.empty())
    bad("eval_data", "must be of the same kind as data (shards or jsonl)");
  if (c.eval_data.empty() && !c.train_data.shards.empty()) {
    c.eval_data.shards = c.train_data.shards;
    c.eval_data.split = "validation";
  }

  c.seq_length = f.integer("seq_length", c.seq_length, 2);
  c.micro_batch = f.integer("micro_batch", c.micro_batch, 1);
  c.gradient_accumulation = f.integer("gradient_accumulation", c.gradient_accumulation, 1);
  c.max_steps = f.integer("max_steps", c.max_steps, 0);
  c.epochs = f.number("epochs", c.epochs, 0.0);
  if (c.max_steps == 0 && c.epochs <= 0) bad("epochs", "must be > 0 when max_steps is 0");

  c.optimizer = f.object("optimizer");
  c.schedule = f.object("schedule");
  c.max_grad_norm = f.number("max_grad_norm", c.max_grad_norm, 0.0);
  c.lora = f.object("lora");
  const bool adapters = c.method == "lora" || c.method == "qlora";
  if (!adapters && f.has("lora")) bad("lora", "is given but method is \"" + c.method + "\"");
  c.merge_lora = f.boolean("merge_lora", c.merge_lora);
  if (c.merge_lora && c.method != "lora")
    bad("merge_lora", "needs method lora (a qlora base stays quantized: merging into it is refused)");
  if (f.has("quantization")) {
    if (c.method != "qlora") bad("quantization", "is given but method is \"" + c.method + "\" (it is for qlora)");
    const json& q = config.at("quantization");
    if (!q.is_object() || !q.value("quantizer", json()).is_string())
      bad("quantization", "must be {\"quantizer\": NAME, \"config\": {...}}, got " + q.dump());
    for (const auto& [key, unused] : q.items())
      if (key != "quantizer" && key != "config") bad("quantization." + key, "is not a field (quantizer, config)");
    c.quantization = {{"quantizer", q["quantizer"]}, {"config", q.value("config", json::object())}};
  }

  c.precision = f.text("precision", c.precision, {"auto", "fp32", "bf16"});
  c.activation_checkpointing = f.boolean("activation_checkpointing", c.activation_checkpointing);
  c.loss_chunk_tokens = f.integer("loss_chunk_tokens", c.loss_chunk_tokens, 1);
  c.chat_template = f.text("chat_template", c.chat_template, {"auto", "plain", "chatml", "llama3", "deepseek"});
  c.dpo_beta = f.number("dpo_beta", c.dpo_beta, 0.0);
  if (c.objective == "dpo" && c.dpo_beta <= 0) bad("dpo_beta", "must be > 0");

  c.eval_every = f.integer("eval_every", c.eval_every, 0);
  c.eval_batches = f.integer("eval_batches", c.eval_batches, 0);
  c.save_every = f.integer("save_every", c.save_every, 0);
  c.keep_checkpoints = f.integer("keep_checkpoints", c.keep_checkpoints, 1);
  c.log_every = f.integer("log_every", c.log_every, 1);
  c.resume = f.boolean("resume", c.resume);
  c.seed = static_cast<uint64_t>(f.integer("seed", 0, 0));
  c.peak_tflops = f.number("peak_tflops", c.peak_tflops, 0.0);
  return c;
}

json TrainConfig::fingerprint() const {
  auto data = [](const DataSpec& d) { return json{{"shards", d.shards}, {"split", d.split}, {"jsonl", d.jsonl}}; };
  return {{"method", method},          {"objective", objective},
          {"init", init},              {"data", data(train_data)},
          {"seq_length", seq_length},  {"micro_batch", micro_batch},
          {"gradient_accumulation", gradient_accumulation},
          {"optimizer", optimizer},    {"lora", lora},
          {"quantization", method == "qlora" ? quantization : json()},
          {"precision", precision},    {"chat_template", chat_template},
          {"seed", seed}};
}

}  // namespace lmf::torch_backend
