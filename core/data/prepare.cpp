#include "core/data/prepare.h"

#include "core/config/schema.h"
#include "core/data/manifest.h"
#include "core/data/shard_writer.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/component_spec.h"
#include "core/plugin/host_api.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace lmf::data {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const json params_schema = json::parse(R"json({
  "type": "object",
  "additionalProperties": false,
  "required": ["source", "tokenizer", "output"],
  "$defs": {
    "component": {
      "type": "object",
      "additionalProperties": false,
      "required": ["component"],
      "properties": {
        "component": {"type": "string", "minLength": 1},
        "config": {"type": "object", "default": {}}
      }
    }
  },
  "properties": {
    "source": {"$ref": "#/$defs/component", "description": "a data_source component and its config"},
    "tokenizer": {"$ref": "#/$defs/component", "description": "a tokenizer component and its config"},
    "output": {"type": "string", "minLength": 1, "description": "the shard folder (relative to the working directory)"},
    "shard_tokens": {"type": "integer", "minimum": 1, "default": 16777216,
                     "description": "a shard is closed once it holds this many tokens"},
    "validation_fraction": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.01},
    "split_seed": {"type": "integer", "minimum": 0, "default": 0},
    "add_special_tokens": {"type": "boolean", "default": true},
    "eos_token": {"type": "string", "minLength": 1,
                  "description": "appended to every document when set, e.g. <|endoftext|>"},
    "batch_records": {"type": "integer", "minimum": 1, "maximum": 1048576, "default": 1024},
    "resume": {"type": "boolean", "default": true,
               "description": "continue an interrupted run in the same output folder"}
  }
})json");

// splitmix64: a fixed, well-mixed hash, so the split of a record never depends on the
// thread count, the batch size or the machine.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool goes_to_validation(uint64_t record_id, uint64_t seed, double fraction) {
  if (fraction <= 0) return false;
  const double u = static_cast<double>(mix(record_id ^ mix(seed)) >> 11) * 0x1.0p-53;
  return u < fraction;
}

std::string_view view(lmf_str_view text) { return {text.data, text.size}; }

plugin::ComponentInstance make_instance(const plugin::PluginRegistry& registry, lmf_kind kind,
                                        const json& spec) {
  return plugin::ComponentInstance(registry.require(kind, spec.at("component").get<std::string>()),
                                   spec.at("config"));
}

// The settings that decide what lands in the shards; a resumed run must have the same.
json output_settings(const json& params) {
  json settings = params;
  settings.erase("resume");
  settings.erase("batch_records");  // batching changes speed, not content
  settings.erase("output");         // where the folder is: it may be moved, or named another way
  return settings;
}

std::string fingerprint_of(const json& settings) {
  return std::to_string(std::hash<std::string>{}(settings.dump()));
}

// The two splits' open shards, closed together at a checkpoint so that the manifest's
// next_record is exact for both (Note [Shard format]).
class SplitWriters {
 public:
  SplitWriters(fs::path output, uint64_t vocab_size, Manifest& manifest)
      : output_(std::move(output)), vocab_size_(vocab_size), manifest_(manifest) {}

  ShardWriter& writer(const std::string& split) {
    std::unique_ptr<ShardWriter>& open = open_[split];
    if (!open) {
      const uint64_t number = manifest_.splits[split].shards.size();
      open = std::make_unique<ShardWriter>(output_ / split, shard_name(number), vocab_size_);
    }
    return *open;
  }

  uint64_t open_tokens(const std::string& split) const {
    auto found = open_.find(split);
    return found == open_.end() || !found->second ? 0 : found->second->tokens();
  }

  // Closes every open shard, records them and `next_record` in the manifest, writes it.
  void checkpoint(uint64_t next_record) {
    for (auto& [split, writer] : open_) {
      if (writer && writer->documents() > 0) manifest_.splits[split].shards.push_back(writer->finish());
      writer.reset();
    }
    manifest_.next_record = next_record;
    write_manifest(output_, manifest_);
  }

 private:
  fs::path output_;
  uint64_t vocab_size_;
  Manifest& manifest_;
  std::map<std::string, std::unique_ptr<ShardWriter>> open_;
};

// Whether `name` is one a shard's file has, finished or not: "00012.tokens",
// "00012.index.partial".
bool is_shard_file_name(const std::string& name) {
  const size_t digits = name.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string::npos) return false;
  const std::string rest = name.substr(digits);
  return rest == ".tokens" || rest == ".index" || rest == ".tokens.partial" ||
         rest == ".index.partial";
}

