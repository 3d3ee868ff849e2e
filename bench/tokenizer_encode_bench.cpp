// Encode throughput of the hf tokenizer plugin, loaded through the plugin registry and
// called through its C vtable exactly as `lmforge data prepare` calls it.
//
// Texts (the same in bench/tokenizer_encode_hf.mjs):
//   records:  the records of the quickstart corpus (data/corpus: python-docs.jsonl, then
//             poems-zh.jsonl, then seeds-zh.jsonl; English technical prose and classical
//             and modern Chinese, 2.8 MB), in one encode call, as data prepare sends them;
//   document: the same records joined by "\n", as one text;
//   mixed:    the "text" lines of tests/fixtures/tokenizers/corpus.jsonl (code, emoji,
//             scripts, whitespace runs, special tokens; not the random "fuzz-" lines nor
//             the invalid UTF-8 ones), repeated until they hold 1 MB, in one call.
// Benchmarks: encode/<tokenizer>/<text> on one thread, and scaling/<tokenizer>/records on
// 1..N threads at once on one instance (aggregate MB/s). Tokenizers: LMF_BENCH_TOKENIZERS
// (comma-separated; default gpt2,qwen2_5,llama3_1,deepseek_v3 as found in
// .cache/tokenizers, see scripts/fetch-test-tokenizers.sh); LMF_TOKENIZER_CACHE moves it.
#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "core/plugin/search_path.h"
#include "core/plugin/status.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;

class QuietServices final : public lmf::plugin::HostServices {
 public:
  void log(lmf_log_level level, std::string_view source, std::string_view message) override {
    if (level >= LMF_LOG_WARNING) std::cerr << source << ": " << message << "\n";
  }
  void metric(std::string_view, std::string_view, double, int64_t) override {}
  uint64_t progress_begin(std::string_view, std::string_view, int64_t, std::string_view) override {
    return 0;
  }
  void progress_advance(uint64_t, int64_t) override {}
  void progress_end(uint64_t) override {}
  bool cancelled() override { return false; }
  std::optional<std::string> config_value(std::string_view) override { return std::nullopt; }
};

struct BenchText {
  std::string name;
  std::vector<std::string> texts;
  std::vector<lmf_str_view> views;
  size_t bytes = 0;
};

std::vector<std::string> jsonl_texts(const std::filesystem::path& file, bool skip_hashed) {
  std::vector<std::string> texts;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json entry = json::parse(line);
    if (entry.contains("text") && entry["text"].is_string() &&
        !(skip_hashed && entry.value("hash_only", false)))
      texts.push_back(entry["text"].get<std::string>());
  }
  return texts;
}

BenchText make_text(std::string name, std::vector<std::string> texts) {
  BenchText out{std::move(name), std::move(texts), {}, 0};
  for (const std::string& text : out.texts) {
    out.views.push_back({text.data(), text.size()});
    out.bytes += text.size();
  }
  return out;
}

std::vector<BenchText> bench_texts() {
  std::vector<BenchText> out;
  std::vector<std::string> records;
  for (const char* file : {"python-docs.jsonl", "poems-zh.jsonl", "seeds-zh.jsonl"}) {
    const std::vector<std::string> texts =
        jsonl_texts(std::filesystem::path(LMF_QUICKSTART_CORPUS_DIR) / file, false);
    records.insert(records.end(), texts.begin(), texts.end());
  }
  if (!records.empty()) {
    std::string document;
    for (size_t i = 0; i < records.size(); ++i) document += (i ? "\n" : "") + records[i];
    out.push_back(make_text("records", records));
    out.push_back(make_text("document", {document}));
  }
  const std::vector<std::string> lines = jsonl_texts(LMF_TOKENIZER_CORPUS, true);
  std::vector<std::string> mixed;
  size_t bytes = 0;
  while (bytes < 1000000 && !lines.empty()) {
    for (const std::string& text : lines) {
      mixed.push_back(text);
      bytes += text.size();
    }
  }
  out.push_back(make_text("mixed", std::move(mixed)));
  return out;
}

// One tokenizer instance and the text views to encode.
struct Subject {
  std::string name;
  std::unique_ptr<lmf::plugin::ComponentInstance> instance;
  const lmf_tokenizer_vtable* vtable = nullptr;
};

struct World {
  QuietServices services;
  lmf::plugin::PluginRegistry registry{services};
  std::vector<BenchText> texts;
  std::vector<std::unique_ptr<Subject>> subjects;
};

World& world() {
  static World w;
  return w;
}

// Encodes `views` in one call; returns the number of ids.
size_t encode(const Subject& subject, const std::vector<lmf_str_view>& views) {
  lmf_token_batch batch{nullptr, nullptr, 0};
  lmf::plugin::check_status(
      subject.vtable->encode(subject.instance->get(), views.data(), views.size(), 0, &batch),
      "tokenizer \"" + subject.name + "\": encode");
  const size_t count = batch.offsets[batch.count];
  lmf::plugin::host_api()->free(batch.ids);
  lmf::plugin::host_api()->free(batch.offsets);
  return count;
}

void run(benchmark::State& state, const Subject* subject, const BenchText* text) {
  size_t ids = 0;
  for (auto _ : state) {
    ids = encode(*subject, text->views);
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text->bytes));
  state.counters["ids"] = static_cast<double>(ids);
  state.counters["input_bytes"] = static_cast<double>(text->bytes);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  World& w = world();
  w.texts = bench_texts();
  w.registry.load_directories(lmf::plugin::plugin_search_path({}));
  const std::optional<lmf::plugin::ComponentRef> hf = w.registry.find(LMF_KIND_TOKENIZER, "hf");
  if (!hf) {
    std::cerr << "no tokenizer \"hf\" in the plugin folder: build lmf_tokenizer_hf\n";
    return 1;
  }

  std::filesystem::path cache = LMF_TOKENIZER_CACHE_DIR;
  if (const char* dir = std::getenv("LMF_TOKENIZER_CACHE"); dir != nullptr && *dir) cache = dir;
  std::string wanted = "gpt2,qwen2_5,llama3_1,deepseek_v3";
  if (const char* list = std::getenv("LMF_BENCH_TOKENIZERS"); list != nullptr && *list)
    wanted = list;
  std::stringstream names(wanted);
  std::string name;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  while (std::getline(names, name, ',')) {
    const std::filesystem::path file = cache / name / "tokenizer.json";
    if (!std::filesystem::exists(file)) {
      std::cerr << file.string()
                << " is missing (bash scripts/fetch-test-tokenizers.sh); skipped\n";
      continue;
    }
    json schema = json::parse(hf->schema());
    json config = {{"path", file.string()}};
    lmf::config::validate(schema, config);
    auto subject = std::make_unique<Subject>();
    subject->name = name;
    subject->instance = std::make_unique<lmf::plugin::ComponentInstance>(*hf, config);
    subject->vtable = &subject->instance->vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
    const Subject* s = subject.get();
    w.subjects.push_back(std::move(subject));
    for (const BenchText& text : w.texts) {
      const BenchText* t = &text;
      benchmark::RegisterBenchmark(("encode/" + name + "/" + text.name).c_str(),
                                   [s, t](benchmark::State& state) { run(state, s, t); })
          ->Unit(benchmark::kMillisecond)
          ->MinTime(2.0);
    }
    benchmark::RegisterBenchmark(
        ("scaling/" + name + "/" + w.texts.front().name).c_str(),
        [s, &w](benchmark::State& state) { run(state, s, &w.texts.front()); })
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0)
        ->ThreadRange(1, cores)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  w.subjects.clear();
  return 0;
}
