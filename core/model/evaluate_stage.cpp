#include "core/model/evaluate_stage.h"

#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <cstdio>
#include <memory>

namespace lmf::model {
namespace {

using nlohmann::json;

json make_schema() {
  json schema = json::parse(R"JSON({
    "type": "object",
    "additionalProperties": false,
    "required": ["model", "request"],
    "properties": {
      "request": {"type": "object",
                  "description": "the backend's evaluation request: {\"task\": \"perplexity\", \"shards\"|\"jsonl\"|\"text\"|\"ids\": ..., \"max_length\", \"stride\"} or {\"task\": \"score\", \"items\": [...]}"}
    }
  })JSON");
  for (const auto& [key, value] : model_params_schema_properties().items()) schema["properties"][key] = value;
  return schema;
}

std::string table_of(const json& result) {
  char line[256];
  if (result.value("task", "") == "perplexity") {
    std::snprintf(line, sizeof line, "perplexity %.4f  (mean NLL %.4f nats over %lld tokens of %lld documents; window %lld, stride %lld)",
                  result.value("perplexity", 0.0), result.value("mean_nll", 0.0),
                  static_cast<long long>(result.value("scored_tokens", int64_t{0})),
                  static_cast<long long>(result.value("documents", int64_t{0})),
                  static_cast<long long>(result.value("max_length", int64_t{0})),
                  static_cast<long long>(result.value("stride", int64_t{0})));
    return line;
  }
  const size_t items = result.contains("items") ? result["items"].size() : 0;
  if (result.contains("accuracy")) {
    std::snprintf(line, sizeof line, "%zu items scored, accuracy %.4f", items, result["accuracy"].get<double>());
    return line;
  }
  std::snprintf(line, sizeof line, "%zu items scored", items);
  return line;
}

}  // namespace

const json& evaluate_params_schema() {
  static const json schema = make_schema();
  return schema;
}

json run_evaluate(const json& params, const plugin::PluginRegistry& registry, pipeline::RunServices& services) {
  ModelSession session(params, registry);
  const std::string request = params.at("request").dump();
  lmf_string out{nullptr, 0};
  plugin::check_status(session.backend().evaluate(session.backend_instance(), {request.data(), request.size()}, &out),
                       session.backend_label() + ": evaluate");
  std::unique_ptr<char, void (*)(void*)> owner(out.data, plugin::host_api()->free);
  json result = json::parse(std::string_view(out.data, out.size));
  if (result.contains("perplexity"))
    services.metric("host", "eval/perplexity", result["perplexity"].get<double>(), 0);
  result["table"] = table_of(result);
  return result;
}

}  // namespace lmf::model