// Removes the shard files an interrupted run left that the manifest does not list. Other
// files (the user's, in a folder they chose as output) are not ours to remove.
void remove_unlisted_files(const fs::path& output, const Manifest& manifest) {
  for (const char* split : {"train", "validation"}) {
    const fs::path folder = output / split;
    std::error_code error;
    if (!fs::is_directory(folder, error)) continue;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (!entry.is_regular_file() || !is_shard_file_name(entry.path().filename().string()))
        continue;
      const std::string stem = entry.path().stem().string();
      bool listed = false;
      auto found = manifest.splits.find(split);
      if (found != manifest.splits.end())
        for (const ShardInfo& shard : found->second.shards) listed = listed || shard.name == stem;
      if (!listed || entry.path().extension() == ".partial") stale.push_back(entry.path());
    }
    for (const fs::path& file : stale) fs::remove(file);
  }
}

json split_summary(const Manifest& manifest) {
  json splits = json::object();
  for (const auto& [name, split] : manifest.splits)
    splits[name] = {{"documents", split.documents()}, {"tokens", split.tokens()}, {"shards", split.shards.size()}};
  return splits;
}

}  // namespace

const json& prepare_params_schema() { return params_schema; }

std::vector<PrepareIssue> validate_prepare_params(json& params, const std::string& params_pointer,
                                                  const plugin::PluginRegistry& registry) {
  return plugin::validate_component_specs(
      params, params_pointer, {{"source", LMF_KIND_DATA_SOURCE}, {"tokenizer", LMF_KIND_TOKENIZER}}, registry);
}

