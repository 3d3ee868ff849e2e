#include "core/model/generate_stage.h"

#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

namespace lmf::model {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json make_schema() {
  json schema = json::parse(R"JSON({
    "type": "object",
    "additionalProperties": false,
    "required": ["model"],
    "properties": {
      "prompts": {"type": "array", "items": {"type": "string"}, "default": [],
                  "description": "prompt texts"},
      "prompts_file": {"type": "string", "description": "a JSON Lines file with a \"prompt\" field per line"},
      "sampling": {"type": "object", "default": {},
                   "description": "max_new_tokens, temperature, top_k, top_p, min_p, repetition_penalty, stop, stop_ids, seed"},
      "add_special_tokens": {"type": "boolean", "default": true},
      "output": {"type": "string", "description": "a JSON Lines file of the completions"},
      "stream": {"type": "boolean", "default": false,
                 "description": "print the text of a single prompt as it is generated"},
      "concurrency": {"type": "integer", "minimum": 1, "default": 16,
                      "description": "prompts in flight at once (the backend batches them)"}
    }
  })JSON");
  for (const auto& [key, value] : model_params_schema_properties().items()) schema["properties"][key] = value;
  return schema;
}

const char* finish_name(lmf_finish_reason reason) {
  switch (reason) {
    case LMF_FINISH_STOP: return "stop";
    case LMF_FINISH_CANCELLED: return "cancelled";
    default: return "length";
  }
}

std::vector<std::string> read_prompts(const json& params) {
  std::vector<std::string> prompts = params.at("prompts").get<std::vector<std::string>>();
  if (params.contains("prompts_file")) {
    const std::string path = params["prompts_file"].get<std::string>();
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open");
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json record;
      try {
        record = json::parse(line);
      } catch (const json::parse_error& e) {
        throw std::runtime_error(path + ":" + std::to_string(number) + ": not valid JSON: " + e.what());
      }
      if (!record.contains("prompt") || !record["prompt"].is_string())
        throw std::runtime_error(path + ":" + std::to_string(number) + ": no string field \"prompt\"");
      prompts.push_back(record["prompt"].get<std::string>());
    }
  }
  if (prompts.empty()) throw std::runtime_error("model.generate: no prompt (give prompts or prompts_file)");
  return prompts;
}

struct Completion {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> ids;
  lmf_finish_reason finish = LMF_FINISH_LENGTH;
  std::string error;
};

// Streams one prompt's text: decodes what was generated so far and prints what is new
// (a token may complete a character only with the next one).
struct StreamPrinter {
  const ModelSession* session;
  std::vector<int32_t> ids;
  size_t printed = 0;
  static int32_t on_token(void* user, int32_t id) {
    auto* self = static_cast<StreamPrinter*>(user);
    self->ids.push_back(id);
    const std::string text = self->session->decode(self->ids, true);
    const bool incomplete = text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
    if (!incomplete && text.size() > self->printed) {
      std::cout << text.substr(self->printed) << std::flush;
      self->printed = text.size();
    }
    return 0;
  }
};

std::string shorten(std::string text, size_t width) {
  for (char& c : text)
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  if (text.size() > width) {
    size_t cut = width;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    text = text.substr(0, cut) + "...";
  }
  return text;
}

}  // namespace

const json& generate_params_schema() {
  static const json schema = make_schema();
  return schema;
}

json run_generate(const json& params, const plugin::PluginRegistry& registry, pipeline::RunServices& services) {
  const auto start = std::chrono::steady_clock::now();
  ModelSession session(params, registry);
  const std::vector<std::string> prompts = read_prompts(params);
  const std::string sampling = params.at("sampling").dump();
  const bool add_special = params.at("add_special_tokens").get<bool>();
  const bool stream = params.at("stream").get<bool>() && prompts.size() == 1;

  std::vector<Completion> completions(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) completions[i].prompt_ids = session.encode(prompts[i], add_special);

  const uint64_t progress = services.progress_begin("host", "generate", static_cast<int64_t>(prompts.size()), "prompts");
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < prompts.size(); i = next++) {
      Completion& c = completions[i];
      StreamPrinter printer{&session, {}, 0};
      lmf_generate_request request{sizeof(lmf_generate_request), c.prompt_ids.data(), c.prompt_ids.size(),
                                   {sampling.data(), sampling.size()},
                                   stream ? &StreamPrinter::on_token : nullptr, &printer};
      lmf_generate_result result{sizeof(lmf_generate_result), nullptr, 0, LMF_FINISH_LENGTH};
      try {
        plugin::check_status(session.backend().generate(session.backend_instance(), &request, &result),
                             session.backend_label() + ": generate (prompt " + std::to_string(i) + ")");
        c.ids.assign(result.ids, result.ids + result.count);
        c.finish = result.finish_reason;
        plugin::host_api()->free(result.ids);
      } catch (const std::exception& e) {
        c.error = e.what();
      }
      services.progress_advance(progress, 1);
    }
  };
  const size_t threads = std::min<size_t>(params.at("concurrency").get<size_t>(), prompts.size());
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& thread : pool) thread.join();
  services.progress_end(progress);
  if (stream) std::cout << "\n";

  for (const Completion& c : completions)
    if (!c.error.empty()) throw std::runtime_error(c.error);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t generated = 0;
  json results = json::array();
  std::string table = "prompt                          completion                                    tokens  finish\n";
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Completion& c = completions[i];
    generated += static_cast<int64_t>(c.ids.size());
    const std::string text = session.decode(c.ids, true);
    results.push_back({{"prompt", prompts[i]}, {"completion", text}, {"prompt_tokens", c.prompt_ids.size()},
                       {"ids", c.ids}, {"finish_reason", finish_name(c.finish)}});
    if (i < 8) {
      char line[64];
      std::snprintf(line, sizeof line, "  %6zu  %s", c.ids.size(), finish_name(c.finish));
      std::string p = shorten(prompts[i], 30), t = shorten(text, 44);
      table += p + std::string(p.size() < 32 ? 32 - p.size() : 1, ' ') + t +
               std::string(t.size() < 46 ? 46 - t.size() : 1, ' ') + line + "\n";
    }
  }
  json summary = {{"prompts", prompts.size()}, {"generated_tokens", generated}, {"seconds", seconds},
                  {"tokens_per_second", seconds > 0 ? static_cast<double>(generated) / seconds : 0.0},
                  {"model", session.info()}};
  services.metric("host", "generate/tokens_per_second", summary["tokens_per_second"].get<double>(), 0);
  if (params.contains("output")) {
    const fs::path output = params["output"].get<std::string>();
    if (output.has_parent_path()) fs::create_directories(output.parent_path());
    std::ofstream out(output);
    for (const json& result : results) out << result.dump() << "\n";
    if (!out.flush()) throw std::runtime_error(output.string() + ": write failed");
    summary["output"] = output.string();
  } else {
    summary["completions"] = results;
  }
  char totals[160];
  std::snprintf(totals, sizeof totals, "%zu prompts, %lld tokens in %.2f s (%.1f tokens/s)", prompts.size(),
                static_cast<long long>(generated), seconds, summary["tokens_per_second"].get<double>());
  summary["table"] = table + totals;
  return summary;
}

}  // namespace lmf::model