json run_prepare(const json& params, const plugin::PluginRegistry& registry,
                 pipeline::RunServices& services) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path output = params.at("output").get<std::string>();
  const uint64_t shard_tokens = params.at("shard_tokens").get<uint64_t>();
  const double validation_fraction = params.at("validation_fraction").get<double>();
  const uint64_t split_seed = params.at("split_seed").get<uint64_t>();
  const size_t batch_records = params.at("batch_records").get<size_t>();
  const uint32_t encode_flags = params.at("add_special_tokens").get<bool>() ? LMF_TOKENIZE_ADD_SPECIAL : 0u;
  const lmf_host_api* api = plugin::host_api();

  plugin::ComponentInstance tokenizer = make_instance(registry, LMF_KIND_TOKENIZER, params.at("tokenizer"));
  const auto& tok = tokenizer.vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
  const uint64_t vocab_size = tok.vocab_size(tokenizer.get());
  if (vocab_size == 0) throw std::runtime_error(tokenizer.label() + " reports an empty vocabulary");
  std::optional<int32_t> eos;
  if (params.contains("eos_token")) {
    const std::string text = params["eos_token"].get<std::string>();
    int32_t id = -1;
    plugin::check_status(tok.token_to_id(tokenizer.get(), {text.data(), text.size()}, &id),
                         tokenizer.label() + ": eos_token \"" + text + "\"");
    eos = id;
  }

  const json settings = output_settings(params);
  Manifest manifest;
  if (std::optional<Manifest> existing = read_manifest(output)) {
    if (existing->fingerprint != fingerprint_of(settings))
      throw std::runtime_error(output.string() +
                               " holds shards prepared with other settings; choose another output "
                               "folder or delete it");
    if (existing->complete) {
      services.log(LMF_LOG_INFO, "host", output.string() + " is already complete");
      return {{"output", output.string()}, {"already_complete", true}, {"splits", split_summary(*existing)}};
    }
    if (!params.at("resume").get<bool>())
      throw std::runtime_error(output.string() + " holds an interrupted run and resume is false");
    // The settings name the tokenizer, not its vocabulary: files it loads may have changed,
    // and shards of another width must not join the folder.
    if (existing->vocab_size != vocab_size)
      throw std::runtime_error(output.string() + " holds shards of a vocabulary of " +
                               std::to_string(existing->vocab_size) + " ids, " + tokenizer.label() +
                               " now has " + std::to_string(vocab_size) +
                               "; choose another output folder or delete it");
    manifest = *existing;
    services.log(LMF_LOG_INFO, "host",
                 "resuming " + output.string() + " at record " + std::to_string(manifest.next_record));
  } else {
    manifest.vocab_size = vocab_size;
    manifest.fingerprint = fingerprint_of(settings);
    manifest.settings = settings;
  }
  fs::create_directories(output);
  remove_unlisted_files(output, manifest);

  plugin::ComponentInstance source = make_instance(registry, LMF_KIND_DATA_SOURCE, params.at("source"));
  const auto& src = source.vtable<lmf_data_source_vtable>(LMF_KIND_DATA_SOURCE);
  if (manifest.next_record > 0) {
    if (src.seek == nullptr)
      throw std::runtime_error(source.label() + " cannot seek, so the interrupted run cannot resume");
    plugin::check_status(src.seek(source.get(), manifest.next_record), source.label() + ": seek");
  }

  SplitWriters writers(output, vocab_size, manifest);
  uint64_t progress = services.progress_begin("host", "data prepare", -1, "records");
  // The source's own tasks (bytes read of its input's size, records out) become parts of
  // this one, which so shows how far the input is read and an ETA (Note [Parts of a task]).
  services.progress().adopt_new_tasks(progress);
  uint64_t records = 0, empty = 0, tokens = 0, bytes = 0;
  uint64_t next_record = manifest.next_record;
  auto finish_progress = [&] { services.progress_end(progress); };
  try {
    std::vector<lmf_str_view> texts;
    for (;;) {
      if (services.cancelled()) {
        writers.checkpoint(next_record);
        throw plugin::PluginError(LMF_ERR_CANCELLED, "data prepare stopped at record " +
                                                         std::to_string(next_record) +
                                                         "; run it again to resume");
      }
      const lmf_record_batch* batch = nullptr;
      plugin::check_status(src.next_batch(source.get(), batch_records, &batch), source.label() + ": next_batch");
      if (batch == nullptr || batch->count == 0) break;

      texts.clear();
      for (size_t i = 0; i < batch->count; ++i) texts.push_back(batch->records[i]->text);
      lmf_token_batch encoded{nullptr, nullptr, 0};
      plugin::check_status(tok.encode(tokenizer.get(), texts.data(), texts.size(), encode_flags, &encoded),
                           tokenizer.label() + ": encode");
      std::unique_ptr<int32_t, void (*)(void*)> ids_owner(encoded.ids, api->free);
      std::unique_ptr<size_t, void (*)(void*)> offsets_owner(encoded.offsets, api->free);
      if (encoded.count != batch->count)
        throw std::runtime_error(tokenizer.label() + " encoded " + std::to_string(encoded.count) + " of " +
                                 std::to_string(batch->count) + " texts");

      std::vector<int32_t> document;
      for (size_t i = 0; i < batch->count; ++i) {
        const lmf_record& record = *batch->records[i];
        document.assign(encoded.ids + encoded.offsets[i], encoded.ids + encoded.offsets[i + 1]);
        if (eos) document.push_back(*eos);
        bytes += record.text.size;
        next_record = record.id + 1;
        ++records;
        if (document.empty()) {
          ++empty;
          continue;
        }
        const char* split = goes_to_validation(record.id, split_seed, validation_fraction) ? "validation" : "train";
        try {
          writers.writer(split).append(document, record.id);
        } catch (const std::invalid_argument& e) {
          throw std::runtime_error(std::string(view(record.origin)) + ": " + e.what());
        }
        tokens += document.size();
      }
      services.progress_advance(progress, static_cast<int64_t>(batch->count));
      if (writers.open_tokens("train") >= shard_tokens || writers.open_tokens("validation") >= shard_tokens)
        writers.checkpoint(next_record);
    }
    lmf_string report{nullptr, 0};
    plugin::check_status(src.report(source.get(), &report), source.label() + ": report");
    json parsed = report.data == nullptr
                      ? json()
                      : json::parse(report.data, report.data + report.size, nullptr, false);
    api->free(report.data);
    // Kept in the manifest, which must stay readable JSON; the shards are good regardless.
    if (!parsed.is_object()) {
      services.log(LMF_LOG_WARNING, "host",
                   source.label() + ": report is not a JSON object; not kept");
      parsed = json::object();
    }
    manifest.report = std::move(parsed);
    manifest.complete = true;
    writers.checkpoint(next_record);
  } catch (...) {
    finish_progress();
    throw;
  }
  finish_progress();

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  services.metric("host", "data/tokens", static_cast<double>(tokens), 0);
  services.metric("host", "data/megabytes_per_second", seconds > 0 ? bytes / seconds / 1e6 : 0, 0);
  std::string table = std::to_string(records) + " records, " + std::to_string(tokens) + " tokens into " +
                      output.string() + " (" + std::to_string(static_cast<int>(bytes / std::max(seconds, 1e-9) / 1e6)) +
                      " MB/s)";
  for (const auto& [name, split] : manifest.splits)
    table += "\n" + name + ": " + std::to_string(split.documents()) + " documents, " +
             std::to_string(split.tokens()) + " tokens, " + std::to_string(split.shards.size()) + " shards";
  return {{"output", output.string()},
          {"table", table},
          {"records", records},
          {"empty_documents", empty},
          {"tokens_written", tokens},
          {"bytes_read", bytes},
          {"seconds", seconds},
          {"megabytes_per_second", seconds > 0 ? bytes / seconds / 1e6 : 0},
          {"splits", split_summary(manifest)},
          {"source_report", manifest.report}};
}

}  // namespace lmf::data
